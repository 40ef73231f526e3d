"""SQL for agents: lookups, creation, and syncing the configured agents into the store.

An agent's identities (`agent_identities`: an email address, a Slack user, a Telegram
user, ...) are what makes a message the desk's own: `identities.own_addresses` reads them.
Addresses arrive normalised (omnidesk/customers/identity.py); an agent's `email` is one of them.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING

from omnidesk.eventkinds import EventKind
from omnidesk.model import Agent
from omnidesk.settings import AgentSettings
from omnidesk.timeutil import now_ms

if TYPE_CHECKING:  # `omnidesk list` reads agents without an event loop: no aiosqlite at import
    import aiosqlite

    from omnidesk.store.db import Database

_COLUMNS = "id, name, display_name, email, os_user, skills, teams, active, capacity, away_since, role"


Pairs = Sequence[tuple[str, str]]


def row_to_agent(row: sqlite3.Row, identities: Pairs = ()) -> Agent:
    return Agent(
        id=row["id"],
        name=row["name"],
        display_name=row["display_name"],
        email=row["email"],
        os_user=row["os_user"],
        skills=tuple(json.loads(row["skills"] or "[]")),
        teams=tuple(json.loads(row["teams"] or "[]")),
        active=bool(row["active"]),
        identities=tuple(sorted(identities)),
        capacity=row["capacity"],
        away_since=row["away_since"],
        role=row["role"],
    )


async def _with_identities(db: Database, rows: Sequence[sqlite3.Row]) -> list[Agent]:
    if not rows:
        return []
    ids = [r["id"] for r in rows]
    found: dict[int, list[tuple[str, str]]] = {i: [] for i in ids}
    marks = ",".join("?" * len(ids))
    for agent_id, kind, address in await db.fetchall(
            f"SELECT agent_id, kind, address FROM agent_identities WHERE agent_id IN ({marks})", ids):
        found[agent_id].append((kind, address))
    return [row_to_agent(r, found[r["id"]]) for r in rows]


async def _one(db: Database, where: str, value: object) -> Agent | None:
    row = await db.fetchone(f"SELECT {_COLUMNS} FROM agents WHERE {where} = ?", (value,))
    return (await _with_identities(db, [row]))[0] if row else None


def _all_identities(email: str | None, identities: Pairs) -> list[tuple[str, str]]:
    """The rows an agent has: its email (as own_addresses compares it) and the others, once each."""
    pairs = [("email", email.strip().lower())] if email and email.strip() else []
    return list(dict.fromkeys([*pairs, *identities]))


async def _set_identities(conn: aiosqlite.Connection, agent_id: int, pairs: Pairs) -> None:
    """Make `pairs` this agent's identities; one another agent had moves here (config decides)."""
    await conn.execute("DELETE FROM agent_identities WHERE agent_id = ?", (agent_id,))
    await conn.executemany(
        "INSERT INTO agent_identities (agent_id, kind, address) VALUES (?, ?, ?)"
        " ON CONFLICT (kind, address) DO UPDATE SET agent_id = excluded.agent_id",
        [(agent_id, kind, address) for kind, address in pairs])


async def agent_by_identity(db: Database, kind: str, address: str) -> Agent | None:
    """The agent whose identity (kind, normalised address) this is, or None."""
    row = await db.fetchone("SELECT agent_id FROM agent_identities WHERE kind = ? AND address = ?",
                            (kind, address))
    return await agent_by_id(db, row[0]) if row else None


async def list_agents(db: Database, *, active_only: bool = False) -> list[Agent]:
    where = "WHERE active = 1" if active_only else ""
    rows = await db.fetchall(f"SELECT {_COLUMNS} FROM agents {where} ORDER BY name")
    return await _with_identities(db, rows)


async def agent_by_name(db: Database, name: str) -> Agent | None:
    return await _one(db, "name", name)


async def agent_by_os_user(db: Database, os_user: str) -> Agent | None:
    return await _one(db, "os_user", os_user)


