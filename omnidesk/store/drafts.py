"""Reply drafts, one per (conversation, agent), saved as the agent types.

Saving is an upsert of the whole body: the composer calls it a moment after
each pause in typing, so closing the TUI or a crash loses at most that moment.
"""

from __future__ import annotations

from dataclasses import dataclass

from omnidesk.store.db import Database
from omnidesk.timeutil import now_ms


@dataclass(frozen=True, slots=True)
class Draft:
    conversation_id: int
    agent_id: int
    channel_id: int | None
    to_address: str | None
    body: str
    updated_at: int


async def save_draft(
    db: Database,
    *,
    conversation_id: int,
    agent_id: int,
    body: str,
    channel_id: int | None = None,
    to_address: str | None = None,
    now: int | None = None,
) -> None:
    now = now_ms() if now is None else now
    async with db.write() as conn:
        await conn.execute(
            "INSERT INTO drafts (conversation_id, agent_id, channel_id, to_address, body, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (conversation_id, agent_id) DO UPDATE SET"
            " channel_id = excluded.channel_id, to_address = excluded.to_address,"
            " body = excluded.body, updated_at = excluded.updated_at",
            (conversation_id, agent_id, channel_id, to_address, body, now),
        )


async def get_draft(db: Database, *, conversation_id: int, agent_id: int) -> Draft | None:
    row = await db.fetchone(
        "SELECT conversation_id, agent_id, channel_id, to_address, body, updated_at FROM drafts"
        " WHERE conversation_id = ? AND agent_id = ?",
        (conversation_id, agent_id),
    )
    return None if row is None else Draft(row[0], row[1], row[2], row[3], row[4], row[5])


async def delete_draft(db: Database, *, conversation_id: int, agent_id: int) -> None:
    async with db.write() as conn:
        await conn.execute(
            "DELETE FROM drafts WHERE conversation_id = ? AND agent_id = ?", (conversation_id, agent_id)
        )


async def drafts_of(db: Database, agent_id: int) -> list[Draft]:
    rows = await db.fetchall(
        "SELECT conversation_id, agent_id, channel_id, to_address, body, updated_at FROM drafts"
        " WHERE agent_id = ? ORDER BY updated_at DESC",
        (agent_id,),
    )
    return [Draft(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows]
