"""SQL of the SLA clocks: the facts a clock needs, the clocks written back, and their timers.

`recompute` runs in aiosqlite's worker thread inside the caller's write transaction
(like ingest), reading each chunk's facts, computing with omnidesk/sla/clock.py and
writing only what changed, so a recompute of 100,000 conversations after a calendar
change is a handful of statements per chunk rather than round trips per row.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import NamedTuple

import aiosqlite

from omnidesk.sla.clock import Facts, Summary, TargetClock, clocks, summary
from omnidesk.sla.hours import BusinessCalendar
from omnidesk.sla.policy import Policy
from omnidesk.store.actions import HUMAN_MESSAGE
from omnidesk.store.db import Database
from omnidesk.store.identities import call_sync

CHUNK = 2000  # ids per chunk (each twice in its statement): inside SQLite's parameter limit

# The replies of a chunk's conversations, grouped once (one pass over their messages, not two).
_FACTS = f"""
SELECT f.*, CASE WHEN f.last_reply IS NOT NULL AND f.last_inbound_at > f.last_reply THEN
         (SELECT min(min(m.sent_at, m.received_at)) FROM messages m WHERE m.conversation_id = f.id
           AND m.direction = 'in' AND m.sent_at > f.last_reply{HUMAN_MESSAGE})
       END AS unanswered_since
FROM (SELECT c.id, c.status, c.priority, c.created_at, ch.name AS channel_name, ch.kind AS channel_kind,
             cu.tier, c.last_inbound_at, c.sla_target, c.sla_due_at, c.sla_warn_at, c.sla_left_ms,
             (SELECT group_concat(t.name, char(31)) FROM conversation_tags ct JOIN tags t ON t.id = ct.tag_id
               WHERE ct.conversation_id = c.id) AS tags,
             r.first_reply, r.last_reply
      FROM conversations c JOIN customers cu ON cu.id = c.customer_id
      LEFT JOIN channels ch ON ch.id = c.channel_id
      LEFT JOIN (SELECT m.conversation_id, min(m.sent_at) AS first_reply, max(m.sent_at) AS last_reply
                 FROM messages m WHERE m.conversation_id IN ({{marks}}) AND m.direction = 'out'
                   AND coalesce(m.delivery, '') <> 'cancelled'{HUMAN_MESSAGE} GROUP BY m.conversation_id) r
        ON r.conversation_id = c.id
      WHERE c.id IN ({{marks}})) f
