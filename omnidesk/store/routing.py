"""SQL for routing rules and assignment: pending routing, one conversation's facts, turns.

Ingest records each new inbound message as pending routing in its batch's transaction
(`add_pending`, plain sqlite3 inside `write_batch`); routing reads the pending rows and
deletes each in the transaction that applies its rules' actions (`take_pending`), so a
crash between ingest and routing routes on restart, exactly once.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NamedTuple

from omnidesk.store.identities import call_sync

if TYPE_CHECKING:
    import aiosqlite

    from omnidesk.store.db import Database

#: What made a conversation pending routing (a rule's `on`).
TRIGGERS = ("new_conversation", "inbound_message", "status_change", "sla_warning", "sla_breach")


class Pending(NamedTuple):
    id: int
    conversation_id: int
    message_id: int | None
    trigger: str


def add_pending(c: sqlite3.Connection, conversation_id: int, message_id: int | None, trigger: str,
                now: int) -> None:
    """One conversation to route (inside the caller's transaction; sqlite3, as ingest's batch runs)."""
    c.execute("INSERT INTO pending_routing (conversation_id, message_id, trigger, created_at)"
              " VALUES (?, ?, ?, ?)", (conversation_id, message_id, trigger, now))


async def queue(conn: aiosqlite.Connection, conversation_id: int, trigger: str, now: int,
                message_id: int | None = None) -> None:
    """`add_pending` from an aiosqlite transaction (a status change, an SLA timer firing)."""
    if trigger not in TRIGGERS:
        raise ValueError(f"unknown routing trigger {trigger!r}")
    await call_sync(conn, add_pending, conversation_id, message_id, trigger, now)


async def pending(db: Database, limit: int = 500, after: int = 0) -> list[Pending]:
    """The oldest pending rows after id `after`, in the order they were written."""
    rows = await db.fetchall("SELECT id, conversation_id, message_id, trigger FROM pending_routing"
                             " WHERE id > ? ORDER BY id LIMIT ?", (after, limit))
    return [Pending(*r) for r in rows]


async def pending_for(db: Database, message_id: int) -> Pending | None:
    """The pending row a message made, if it is still pending."""
    row = await db.fetchone("SELECT id, conversation_id, message_id, trigger FROM pending_routing"
                            " WHERE message_id = ? ORDER BY id LIMIT 1", (message_id,))
    return None if row is None else Pending(*row)


async def take_pending(conn: aiosqlite.Connection, pending_id: int) -> Pending | None:
    """Delete one pending row and return it as it was; None when another process took it
    first (then apply nothing)."""
    return await call_sync(conn, _take_pending, pending_id)


def _take_pending(c: sqlite3.Connection, pending_id: int) -> Pending | None:
    rows = c.execute("DELETE FROM pending_routing WHERE id = ? RETURNING id, conversation_id, message_id,"
                     " trigger", (pending_id,)).fetchall()  # all: the statement ends before the commit
    return Pending(*rows[0]) if rows else None


async def clear_pending(db: Database) -> int:
    """Drop every pending row (there are no rules to run); returns how many."""
    async with db.write() as conn:
        cursor = await conn.execute("DELETE FROM pending_routing")
        return cursor.rowcount


async def pending_count(db: Database) -> int:
    row = await db.fetchone("SELECT count(*) FROM pending_routing")
    return int(row[0]) if row else 0


async def has_pending(db: Database) -> bool:
    return await db.fetchone("SELECT 1 FROM pending_routing LIMIT 1") is not None


# -- one conversation ------------------------------------------------------------------------


class Facts(NamedTuple):
    """What rule conditions ask about one conversation besides its query."""

    conversation_id: int
    channel_name: str | None  # of the latest inbound message (conversations.channel_id)
    channel_kind: str | None
    tier: str | None
    language: str | None  # of the message routed, else the customer's
    customer_language: str | None
    inbound_count: int  # inbound messages so far: 1 on the first message
    tags: tuple[str, ...]
    team: str | None
    assignee_id: int | None
    status: str
    merged_into: int | None  # merged away: no rules run on it


#: Each rule query's WHERE clause (over `c`) and whether to evaluate it, decided from the facts
#: (the rules' cheap conditions). The clauses come in the same order every time.
Choose = Callable[[Facts], Sequence[tuple[bool, str, Sequence[object]]]]
#: Columns per statement: SQLite's cost per column grows with their number (200 correlated columns
#: in one statement took 2.5 ms, 20 statements of 10 took 0.56 ms; bench/routing.py). The
#: statements stay the same from message to message (a clause left out is switched off by a
#: parameter), so they are prepared once and found in the statement cache after.
COLUMNS_PER_STATEMENT = 10


async def facts(db: Database, conversation_id: int, message_id: int | None) -> Facts | None:
    """The conversation's facts (one read by primary key), None when it is gone.

    The language is the routed message's (`message_id`; None: the latest inbound one's).
    """
    return await call_sync(db.conn, _facts, conversation_id, message_id)


async def probe(db: Database, conversation_id: int, message_id: int | None,
                choose: Choose) -> tuple[Facts | None, list[bool]]:
    """The facts, then each clause `choose` picks from them evaluated for this conversation alone:
    all in aiosqlite's worker thread, one round trip (as ingest's batch writer runs)."""
    def run(c: sqlite3.Connection) -> tuple[Facts | None, list[bool]]:
        found = _facts(c, conversation_id, message_id)
        if found is None or found.merged_into is not None:
            return found, []
        conditions = list(choose(found))
        hits: list[bool] = []
        for start in range(0, len(conditions), COLUMNS_PER_STATEMENT):
            chunk = conditions[start:start + COLUMNS_PER_STATEMENT]
            if not any(on for on, _, _ in chunk):
                hits.extend(False for _ in chunk)
                continue
            sql, params = matches_sql(chunk)
            hits.extend(bool(v) for v in c.execute(sql, [*params, conversation_id]).fetchone())
        return found, hits

    return await call_sync(db.conn, run)


def _facts(c: sqlite3.Connection, conversation_id: int, message_id: int | None) -> Facts | None:
    row = c.execute(
        "SELECT c.id, ch.name, ch.kind, cu.tier, coalesce((SELECT m.language FROM messages m WHERE m.id = ?),"
        "   (SELECT m.language FROM messages m WHERE m.conversation_id = c.id AND m.direction = 'in'"
        "    ORDER BY m.id DESC LIMIT 1)),"
        " cu.language, (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id"
        "   AND m.direction = 'in'),"
        " (SELECT json_group_array(t.name) FROM conversation_tags ct JOIN tags t ON t.id = ct.tag_id"
        "   WHERE ct.conversation_id = c.id), c.team, c.assignee_id, c.status, c.merged_into"
        " FROM conversations c JOIN customers cu ON cu.id = c.customer_id"
        " LEFT JOIN channels ch ON ch.id = c.channel_id WHERE c.id = ?",
        (message_id, conversation_id)).fetchone()
    if row is None:
        return None
    return Facts(row[0], row[1], row[2], row[3], row[4] or row[5], row[5], int(row[6]),
                 tuple(json.loads(row[7])), row[8], row[9], row[10], row[11])


def matches_sql(conditions: Sequence[tuple[bool, str, Sequence[object]]]) -> tuple[str, list[object]]:
    """One statement evaluating each WHERE clause that is on for `c.id = ?` (the id comes last);
    a clause that is off is not evaluated (`? AND ...` stops at the 0)."""
    columns = ", ".join(f"CASE WHEN ? AND ({where}) THEN 1 ELSE 0 END" for _, where, _ in conditions)
    return (f"SELECT {columns} FROM conversations c WHERE c.id = ?",
            [p for on, _, ps in conditions for p in (int(on), *ps)])


# -- assignment --------------------------------------------------------------------------------


class Candidate(NamedTuple):
    """An agent a strategy may pick: active, not away, and below capacity."""

    id: int
    name: str
    skills: tuple[str, ...]
    teams: tuple[str, ...]
    open_count: int


#: A strategy's choice among the free agents, given the id of the team's last turn (None: none yet).
Decide = Callable[[list[Candidate], int | None], Candidate | None]


async def take_turn(conn: aiosqlite.Connection, team: str | None, decide: Decide,
                    now: int) -> Candidate | None:
    """The agent `decide` picks among those who can take one more conversation (in `team`),
    recorded as the team's last turn ('' for all agents): one trip to the store's thread,
    inside the caller's write transaction, so two processes never take the same turn or
    both see a last free slot."""
    return await call_sync(conn, _take_turn, team, decide, now)


def _take_turn(c: sqlite3.Connection, team: str | None, decide: Decide, now: int) -> Candidate | None:
    rows = c.execute(
        "SELECT a.id, a.name, a.skills, a.teams, a.capacity,"
        " (SELECT count(*) FROM conversations c WHERE c.assignee_id = a.id"
        "   AND c.status IN ('open', 'pending') AND c.merged_into IS NULL)"
        " FROM agents a WHERE a.active = 1 AND a.away_since IS NULL ORDER BY a.id").fetchall()
    free = []
    for agent_id, name, skills, teams, capacity, open_count in rows:
        team_list = tuple(json.loads(teams or "[]"))
        if team is not None and team not in team_list:
            continue
        if capacity is not None and open_count >= capacity:
            continue
        free.append(Candidate(agent_id, name, tuple(json.loads(skills or "[]")), team_list, int(open_count)))
    last = c.execute("SELECT last_agent_id FROM round_robin WHERE team = ?", (team or "",)).fetchone()
    chosen = decide(free, None if last is None else int(last[0]))
    if chosen is not None:
        c.execute("INSERT INTO round_robin (team, last_agent_id, updated_at) VALUES (?, ?, ?)"
                  " ON CONFLICT (team) DO UPDATE SET last_agent_id = excluded.last_agent_id,"
                  " updated_at = excluded.updated_at", (team or "", chosen.id, now))
    return chosen


async def set_away(db: Database, agent_id: int, since: int | None) -> bool:
    """Mark an agent away (since `since`) or back (None); False when it already was."""
    async with db.write() as conn:
        if since is None:
            cursor = await conn.execute("UPDATE agents SET away_since = NULL WHERE id = ?"
                                        " AND away_since IS NOT NULL", (agent_id,))
        else:
            cursor = await conn.execute("UPDATE agents SET away_since = ? WHERE id = ?"
                                        " AND away_since IS NULL", (since, agent_id))
        return cursor.rowcount > 0
