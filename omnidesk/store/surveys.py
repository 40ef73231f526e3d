"""SQL for satisfaction surveys: which resolved conversations are due, the asked rows, the answers.

The `surveys` row is the timer's fired marker: it is written in the transaction that queues
the question, and UNIQUE(conversation_id) keeps a conversation from being asked twice.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any, NamedTuple

import aiosqlite

from omnidesk.eventkinds import EventKind
from omnidesk.store.db import Database
from omnidesk.store.events import insert_event, write_event


class Due(NamedTuple):
    conversation_id: int
    customer_id: int
    assignee_id: int | None


class Survey(NamedTuple):
    id: int
    conversation_id: int
    customer_id: int
    kind: str
    expires_at: int
    rating: int | None
    comment: str | None


async def due(db: Database, channel_id: int, *, resolved_before: int, resolved_after: int,
              limit: int = 100) -> list[Due]:
    """Conversations resolved on `channel_id` in (`resolved_after`, `resolved_before`], not asked yet."""
    rows = await db.fetchall(
        "SELECT c.id, c.customer_id, c.assignee_id FROM conversations c"
        " WHERE c.status = 'resolved' AND c.channel_id = ? AND c.resolved_at <= ? AND c.resolved_at > ?"
        " AND c.merged_into IS NULL AND c.quarantined = 0"
        " AND NOT EXISTS (SELECT 1 FROM surveys s WHERE s.conversation_id = c.id)"
        " ORDER BY c.resolved_at LIMIT ?",
        (channel_id, resolved_before, resolved_after, limit))
    return [Due(*r) for r in rows]


async def asked_since(db: Database, customer_id: int, kind: str, since: int) -> bool:
    """Whether the customer was asked `kind` (or skipped) at `since` or later."""
    row = await db.fetchone("SELECT 1 FROM surveys WHERE customer_id = ? AND kind = ? AND asked_at >= ?"
                            " LIMIT 1", (customer_id, kind, since))
    return row is not None


async def insert(db: Database, conn: aiosqlite.Connection, due_row: Due, *, kind: str, channel_id: int,
                 now: int, expires_at: int) -> int:
    """The fired marker, inside the caller's `db.write()` (the question follows in the same one)."""
    cur = await conn.execute(
        "INSERT INTO surveys (conversation_id, customer_id, kind, channel_id, agent_id, asked_at, expires_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (due_row.conversation_id, due_row.customer_id, kind, channel_id, due_row.assignee_id, now,
         expires_at))
    assert cur.lastrowid is not None
    return cur.lastrowid


async def mark_sent(db: Database, conn: aiosqlite.Connection, survey_id: int, message_id: int | None,
                    skipped: str | None, *, conversation_id: int, kind: str, channel: str, now: int) -> None:
    """The question's message (or why none went), with its event on the timeline."""
    await conn.execute("UPDATE surveys SET message_id = ?, skipped = ? WHERE id = ?",
                       (message_id, skipped, survey_id))
    after: dict[str, object] = {"survey_id": survey_id, "kind": kind, "channel": channel}
    if skipped is not None:
        after["skipped"] = skipped
    await insert_event(db, conn, kind=EventKind.SURVEY_SENT, agent_id=None, now=now,
                       conversation_id=conversation_id, after=after)


def _survey(row: sqlite3.Row | tuple[object, ...] | None) -> Survey | None:
    return None if row is None else Survey(*row)  # type: ignore[arg-type]


_COLUMNS = "id, conversation_id, customer_id, kind, expires_at, rating, comment"


async def get(db: Database, survey_id: int) -> Survey | None:
    return _survey(await db.fetchone(f"SELECT {_COLUMNS} FROM surveys WHERE id = ?", (survey_id,)))


def pending(c: sqlite3.Connection, conversation_id: int, now: int) -> Survey | None:
    """The conversation's asked, unanswered, unexpired survey (ingest's question, plain sqlite3)."""
    return _survey(c.execute(
        f"SELECT {_COLUMNS} FROM surveys WHERE conversation_id = ? AND message_id IS NOT NULL"
        " AND rating IS NULL AND expires_at > ?", (conversation_id, now)).fetchone())


def rate(c: sqlite3.Connection, survey: Survey, rating: int, at: int, *, via: str,
         message_id: int | None = None) -> bool:
    """Store the answer once (a second one changes nothing: False), with its event."""
    cur = c.execute("UPDATE surveys SET rating = ?, answered_at = ? WHERE id = ? AND rating IS NULL",
                    (rating, at, survey.id))
    if not cur.rowcount:
        return False
    after: dict[str, object] = {"survey_id": survey.id, "kind": survey.kind, "rating": rating, "via": via}
    if message_id is not None:
        after["message_id"] = message_id
    write_event(c, survey.conversation_id, survey.customer_id, EventKind.SURVEY_ANSWERED, None, after, at)
    return True


