"""The one event writer: every `events` row, by an agent or the system, is written here.

`write_event` is plain sqlite3 (ingest and updates run it in aiosqlite's worker
thread, inside their batch's transaction); `insert_event` is its form for an
open `Database.write()`. Kinds are checked against the one list,
omnidesk/eventkinds.py, which the timeline words.
"""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Sequence

import aiosqlite

from omnidesk.eventkinds import EVENT_KINDS
from omnidesk.store.db import Database
from omnidesk.store.identities import call_sync


def _json(value: object) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def write_event(c: sqlite3.Connection, conversation_id: int | None, customer_id: int | None, kind: str,
                before: object, after: object, at: int, *, agent_id: int | None = None) -> int:
    """One event row, `before`/`after` as JSON (None stays NULL); no agent means the system."""
    if kind not in EVENT_KINDS:  # a kind the timeline cannot word: add it to omnidesk/eventkinds.py
        raise ValueError(f"unknown event kind {kind!r}")
    cur = c.execute(
        "INSERT INTO events (conversation_id, customer_id, agent_id, kind, before, after, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (conversation_id, customer_id, agent_id, kind, _json(before), _json(after), at),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


async def insert_event(
    db: Database,
    conn: aiosqlite.Connection,
    *,
    kind: str,
    agent_id: int | None,
    now: int,
    conversation_id: int | None = None,
    customer_id: int | None = None,
    before: object = None,
    after: object = None,
) -> int:
    """`write_event` inside the current task's `db.write()`."""
    if db.transaction is None:
        raise RuntimeError("insert_event needs an open db.write() of this task")
    return await call_sync(conn, functools.partial(
        write_event, conversation_id=conversation_id, customer_id=customer_id, kind=kind, before=before,
        after=after, at=now, agent_id=agent_id))


async def event_rows(db: Database, event_ids: Sequence[int]) -> list[sqlite3.Row]:
    """Raw event rows (JSON still as text), oldest first: what undo reads."""
    if not event_ids:
        return []
    marks = ",".join("?" * len(event_ids))
    return await db.fetchall(f"SELECT * FROM events WHERE id IN ({marks}) ORDER BY id", tuple(event_ids))
