"""What every service action shares: its result record, the event writer, and small checks.

Kept apart from omnidesk/services/services.py so the action modules (replies, merging)
can use it without importing each other.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite

from omnidesk.desk import Desk
from omnidesk.errors import NotFound, UserError
from omnidesk.eventkinds import EventKind as EventKind  # the one list; imported from here by the actions
from omnidesk.store import actions as store
from omnidesk.store.events import insert_event


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What an action changed: enough to describe it in a toast and to undo it."""

    action: str  # "assign", "tag", "status", ...
    conversation_ids: tuple[int, ...]
    event_ids: tuple[int, ...]
    description: str  # "Resolved #12", "Assigned 3 conversations to alice"
    message_id: int | None = None  # notes, replies, calls


def agent_id(desk: Desk) -> int | None:
    return desk.agent.id if desk.agent is not None else None


async def record_event(conn: aiosqlite.Connection, desk: Desk, kind: str, now: int, **fields: Any) -> int:
    """Write one event by the acting agent; every action's audit line goes through here.

    `fields`: conversation_id, customer_id, before, after (store/events.py `insert_event`).
    """
    return await insert_event(desk.db, conn, kind=kind, agent_id=agent_id(desk), now=now, **fields)


def agent_label(desk: Desk) -> str:
    if desk.agent is None:
        return desk.settings.desk.name
    return desk.agent.display_name or desk.agent.name


def unique(ids: Iterable[int]) -> list[int]:
    """Ids in first-seen order without repeats; every id must be a positive int."""
    out: dict[int, None] = {}
    for i in ids:
        if isinstance(i, bool) or not isinstance(i, int) or i <= 0:
            raise UserError(f"not a conversation id: {i!r}")
        out[i] = None
    return list(out)


def describe_ids(ids: Sequence[int]) -> str:
    if len(ids) == 1:
        return f"#{ids[0]}"
    return f"{len(ids)} conversations"


async def load_conversations(conn: aiosqlite.Connection, ids: Sequence[int]) -> dict[int, sqlite3.Row]:
    """The rows of every id, or NotFound naming the missing ones (then nothing changes)."""
    rows = await store.conversation_rows(conn, ids)
    missing = [i for i in ids if i not in rows]
    if missing:
        shown = ", ".join(f"#{i}" for i in missing[:10]) + (" ..." if len(missing) > 10 else "")
        raise NotFound(
            f"no such conversation: {shown}" if len(missing) == 1 else f"no such conversations: {shown}"
        )
    return rows


def require_live(row: sqlite3.Row) -> None:
    """A conversation merged away takes no new messages: say where it went."""
    if row["merged_into"] is not None:
        raise UserError(
            f"#{row['id']} was merged into #{row['merged_into']}", hint=f"use #{row['merged_into']} instead"
        )