async def agent_by_id(db: Database, agent_id: int) -> Agent | None:
    return await _one(db, "id", agent_id)


async def insert_agent(
    db: Database,
    *,
    name: str,
    display_name: str = "",
    email: str | None = None,
    os_user: str | None = None,
    skills: Sequence[str] = (),
    teams: Sequence[str] = (),
    identities: Pairs = (),
    role: str = "agent",
) -> Agent:
    """Create an agent with its identities (besides `email`).

    Raises sqlite3.IntegrityError when the name, the os_user or an identity is taken.
    """
    async with db.write() as conn:
        cursor = await conn.execute(
            "INSERT INTO agents (name, display_name, email, os_user, skills, teams, active, created_at, role)"
            " VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)",
            (name, display_name, email, os_user, json.dumps(list(skills)), json.dumps(list(teams)), now_ms(),
             role),
        )
        agent_id = cursor.lastrowid
        await conn.executemany(
            "INSERT INTO agent_identities (agent_id, kind, address) VALUES (?, ?, ?)",
            [(agent_id, kind, address) for kind, address in _all_identities(email, identities)])
    agent = await agent_by_id(db, int(agent_id or 0))
    assert agent is not None
    return agent


async def sync_agents(db: Database, agents: Sequence[AgentSettings]) -> list[Agent]:
    """Upsert the agents from config (matched by name), in one transaction.

    Agents missing from config are left alone: `omnidesk agent add` creates
    agents outside config, and events and assignments point at old ones. An
    os_user moving from one agent to another is released first so the UNIQUE
    constraint never trips half-way. Whether an agent is active is the database's
    (`omnidesk agent deactivate`), never the config's; a role the config changes is
    a `role_changed` event (the system's: the config file is who decided).
    """
    from omnidesk.store.events import write_event  # aiosqlite: the read path imports this module
    from omnidesk.store.identities import call_sync

    now = now_ms()
    async with db.write() as conn:
        rows = await (await conn.execute("SELECT name, role FROM agents")).fetchall()
        old_roles = {r[0]: r[1] for r in rows}
        # Release os_users that config gives to a different agent now.
        for a in agents:
            if a.os_user:
                await conn.execute(
                    "UPDATE agents SET os_user = NULL WHERE os_user = ? AND name <> ?", (a.os_user, a.name)
                )
        for a in agents:
            cursor = await conn.execute(
                "INSERT INTO agents (name, display_name, email, os_user, skills, teams, active, created_at,"
                " capacity, role) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?)"
                " ON CONFLICT(name) DO UPDATE SET display_name = excluded.display_name,"
                " email = excluded.email, os_user = excluded.os_user, skills = excluded.skills,"
                " teams = excluded.teams, capacity = excluded.capacity, role = excluded.role RETURNING id",
                (
                    a.name,
                    a.display_name,
                    a.email,
                    a.os_user,
                    json.dumps(list(a.skills)),
                    json.dumps(list(a.teams)),
                    now,
                    a.capacity,
                    a.role,
                ),
            )
            row = await cursor.fetchone()
            assert row is not None  # RETURNING gives the row inserted or updated
            await _set_identities(conn, row[0], _all_identities(a.email, a.identities))
            if a.name in old_roles and old_roles[a.name] != a.role:
                await call_sync(conn, write_event, None, None, EventKind.ROLE_CHANGED,
                                {"agent": a.name, "role": old_roles[a.name]},
                                {"agent": a.name, "role": a.role}, now)
    return await list_agents(db)


async def set_active(db: Database, agent_id: int, active: bool) -> None:
    """Deactivate or reactivate an agent (inside the caller's write; its history stays)."""
    async with db.write() as conn:
        await conn.execute("UPDATE agents SET active = ? WHERE id = ?", (int(active), agent_id))


async def active_count(db: Database) -> int:
    row = await db.fetchone("SELECT count(*) FROM agents WHERE active = 1")
    return int(row[0]) if row else 0
