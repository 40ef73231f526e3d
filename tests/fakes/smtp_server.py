"""A local SMTP receiver for tests, built on aiosmtpd.

    with FakeSMTPServer(mode="accept") as smtp:
        ... send to smtp.host:smtp.port ...
        await smtp.wait_for(1)
        smtp.messages[0].message["Subject"]

Modes (switchable at any time with `set_mode`):
- "accept": every message is accepted and recorded.
- "tempfail": the next `fail_times` DATA commands get a 4xx (`temp_reply`), then accept.
- "reject": every DATA gets a 5xx (`perm_reply`).
`down()` stops listening (connections are refused) and `up()` listens again on the
same port, for "server down, then back" tests. Optional STARTTLS (`tls_context`)
and AUTH (`users={"login": "password"}`; AUTH is only offered after STARTTLS
unless `auth_require_tls=False`).

The server runs in aiosmtpd's own thread, so it works with sync and async tests.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

DEFAULT_TEMP_REPLY = "451 4.3.0 Mailbox temporarily unavailable, try again later"
DEFAULT_PERM_REPLY = "554 5.7.1 Message rejected: policy violation"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Received:
    """One accepted message, as the server saw it."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    login: str | None
    tls: bool

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=policy.default)  # type: ignore[return-value]


class _Handler:
    def __init__(self, server: FakeSMTPServer) -> None:
        self.server = server

    async def handle_DATA(self, smtp: SMTP, session: Session, envelope: Envelope) -> str:
        return self.server._on_data(session, envelope)


class FakeSMTPServer:
    """aiosmtpd on 127.0.0.1 with scripted failures; see the module docstring."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        mode: str = "accept",
        fail_times: int = 1,
        temp_reply: str = DEFAULT_TEMP_REPLY,
        perm_reply: str = DEFAULT_PERM_REPLY,
        tls_context: ssl.SSLContext | None = None,
        require_starttls: bool = False,
        users: dict[str, str] | None = None,
        auth_require_tls: bool = True,
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.temp_reply = temp_reply
        self.perm_reply = perm_reply
        self.tls_context = tls_context
        self.require_starttls = require_starttls
        self.users = users
        self.auth_require_tls = auth_require_tls
        self.messages: list[Received] = []
        self.attempts = 0  # DATA commands seen, accepted or not
        self._lock = threading.Lock()
        self._controller: Controller | None = None
        self.set_mode(mode, fail_times=fail_times)

    # ------------------------------------------------------------ control

    def set_mode(self, mode: str, *, fail_times: int = 1) -> None:
        if mode not in ("accept", "tempfail", "reject"):
            raise ValueError(f"unknown mode {mode!r}")
        with self._lock:
            self.mode = mode
            self.fails_left = fail_times

    def start(self) -> FakeSMTPServer:
        self.up()
        return self

    def up(self) -> None:
        """Listen (again) on the same port."""
        if self._controller is not None:
            return
        kwargs: dict[str, Any] = {}
        if self.tls_context is not None:
            kwargs["tls_context"] = self.tls_context
            kwargs["require_starttls"] = self.require_starttls
        if self.users is not None:
            kwargs["authenticator"] = self._authenticate
            kwargs["auth_require_tls"] = self.auth_require_tls
            kwargs["auth_required"] = True
        controller = Controller(_Handler(self), hostname=self.host, port=self.port, **kwargs)
        # The port was just released by a previous controller; retry briefly if the OS holds it.
        deadline = time.monotonic() + 5
        while True:
            try:
                controller.start()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self._controller = controller

    def down(self) -> None:
        """Stop listening: new connections are refused until `up()`."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    stop = down

    def __enter__(self) -> FakeSMTPServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.down()

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Wait until `count` messages were accepted; the messages, or AssertionError."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} messages, got {len(self.messages)}")
            await asyncio.sleep(0.01)
        return list(self.messages)

    # ------------------------------------------------------------ server side

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword) or self.users is None:
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode("utf-8", "replace")
        ok = self.users.get(login) == auth_data.password.decode("utf-8", "replace")
        return AuthResult(success=ok, handled=False, auth_data=login if ok else None)

    def _on_data(self, session: Session, envelope: Envelope) -> str:
        with self._lock:
            self.attempts += 1
            if self.mode == "reject":
                return self.perm_reply
            if self.mode == "tempfail" and self.fails_left > 0:
                self.fails_left -= 1
                return self.temp_reply
            login = session.auth_data if isinstance(session.auth_data, str) else None
            data = envelope.original_content or envelope.content or b""
            self.messages.append(
                Received(
                    mail_from=str(envelope.mail_from),
                    rcpt_tos=tuple(envelope.rcpt_tos),
                    data=data if isinstance(data, bytes) else data.encode(),
                    login=login,
                    tls=session.ssl is not None,
                )
            )
        return "250 2.0.0 OK queued"
