"""The one event writer: every `events` row, by an agent or the system, is written here.

`write_event` is plain sqlite3 (ingest and updates run it in aiosqlite's worker
thread, inside their batch's transaction); `insert_event` is its form for an
open `Database.write()`, where the row also joins the transaction's group, so a
unit of work's events (omnidesk/services/unit.py) are found and undone together.
Kinds are checked against the one list, omnidesk/eventkinds.py, which the timeline words.
"""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Sequence
from typing import Any

import aiosqlite

from omnidesk.eventkinds import EVENT_KINDS
from omnidesk.store.db import Database
from omnidesk.store.identities import call_sync


def _json(value: object) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def write_event(c: sqlite3.Connection, conversation_id: int | None, customer_id: int | None, kind: str,
                before: object, after: object, at: int, *, agent_id: int | None = None,
                group_id: int | None = None, reason: str | None = None,
                via_agent_id: int | None = None) -> int:
    """One event row, `before`/`after` as JSON (None stays NULL); no agent means the system.

    No group: ingest's events, which nothing undoes. `via_agent_id`: the admin acting as
    `agent_id` (`--as`). Rows are only ever added: no command changes or deletes one
    (erasure redacts the content of a customer's, omnidesk/store/erasure.py)."""
    if kind not in EVENT_KINDS:  # a kind the timeline cannot word: add it to omnidesk/eventkinds.py
        raise ValueError(f"unknown event kind {kind!r}")
    cur = c.execute(
        "INSERT INTO events (conversation_id, customer_id, agent_id, kind, before, after, created_at,"
        " group_id, reason, via_agent_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (conversation_id, customer_id, agent_id, kind, _json(before), _json(after), at, group_id, reason,
         via_agent_id if agent_id is not None else None),
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
    """`write_event` inside the current task's `db.write()`, in that transaction's group, with
    the reason of the unit of work it is in and the admin acting as the agent, if one is."""
    tx = db.transaction
    if tx is None:
        raise RuntimeError("insert_event needs an open db.write() of this task")
    event_id, tx.group_id = await call_sync(conn, functools.partial(
        _write_grouped, group_id=tx.group_id, conversation_id=conversation_id, customer_id=customer_id,
        kind=kind, before=before, after=after, at=now, agent_id=agent_id, reason=tx.reason,
        via_agent_id=db.via_agent_id))
    return event_id


def _write_grouped(c: sqlite3.Connection, *, group_id: int | None, **event: Any) -> tuple[int, int]:
    """`write_event` in `group_id`, or in a new group (one trip to the worker thread either way)."""
    if group_id is None:
        # max + 1 is safe: the caller holds the write lock (BEGIN IMMEDIATE) until it commits.
        group_id = int(c.execute(
            "SELECT coalesce(max(group_id), 0) + 1 FROM events WHERE group_id IS NOT NULL"  # the index
        ).fetchone()[0])
    return write_event(c, group_id=group_id, **event), group_id


async def group_event_rows(db: Database, event_ids: Sequence[int]) -> list[sqlite3.Row]:
    """The rows of `event_ids` and of every event in their groups, oldest first: what undo reads."""
    if not event_ids:
        return []
    marks = ",".join("?" * len(event_ids))
    return await db.fetchall(
        f"SELECT * FROM events WHERE id IN ({marks}) OR group_id IN"
        f" (SELECT group_id FROM events WHERE id IN ({marks}) AND group_id IS NOT NULL) ORDER BY id",
        (*event_ids, *event_ids),
    )


async def last_event_id(conn: aiosqlite.Connection) -> int:
    row = await (await conn.execute("SELECT coalesce(max(id), 0) FROM events")).fetchone()
    return int(row[0])


async def group_events_after(
    conn: aiosqlite.Connection, group_id: int, after_id: int
) -> list[tuple[int, int | None]]:
    """(event id, conversation id) of the group's events newer than `after_id`, oldest first."""
    cursor = await conn.execute(
        "SELECT id, conversation_id FROM events WHERE group_id = ? AND id > ? ORDER BY id",
        (group_id, after_id),
    )
    return [(r[0], r[1]) for r in await cursor.fetchall()]