"""
_STATUSES = ("SELECT conversation_id, created_at, json_extract(after, '$.status') FROM events"
             " WHERE conversation_id IN ({marks}) AND kind IN ('status', 'reopened')"
             " ORDER BY conversation_id, created_at, id")
_CLOCK_COLUMNS = "conversation_id, target, policy, started_at, warn_at, due_at, left_ms, warned_at," \
                 " breached_at, next_at"


_UPSERT_CLOCK = (f"INSERT INTO sla_clocks ({_CLOCK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                 " ON CONFLICT (conversation_id, target) DO UPDATE SET policy = excluded.policy,"
                 " started_at = excluded.started_at, warn_at = excluded.warn_at, due_at = excluded.due_at,"
                 " left_ms = excluded.left_ms, warned_at = excluded.warned_at,"
                 " breached_at = excluded.breached_at, next_at = excluded.next_at")


def _marks(values: Sequence[object]) -> str:
    return ",".join("?" * len(values))


async def open_ids(db: Database, *, showing_only: bool = False) -> list[int]:
    """Every conversation that can have a clock or still shows one (`showing_only`: those showing one)."""
    can = "" if showing_only else "(merged_into IS NULL AND status NOT IN ('resolved', 'spam')) OR "
    rows = await db.fetchall(f"SELECT id FROM conversations WHERE {can}sla_target IS NOT NULL ORDER BY id")
    return [r[0] for r in rows]


def _facts(c: sqlite3.Connection, ids: Sequence[int]) -> tuple[list[Facts], dict[int, Summary]]:
    marks = _marks(ids)
    statuses: dict[int, list[tuple[int, str]]] = {}
    for cid, at, status in c.execute(_STATUSES.format(marks=marks), ids):
        if status:
            statuses.setdefault(cid, []).append((at, status))
    facts, shown = [], {}
    # Plain tuples, unpacked in _FACTS's column order: a Row per conversation and a lookup by name
    # per column cost a tenth of a recompute of every open conversation.
    for (cid, status, priority, created_at, channel_name, channel_kind, tier, _last_inbound, target, due_at,
         warn_at, left_ms, tags, first_reply, _last_reply, unanswered) in _plain(c).execute(
            _FACTS.format(marks=marks), [*ids, *ids]):
        facts.append(Facts(cid, status, priority, created_at, tuple(tags.split("\x1f")) if tags else (),
                           (channel_name, channel_kind), tier, first_reply, unanswered,
                           tuple(statuses.get(cid, ()))))
        shown[cid] = Summary(target, due_at, warn_at, left_ms)
    return facts, shown


def _plain(c: sqlite3.Connection) -> sqlite3.Cursor:
    """A cursor giving plain tuples (the connection's rows are sqlite3.Row)."""
    cursor = c.cursor()
    cursor.row_factory = None
    return cursor


class _Clock(NamedTuple):
    """A row of sla_clocks, in _CLOCK_COLUMNS order."""

    conversation_id: int
    target: str
    policy: str
    started_at: int
    warn_at: int | None
    due_at: int | None
    left_ms: int | None
    warned_at: int | None
    breached_at: int | None
    next_at: int | None


def _clock_row(cid: int, clock: TargetClock, old: _Clock | None) -> tuple:
    """The sla_clocks row of a clock: the fired marks of the same cycle carried over."""
    same_cycle = old is not None and old.started_at == clock.started_at
    warned = old.warned_at if same_cycle else None  # type: ignore[union-attr]
    breached = old.breached_at if same_cycle else None  # type: ignore[union-attr]
    next_at = clock.warn_at if warned is None else clock.due_at if breached is None else None
    if clock.due_at is None:
        next_at = None
    return (cid, clock.target, clock.policy, clock.started_at, clock.warn_at, clock.due_at, clock.left_ms,
            warned, breached, next_at)


def _stopped_row(old: _Clock) -> tuple:
    """A target that no longer runs (met): its cycle and marks stay, so it never fires twice."""
    return old._replace(warn_at=None, due_at=None, left_ms=None, next_at=None)


def recompute_sync(c: sqlite3.Connection, ids: Sequence[int], policies: Sequence[Policy],
                   calendar_of: Callable[[str], BusinessCalendar]) -> list[int]:
    """Recompute the clocks of `ids`; returns the ids whose shown due time changed."""
    changed: list[int] = []
    for start in range(0, len(ids), CHUNK):
        chunk = list(ids[start:start + CHUNK])
        facts, shown = _facts(c, chunk)
        old_clocks: dict[int, dict[str, _Clock]] = {}
        for r in _plain(c).execute(f"SELECT {_CLOCK_COLUMNS} FROM sla_clocks WHERE conversation_id IN"
                                   f" ({_marks(chunk)})", chunk):
            old = _Clock._make(r)
            old_clocks.setdefault(old.conversation_id, {})[old.target] = old
        rows, summaries = [], []
        for fact in facts:
            running = clocks(fact, policies, calendar_of)
            now_shown = summary(running)
            if now_shown != shown[fact.id]:
                summaries.append((*now_shown, fact.id))
                changed.append(fact.id)
            olds = old_clocks.get(fact.id, {})
            for clock in running:
                old = olds.pop(clock.target, None)
                row = _clock_row(fact.id, clock, old)
                if old != row:
                    rows.append(row)
            for old in olds.values():  # what is left no longer runs
                stopped = _stopped_row(old)
                if stopped != old:
                    rows.append(stopped)
        c.executemany("UPDATE conversations SET sla_target = ?, sla_due_at = ?, sla_warn_at = ?,"
                      " sla_left_ms = ? WHERE id = ?", summaries)
        c.executemany(_UPSERT_CLOCK, rows)
    return changed


async def recompute(conn: aiosqlite.Connection, ids: Sequence[int], policies: Sequence[Policy],
                    calendar_of: Callable[[str], BusinessCalendar]) -> list[int]:
    """`recompute_sync` in the worker thread, inside the caller's write transaction."""
    return await call_sync(conn, recompute_sync, ids, policies, calendar_of)


# -- timers -------------------------------------------------------------------------------------


class Stage(NamedTuple):
    """A warning or breach whose time has come, not fired yet."""

    conversation_id: int
    target: str
    policy: str
    started_at: int
    stage: str  # "warning" | "breach"
    at: int  # when it was due to fire


async def next_stage_at(db: Database) -> int | None:
    """The earliest instant a warning or breach is due to fire (epoch ms), None when none is."""
    row = await db.fetchone("SELECT min(next_at) FROM sla_clocks WHERE next_at IS NOT NULL")
    return None if row is None or row[0] is None else int(row[0])


async def due_stages(db: Database, now: int) -> list[Stage]:
    """Every stage due by `now` and not fired, a warning before the breach of the same clock."""
    rows = await db.fetchall(
        f"SELECT {_CLOCK_COLUMNS} FROM sla_clocks WHERE next_at IS NOT NULL AND next_at <= ?"
        " ORDER BY next_at, conversation_id, target", (now,))
    out = []
    for r in rows:
        base = (r["conversation_id"], r["target"], r["policy"], r["started_at"])
        if r["warned_at"] is None:
            out.append(Stage(*base, "warning", r["warn_at"]))
        if r["breached_at"] is None and r["due_at"] is not None and r["due_at"] <= now:
            out.append(Stage(*base, "breach", r["due_at"]))
    return out


async def mark_fired(conn: aiosqlite.Connection, stage: Stage, now: int) -> bool:
    """Record that a stage fired (in the transaction of its actions); False when it already had."""
    column = "warned_at" if stage.stage == "warning" else "breached_at"
    following = "CASE WHEN breached_at IS NULL THEN due_at END" if stage.stage == "warning" else "NULL"
    cursor = await conn.execute(
        f"UPDATE sla_clocks SET {column} = ?, next_at = {following}"
        f" WHERE conversation_id = ? AND target = ? AND started_at = ? AND {column} IS NULL",
        (now, stage.conversation_id, stage.target, stage.started_at))
    return cursor.rowcount == 1


class Notice(NamedTuple):
    """An SLA event an agent is to be told of."""

    event_id: int
    conversation_id: int
    kind: str  # sla_warning | sla_breached
    target: str
    policy: str


async def notices(db: Database, agent: str, after_event_id: int | None) -> tuple[int, list[Notice]]:
    """(the newest event id, the SLA events after `after_event_id` that name `agent` in `notify`).

    With `after_event_id` None only the newest id is read: a console tells what happens while it runs.
    """
    row = await db.fetchone("SELECT coalesce(max(id), 0) FROM events")
    newest = int(row[0]) if row else 0
    if after_event_id is None or newest <= after_event_id:
        return newest, []
    rows = await db.fetchall(
        "SELECT e.id, e.conversation_id, e.kind, json_extract(e.after, '$.target'),"
        " json_extract(e.after, '$.policy') FROM events e WHERE e.id > ? AND e.id <= ?"
        " AND e.kind IN ('sla_warning', 'sla_breached')"
        " AND EXISTS (SELECT 1 FROM json_each(e.after, '$.notify') WHERE value = ?) ORDER BY e.id",
        (after_event_id, newest, agent))
    return newest, [Notice(*r) for r in rows]


# -- the configuration the clocks were computed with ---------------------------------------------


async def fingerprint(db: Database) -> str | None:
    row = await db.fetchone("SELECT fingerprint FROM sla_config WHERE id = 1")
    return None if row is None else str(row[0])


async def set_fingerprint(conn: aiosqlite.Connection, value: str, now: int) -> None:
    await conn.execute("INSERT OR REPLACE INTO sla_config (id, fingerprint, computed_at) VALUES (1, ?, ?)",
                       (value, now))


# -- the sla report -----------------------------------------------------------------------------


class Outcome(NamedTuple):
    """One policy and target's clocks started in a period (the sla report)."""

    policy: str
    target: str
    measured: int
    met: int
    breached: int
    running: int


async def outcomes(db: Database, since: int, until: int, now: int, channel_id: int | None) -> list[Outcome]:
    """Per policy and target, the clocks whose cycle started in [since, until): breached (fired, or
    running past due at `now`), met (stopped unbreached), still running or standing."""
    where = " AND c.channel_id = ?" if channel_id is not None else ""
    params: tuple[object, ...] = (now, since, until) + ((channel_id,) if channel_id is not None else ())
    rows = await db.fetchall(
        "SELECT policy, target, count(*), sum(NOT breached AND stopped), sum(breached),"
        " sum(NOT breached AND NOT stopped) FROM ("
        "  SELECT k.policy, k.target, k.due_at IS NULL AND k.left_ms IS NULL AS stopped,"
        "   k.breached_at IS NOT NULL OR coalesce(k.due_at <= ?, 0) AS breached"
        "  FROM sla_clocks k JOIN conversations c ON c.id = k.conversation_id"
        f"  WHERE k.started_at >= ? AND k.started_at < ?{where})"
        " GROUP BY policy, target", params)
    return [Outcome(r[0], r[1], *(int(x or 0) for x in r[2:])) for r in rows]
