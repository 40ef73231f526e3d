"""Shared set-up for the dispatcher tests: a desk whose `email` channel sends to a local SMTP server.

The channel is the real EmailAdapter (IMAP is never touched by sending); replies
are queued through omnidesk.services.services, exactly as the CLI and the TUI do.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from omnidesk.desk import Desk
from omnidesk.services import services
from omnidesk.settings import ChannelSettings, DeskSettings, Settings
from omnidesk.store.db import Database
from tests.fakes.smtp_server import free_port
from tests.unit import factories

ADDRESS = "support@desk.test"


def channel_settings(smtp_port: int, **extra: Any) -> ChannelSettings:
    options = {
        "address": ADDRESS,
        "imap_host": "127.0.0.1",
        "imap_port": free_port(),  # nothing listens: sending must not need IMAP
        "imap_tls": "none",
        "username": ADDRESS,
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp_port,
        "smtp_tls": "none",
        "timeout_seconds": 5,
        **extra,
    }
    return ChannelSettings(name="support", kind="email", address=ADDRESS, options=options)


def settings_for(smtp_port: int, *, undo_seconds: float = 0.0) -> Settings:
    return Settings(desk=DeskSettings(name="Test Desk", undo_seconds=undo_seconds),
                    channels=(channel_settings(smtp_port),))


async def open_test_desk(path: Path, smtp_port: int, *, undo_seconds: float = 0.0) -> Desk:
    db = await Database.open(path / "omnidesk.db")
    return Desk(db=db, settings=settings_for(smtp_port, undo_seconds=undo_seconds), data_dir=path)


async def queue_replies(desk: Desk, count: int = 1, *, text: str = "We are on it.") -> tuple[Desk, list[int]]:
    """`count` customer threads, each answered by alice; the out message ids, in order."""
    agent = await factories.agent(desk, "alice")
    acting = replace(desk, agent=agent)
    channel = await factories.email_channel(desk, "support", ADDRESS)
    message_ids = []
    for n in range(count):
        thread = await factories.thread(desk, channel, subject=f"Refund {n}", name=f"Customer {n}",
                                        address=f"customer{n}@example.com")
        result = await services.queue_reply(acting, thread.conversation_id, f"{text} ({n})")
        assert result.message_id is not None
        message_ids.append(result.message_id)
    return acting, message_ids


async def message_row(desk: Desk, message_id: int) -> dict[str, Any]:
    row = await desk.db.fetchone(
        "SELECT m.*, c.first_response_at FROM messages m JOIN conversations c ON c.id = m.conversation_id"
        " WHERE m.id = ?", (message_id,))
    assert row is not None
    return dict(row)