def comment(c: sqlite3.Connection, survey: Survey, text: str, at: int, *, reopen: bool) -> bool:
    """Store the comment once after a rating (False: none to add to), reopening when it asks something."""
    cur = c.execute("UPDATE surveys SET comment = ? WHERE id = ? AND rating IS NOT NULL AND comment IS NULL",
                    (text, survey.id))
    if not cur.rowcount:
        return False
    write_event(c, survey.conversation_id, survey.customer_id, EventKind.SURVEY_COMMENTED, None,
                {"survey_id": survey.id, "comment": text}, at)
    if reopen:
        row = c.execute("SELECT status FROM conversations WHERE id = ?", (survey.conversation_id,)).fetchone()
        if row is not None and row[0] in ("resolved", "pending"):
            c.execute("UPDATE conversations SET status = 'open', resolved_at = NULL,"
                      " last_activity_at = max(last_activity_at, ?) WHERE id = ?",
                      (at, survey.conversation_id))
            write_event(c, survey.conversation_id, survey.customer_id, EventKind.REOPENED, {"status": row[0]},
                        {"status": "open", "reason": "survey comment asks a question"}, at)
    return True


async def run(db: Database, fn: Callable[..., bool], *args: Any, **kwargs: Any) -> bool:
    """One of the sync writers above in its own write transaction (the listener's answers)."""
    from omnidesk.store.identities import call_sync

    async with db.write() as conn:
        return await call_sync(conn, lambda c: fn(c, *args, **kwargs))


class Asked(NamedTuple):
    """A survey row as a customer's export shows it."""

    id: int
    conversation_id: int
    kind: str
    channel: str | None
    asked_at: int
    skipped: str | None
    expires_at: int
    rating: int | None
    answered_at: int | None
    comment: str | None


async def of_customers(db: Database, customer_ids: list[int]) -> list[Asked]:
    """Every survey row of `customer_ids` (a customer and those merged into it), oldest first."""
    marks = ",".join("?" * len(customer_ids)) or "NULL"
    rows = await db.fetchall(
        "SELECT s.id, s.conversation_id, s.kind, ch.name, s.asked_at, s.skipped, s.expires_at, s.rating,"
        " s.answered_at, s.comment FROM surveys s LEFT JOIN channels ch ON ch.id = s.channel_id"
        f" WHERE s.customer_id IN ({marks}) ORDER BY s.asked_at, s.id", tuple(customer_ids))
    return [Asked(*r) for r in rows]


class Figures(NamedTuple):
    """One group's survey counts (the csat report)."""

    key: str | None
    csat_asked: int
    csat_answered: int
    csat_satisfied: int
    nps_asked: int
    nps_answered: int
    promoters: int
    passives: int
    detractors: int


async def figures(db: Database, since: int, until: int, group: str | None,
                  channel_id: int | None = None) -> list[Figures]:
    """Survey counts for questions asked in [since, until), per `group` ("agent", "channel" or None)."""
    key = {"agent": "coalesce(a.name, '')", "channel": "coalesce(ch.name, '')", None: "NULL"}[group]
    where = " AND s.channel_id = ?" if channel_id is not None else ""
    params: tuple[object, ...] = (since, until) + ((channel_id,) if channel_id is not None else ())
    rows = await db.fetchall(
        f"SELECT {key} AS k,"
        " sum(s.kind = 'csat'), sum(s.kind = 'csat' AND s.rating IS NOT NULL),"
        " sum(s.kind = 'csat' AND s.rating >= 4),"
        " sum(s.kind = 'nps'), sum(s.kind = 'nps' AND s.rating IS NOT NULL),"
        " sum(s.kind = 'nps' AND s.rating >= 9), sum(s.kind = 'nps' AND s.rating IN (7, 8)),"
        " sum(s.kind = 'nps' AND s.rating <= 6)"
        " FROM surveys s LEFT JOIN agents a ON a.id = s.agent_id"
        " LEFT JOIN channels ch ON ch.id = s.channel_id"
        f" WHERE s.message_id IS NOT NULL AND s.asked_at >= ? AND s.asked_at < ?{where}"
        " GROUP BY k ORDER BY k", params)
    return [Figures(r[0], *(int(x or 0) for x in r[1:])) for r in rows]
