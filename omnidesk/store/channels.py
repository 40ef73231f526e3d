"""SQL for channels, their cursors and their health (heartbeat, last success, last error)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from omnidesk.model import Channel
from omnidesk.timeutil import now_ms

if TYPE_CHECKING:
    from omnidesk.store.db import Database


@dataclass(frozen=True, slots=True)
class ChannelHealth:
    """What `doctor`, `sync --status` and the TUI show per channel."""

    channel_id: int
    name: str
    kind: str
    heartbeat_at: int | None
    last_success_at: int | None
    last_error: str | None
    last_error_at: int | None
    runner: str | None

    @property
    def failing(self) -> bool:
        """The latest outcome was an error (an error newer than the last success)."""
        return self.last_error_at is not None and self.last_error_at > (self.last_success_at or 0)


def _channel(row) -> Channel:  # type: ignore[no-untyped-def]
    return Channel(id=row["id"], name=row["name"], kind=row["kind"], address=row["address"])


async def ensure_channel(db: Database, name: str, kind: str, address: str | None = None) -> Channel:
    """The channel named `name`, created or updated to `kind` and `address` (config wins)."""
    existing = await get_channel(db, name)
    if existing is not None and existing.kind == kind and existing.address == address:
        return existing  # the common case: no write transaction at all
    async with db.write() as conn:
        await conn.execute(
            "INSERT INTO channels (name, kind, address, created_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, address = excluded.address",
            (name, kind, address, now_ms()),
        )
    channel = await get_channel(db, name)
    assert channel is not None
    return channel


async def get_channel(db: Database, name: str) -> Channel | None:
    row = await db.fetchone("SELECT id, name, kind, address FROM channels WHERE name = ?", (name,))
    return None if row is None else _channel(row)


async def get_channel_by_id(db: Database, channel_id: int) -> Channel | None:
    row = await db.fetchone("SELECT id, name, kind, address FROM channels WHERE id = ?", (channel_id,))
    return None if row is None else _channel(row)


async def list_channels(db: Database) -> list[Channel]:
    rows = await db.fetchall("SELECT id, name, kind, address FROM channels ORDER BY name")
    return [_channel(r) for r in rows]


async def get_cursor(db: Database, channel_id: int) -> str | None:
    row = await db.fetchone("SELECT value FROM cursors WHERE channel_id = ?", (channel_id,))
    return None if row is None else str(row["value"])


async def record_heartbeat(db: Database, channel_id: int, runner: str) -> None:
    async with db.write() as conn:
        await conn.execute(
            "INSERT INTO channel_health (channel_id, heartbeat_at, runner) VALUES (?, ?, ?)"
            " ON CONFLICT (channel_id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at,"
            " runner = excluded.runner",
            (channel_id, now_ms(), runner),
        )


async def record_success(db: Database, channel_id: int) -> None:
    """A poll finished cleanly. The last error is kept (with its time) for `doctor`."""
    now = now_ms()
    async with db.write() as conn:
        await conn.execute(
            "INSERT INTO channel_health (channel_id, heartbeat_at, last_success_at) VALUES (?, ?, ?)"
            " ON CONFLICT (channel_id) DO UPDATE SET last_success_at = excluded.last_success_at,"
            " heartbeat_at = excluded.heartbeat_at",
            (channel_id, now, now),
        )


async def record_error(db: Database, channel_id: int, error: str) -> None:
    now = now_ms()
    async with db.write() as conn:
        await conn.execute(
            "INSERT INTO channel_health (channel_id, heartbeat_at, last_error, last_error_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (channel_id) DO UPDATE SET"
            " last_error = excluded.last_error, last_error_at = excluded.last_error_at,"
            " heartbeat_at = excluded.heartbeat_at",
            (channel_id, now, error[:2000], now),
        )


async def channel_health(db: Database) -> list[ChannelHealth]:
    """Every channel with its health row (None fields for a channel never synced), by name."""
    rows = await db.fetchall(
        "SELECT c.id, c.name, c.kind, h.heartbeat_at, h.last_success_at, h.last_error,"
        " h.last_error_at, h.runner FROM channels c LEFT JOIN channel_health h ON h.channel_id = c.id"
        " ORDER BY c.name"
    )
    return [
        ChannelHealth(
            channel_id=r["id"], name=r["name"], kind=r["kind"], heartbeat_at=r["heartbeat_at"],
            last_success_at=r["last_success_at"], last_error=r["last_error"],
            last_error_at=r["last_error_at"], runner=r["runner"],
        )
        for r in rows
    ]
