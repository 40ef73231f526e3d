"""A chat channel for tests of the reply path: registered under its own kind, it keeps what it is sent.

Its class declares what a Telegram-like channel declares (addresses Telegram users, 4,096
characters a message), so the core's reply path treats it as it would the real one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from adapters.base import Batch, Capabilities, Option, Outbound, Receipt

CHAT_KIND = "test-chat"


class RecordingChat:
    """A chat channel that addresses Telegram users and keeps every Outbound it is asked to send."""

    kind: ClassVar[str] = CHAT_KIND
    capabilities: ClassVar[Capabilities] = Capabilities(addresses=frozenset({"telegram"}), max_length=4096)
    options: ClassVar[tuple[Option, ...]] = ()
    sent: ClassVar[list[Outbound]] = []

    def __init__(self, name: str, options: Mapping[str, Any], secret: Any) -> None:
        self.name = name

    async def poll(self, cursor: str | None) -> AsyncIterator[Batch]:
        return
        yield

    async def wait_for_changes(self, timeout: float) -> None:
        return None

    async def send(self, outbound: Outbound) -> Receipt:
        self.sent.append(outbound)
        return Receipt(external_id=str(100 + len(self.sent)), sent_at=datetime.now(UTC),
                       scope=outbound.scope)

    async def close(self) -> None:
        return None


class RecordingMail(RecordingChat):
    """Stands in for the mail server: the Outbound an email channel's send would get."""

    sent: ClassVar[list[Outbound]] = []
