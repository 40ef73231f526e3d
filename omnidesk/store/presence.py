"""Who is viewing or replying to a conversation right now (heartbeat rows).

Each TUI writes a row per (agent, conversation, runner) and refreshes its
heartbeat every few seconds while the conversation is open. Rows whose
heartbeat is older than `stale_ms` are ignored (a process that died stops
beating), rows of a dead process on this host are ignored at once, and a TUI
that leaves deletes its row.
"""

from __future__ import annotations

from dataclasses import dataclass

from omnidesk.runners import runner_gone
from omnidesk.runners import runner_id as runner_id  # this process, as presence rows name it
from omnidesk.store.db import Database
from omnidesk.timeutil import now_ms

#: A heartbeat older than this means the viewer is gone.
STALE_MS = 30_000


@dataclass(frozen=True, slots=True)
class Presence:
    agent_id: int
    agent_name: str
    conversation_id: int
    activity: str  # viewing | replying
    runner: str
    heartbeat_at: int


async def heartbeat(
    db: Database, *, agent_id: int, conversation_id: int, activity: str, runner: str, now: int | None = None
) -> None:
    """Say (again) that this agent is viewing/replying here; one short write."""
    now = now_ms() if now is None else now
    async with db.write() as conn:
        await conn.execute(
            "INSERT INTO presence (agent_id, conversation_id, activity, runner, heartbeat_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (agent_id, conversation_id, runner)"
            " DO UPDATE SET activity = excluded.activity, heartbeat_at = excluded.heartbeat_at",
            (agent_id, conversation_id, activity, runner, now),
        )


async def leave(db: Database, *, agent_id: int, conversation_id: int, runner: str) -> None:
    async with db.write() as conn:
        await conn.execute(
            "DELETE FROM presence WHERE agent_id = ? AND conversation_id = ? AND runner = ?",
            (agent_id, conversation_id, runner),
        )


async def others(
    db: Database, *, conversation_id: int, runner: str, now: int | None = None, stale_ms: int = STALE_MS
) -> list[Presence]:
    """Live presence rows of this conversation from other runners (newest first)."""
    now = now_ms() if now is None else now
    rows = await db.fetchall(
        "SELECT p.agent_id, a.name, p.conversation_id, p.activity, p.runner, p.heartbeat_at"
        " FROM presence p JOIN agents a ON a.id = p.agent_id"
        " WHERE p.conversation_id = ? AND p.runner != ? AND p.heartbeat_at >= ?"
        " ORDER BY p.heartbeat_at DESC",
        (conversation_id, runner, now - stale_ms),
    )
    found = [Presence(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows]
    # A runner on this host whose pid is gone is dead now, whatever its heartbeat says.
    return [p for p in found if not runner_gone(p.runner)]


async def prune(db: Database, *, now: int | None = None, stale_ms: int = STALE_MS) -> int:
    """Delete stale rows (housekeeping; reads ignore them anyway)."""
    now = now_ms() if now is None else now
    async with db.write() as conn:
        cursor = await conn.execute("DELETE FROM presence WHERE heartbeat_at < ?", (now - stale_ms,))
        return cursor.rowcount
