"""SQL for agents: lookups, creation, and syncing the configured agents into the store."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING

from omnidesk.model import Agent
from omnidesk.settings import AgentSettings
from omnidesk.timeutil import now_ms

if TYPE_CHECKING:
    from omnidesk.store.db import Database

_COLUMNS = "id, name, display_name, email, os_user, skills, teams, active"


def row_to_agent(row: sqlite3.Row) -> Agent:
    return Agent(
        id=row["id"],
        name=row["name"],
        display_name=row["display_name"],
        email=row["email"],
        os_user=row["os_user"],
        skills=tuple(json.loads(row["skills"] or "[]")),
        teams=tuple(json.loads(row["teams"] or "[]")),
        active=bool(row["active"]),
    )


async def list_agents(db: Database, *, active_only: bool = False) -> list[Agent]:
    where = "WHERE active = 1" if active_only else ""
    rows = await db.fetchall(f"SELECT {_COLUMNS} FROM agents {where} ORDER BY name")
    return [row_to_agent(r) for r in rows]


async def agent_by_name(db: Database, name: str) -> Agent | None:
    row = await db.fetchone(f"SELECT {_COLUMNS} FROM agents WHERE name = ?", (name,))
    return row_to_agent(row) if row else None


async def agent_by_os_user(db: Database, os_user: str) -> Agent | None:
    row = await db.fetchone(f"SELECT {_COLUMNS} FROM agents WHERE os_user = ?", (os_user,))
    return row_to_agent(row) if row else None


async def agent_by_id(db: Database, agent_id: int) -> Agent | None:
    row = await db.fetchone(f"SELECT {_COLUMNS} FROM agents WHERE id = ?", (agent_id,))
    return row_to_agent(row) if row else None


async def insert_agent(
    db: Database,
    *,
    name: str,
    display_name: str = "",
    email: str | None = None,
    os_user: str | None = None,
    skills: Sequence[str] = (),
    teams: Sequence[str] = (),
) -> Agent:
    """Create an agent. Raises sqlite3.IntegrityError when the name or os_user is taken."""
    async with db.write() as conn:
        cursor = await conn.execute(
            "INSERT INTO agents (name, display_name, email, os_user, skills, teams, active, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, 1, ?)",
            (name, display_name, email, os_user, json.dumps(list(skills)), json.dumps(list(teams)), now_ms()),
        )
        agent_id = cursor.lastrowid
    agent = await agent_by_id(db, int(agent_id or 0))
    assert agent is not None
    return agent


async def sync_agents(db: Database, agents: Sequence[AgentSettings]) -> list[Agent]:
    """Upsert the agents from config (matched by name), in one transaction.

    Agents missing from config are left alone: `omnidesk agent add` creates
    agents outside config, and events and assignments point at old ones. An
    os_user moving from one agent to another is released first so the UNIQUE
    constraint never trips half-way.
    """
    now = now_ms()
    async with db.write() as conn:
        # Release os_users that config gives to a different agent now.
        for a in agents:
            if a.os_user:
                await conn.execute(
                    "UPDATE agents SET os_user = NULL WHERE os_user = ? AND name <> ?", (a.os_user, a.name)
                )
        for a in agents:
            await conn.execute(
                "INSERT INTO agents (name, display_name, email, os_user, skills, teams, active, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, 1, ?)"
                " ON CONFLICT(name) DO UPDATE SET display_name = excluded.display_name,"
                " email = excluded.email, os_user = excluded.os_user, skills = excluded.skills,"
                " teams = excluded.teams, active = 1",
                (
                    a.name,
                    a.display_name,
                    a.email,
                    a.os_user,
                    json.dumps(list(a.skills)),
                    json.dumps(list(a.teams)),
                    now,
                ),
            )
    return await list_agents(db)
