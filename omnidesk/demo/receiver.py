"""A local SMTP receiver for the demo: replies "really leave" and land here, on 127.0.0.1.

    async with LocalReceiver(port=2525) as receiver:
        ... the desk's channel sends to 127.0.0.1:2525 ...
        receiver.messages[-1].message["Subject"]

Recipients at `unreachable.example` are refused with a 550, so the demo also
shows a permanently failed reply with the server's words. Nothing is relayed
anywhere; captured mail can also be written as .eml files for a look.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

#: Mail to this domain is refused (550) so the demo has a failed delivery to show.
REFUSED_DOMAIN = "unreachable.example"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True, slots=True)
class Captured:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    received_at: float

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=policy.default)  # type: ignore[return-value]


class _Handler:
    def __init__(self, receiver: LocalReceiver) -> None:
        self.receiver = receiver

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address.lower().endswith("@" + REFUSED_DOMAIN):
            return f"550 5.1.1 <{address}>: Recipient address rejected: mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data = envelope.original_content or envelope.content or b""
        self.receiver._capture(Captured(str(envelope.mail_from), tuple(envelope.rcpt_tos),
                                        data if isinstance(data, bytes) else data.encode(), time.time()))
        return "250 2.0.0 OK: captured by the omnidesk demo receiver"


class LocalReceiver:
    """aiosmtpd on 127.0.0.1 that keeps every message it accepts (in memory, and in `directory`)."""

    def __init__(self, *, port: int | None = None, host: str = "127.0.0.1",
                 directory: Path | None = None) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.directory = directory
        self.messages: list[Captured] = []
        self._lock = threading.Lock()
        self._controller: Any = None

    def start(self) -> LocalReceiver:
        from aiosmtpd.controller import Controller

        if self._controller is None:
            controller = Controller(_Handler(self), hostname=self.host, port=self.port)
            controller.start()
            self._controller = controller
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    async def __aenter__(self) -> LocalReceiver:
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.stop)

    def _capture(self, item: Captured) -> None:
        with self._lock:
            self.messages.append(item)
            count = len(self.messages)
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
            (self.directory / f"{int(item.received_at * 1000)}-{count:05d}.eml").write_bytes(item.data)

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Captured]:
        """Until `count` messages were captured (polling), else TimeoutError."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.messages) < count:
            if loop.time() > deadline:
                raise TimeoutError(f"expected {count} messages, captured {len(self.messages)}")
            await asyncio.sleep(0.02)
        return list(self.messages)
