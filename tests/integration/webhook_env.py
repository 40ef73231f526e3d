"""Set-up for the webhook tests: the real daemon (run_sync with its listener) on a free loopback port."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

from omnidesk.desk import Desk
from omnidesk.services.sync import SyncReport, run_sync
from omnidesk.settings import ChannelSettings, WebhookSettings
from omnidesk.sla.policy import Policy
from tests.fakes.smtp_server import free_port
from tests.integration.sync_env import open_desk_with


@dataclass
class Daemon:
    desk: Desk
    base: str  # http://127.0.0.1:PORT, the listener's public URL
    stop: asyncio.Event
    task: asyncio.Task[SyncReport]

    def url(self, channel: str) -> str:
        return f"{self.base}/hooks/{channel}"


async def listening(port: int, timeout: float = 20.0) -> None:
    """Until something accepts connections on 127.0.0.1:`port`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if loop.time() > deadline:
                raise AssertionError(f"nothing listens on port {port} after {timeout} s") from None
            await asyncio.sleep(0.02)
            continue
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return


@contextlib.asynccontextmanager
async def daemon(path: Path, *channels: ChannelSettings, max_body_bytes: int = 1024 * 1024,
                 port: int | None = None, sla: tuple[Policy, ...] = ()) -> AsyncIterator[Daemon]:
    """A desk under `path` whose daemon serves webhooks (and polls `channels`) until the block ends."""
    port = port or free_port()
    desk = await open_desk_with(path, *channels)
    hooks = WebhookSettings("127.0.0.1", port, f"http://127.0.0.1:{port}", max_body_bytes)
    desk = replace(desk, settings=replace(desk.settings, webhooks=hooks, sla=sla))
    stop = asyncio.Event()
    task = asyncio.create_task(run_sync(desk, once=False, stop=stop, dispatch=False, webhooks=True))
    try:
        await listening(port)
        yield Daemon(desk, hooks.public_url, stop, task)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await desk.db.close()


async def counts(desk: Desk) -> tuple[int, int, int, int]:
    """(messages, events, edits, pending updates) stored: what a refused request must leave alone."""
    row = await desk.db.fetchone(
        "SELECT (SELECT count(*) FROM messages), (SELECT count(*) FROM events),"
        " (SELECT count(*) FROM message_edits), (SELECT count(*) FROM pending_updates)")
    assert row is not None
    return tuple(row)  # type: ignore[return-value]


async def polled(desk: Desk, channel: str) -> bool:
    """Whether `channel` has been polled successfully (the daemon's first poll is over)."""
    row = await desk.db.fetchone("SELECT h.last_success_at FROM channel_health h JOIN channels c"
                                 " ON c.id = h.channel_id WHERE c.name = ?", (channel,))
    return row is not None and row[0] is not None
