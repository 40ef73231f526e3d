"""One IMAP connection (aioimaplib) and the protocol helpers the sync needs.

`ImapSession` wraps aioimaplib's client so that every command fails fast with
`ImapConnectionLost` when the socket drops (aioimaplib alone waits for its
timeout), adds STARTTLS and a read-only EXAMINE (which aioimaplib does not
track as a selected state), and reads UID FETCH answers incrementally, straight off the socket.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import re
import ssl
from collections.abc import AsyncIterator, Awaitable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import aioimaplib
from aioimaplib.aioimaplib import SELECTED, STOP_WAIT_SERVER_PUSH, Command, quoted

from adapters.base import ConfigurationError, PermanentError

T = TypeVar("T")

class ImapConnectionLost(Exception):
    """The connection dropped or a command timed out; reconnect and carry on."""


class ImapCommandFailed(Exception):
    """The server answered NO/BAD to a command."""


class ImapLoginRefused(PermanentError):
    """The server refused our LOGIN (wrong user name or password)."""


# ---------------------------------------------------------------- settings


@dataclass(frozen=True, slots=True)
class ImapSettings:
    host: str
    port: int
    tls: str  # "ssl" | "starttls" | "none"
    username: str
    folders: tuple[str, ...]
    mark_seen: bool
    move_to: str | None
    idle: bool
    poll_seconds: float
    batch_size: int
    timeout: float

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> ImapSettings:
        host = options.get("imap_host")
        if not host:
            raise ConfigurationError("imap_host is not set")
        tls = str(options.get("imap_tls", "ssl")).lower()
        if tls not in ("ssl", "starttls", "none"):
            raise ConfigurationError(f"imap_tls must be ssl, starttls or none, not {tls!r}")
        username = options.get("username")
        if not username:
            raise ConfigurationError("username is not set")
        folders = options.get("folders") or ["INBOX"]
        if isinstance(folders, str):
            folders = [folders]
        batch = int(options.get("batch_size", 200))
        if batch < 1:
            raise ConfigurationError("batch_size must be at least 1")
        return cls(
            host=str(host),
            port=int(options.get("imap_port") or (993 if tls == "ssl" else 143)),
            tls=tls,
            username=str(username),
            folders=tuple(str(f) for f in folders),
            mark_seen=bool(options.get("mark_seen", False)),
            move_to=options.get("move_to") or None,
            idle=bool(options.get("idle", True)),
            poll_seconds=float(options.get("poll_seconds", 60)),
            batch_size=batch,
            timeout=float(options.get("timeout_seconds", 30)),
        )


# ---------------------------------------------------------------- protocol helpers


def encode_mailbox(name: str) -> str:
    """A mailbox name as an IMAP quoted string, non-ASCII in modified UTF-7 (RFC 3501 5.1.3)."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            b64 = base64.b64encode("".join(pending).encode("utf-16-be")).decode().rstrip("=")
            out.append("&" + b64.replace("/", ",") + "-")
            pending.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    flush()
    text = "".join(out).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def message_set(uids: list[int]) -> str:
    """Sorted UIDs as a compact IMAP sequence set: 1:5,7,9:10."""
    parts: list[str] = []
    start = prev = uids[0]
    for uid in uids[1:]:
        if uid == prev + 1:
            prev = uid
            continue
        parts.append(f"{start}:{prev}" if prev != start else str(start))
        start = prev = uid
    parts.append(f"{start}:{prev}" if prev != start else str(start))
    return ",".join(parts)


_CODE_RE = re.compile(rb"\[(UIDVALIDITY|UIDNEXT) (\d+)\]")
_STATUS_RE = re.compile(rb"(UIDVALIDITY|UIDNEXT|MESSAGES) (\d+)")
_UID_RE = re.compile(rb"UID (\d+)")
_SIZE_RE = re.compile(rb"RFC822\.SIZE (\d+)")
_UNTAGGED_FETCH_RE = re.compile(rb"\* \d+ FETCH \(")


class _FetchReader:
    """Incremental parser of one UID FETCH (UID BODY.PEEK[]) answer, fed from data_received.

    Other untagged responses in between (EXISTS, EXPUNGE, a FETCH of flags) are skipped.
    Reading pauses while more than `MAX_BUFFERED` bytes wait to be taken.
    """

    MAX_BUFFERED = 8 * 1024 * 1024
    _LITERAL = re.compile(rb"\{(\d+)\}$")

    def __init__(self, tag: bytes, transport: Any) -> None:
        self._tag = tag + b" "
        self._transport = transport
        self._buf = bytearray()
        self._head = b""  # the response so far, before its literal
        self._want = -1  # literal bytes still to come; -1: reading a line
        self._body: bytes | None = None
        self._out: list[tuple[int, bytes]] = []
        self._buffered = 0
        self._paused = False
        self.ready = asyncio.Event()
        self.done = False
        self.failure = ""

    def feed(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        pos = 0
        while not self.done:
            if self._want >= 0:
                if len(buf) - pos < self._want:
                    break
                self._body = bytes(buf[pos : pos + self._want])
                pos += self._want
                self._want = -1
                continue
            end = buf.find(b"\r\n", pos)
            if end < 0:
                break
            line = bytes(buf[pos:end])
            pos = end + 2
            literal = self._LITERAL.search(line)
            if literal:
                self._head += line
                self._want = int(literal.group(1))
                continue
            self._line(self._head + line)
        del buf[:pos]
        if self._out or self.done:
            self.ready.set()
        if self._buffered > self.MAX_BUFFERED and not self._paused:
            self._paused = True
            self._transport.pause_reading()

    def _line(self, response: bytes) -> None:
        body, self._body, self._head = self._body, None, b""
        if response.startswith(self._tag):
            status = response[len(self._tag):]
            if not status.startswith(b"OK"):
                self.failure = status.decode("utf-8", "replace")
            self.done = True
        elif body is not None and _UNTAGGED_FETCH_RE.match(response):
            uid = _UID_RE.search(response)
            if uid:
                self._out.append((int(uid.group(1)), body))
                self._buffered += len(body)

    def take(self) -> list[tuple[int, bytes]]:
        out, self._out = self._out, []
        self._buffered = 0
        if not self.done:
            self.ready.clear()
        if self._paused:
            self._paused = False
            self._transport.resume_reading()
        return out


# ---------------------------------------------------------------- one connection


def _untrusted(s: ImapSettings, exc: ssl.SSLCertVerificationError) -> PermanentError:
    return PermanentError(f"TLS certificate of {s.host}:{s.port} not trusted: {exc.verify_message}")


class ImapSession:
    """One logged-in IMAP connection. Every command fails fast with ImapConnectionLost
    when the socket drops (aioimaplib alone would wait for its timeout)."""

    def __init__(self, settings: ImapSettings, password: str, ssl_context: ssl.SSLContext | None = None):
        self.settings = settings
        self._password = password
        self._ssl_context = ssl_context
        self.client: aioimaplib.IMAP4 | None = None
        self._lost: asyncio.Future[None] | None = None
        self.selected: str | None = None
        self.read_write = False

    @property
    def capabilities(self) -> set[str]:
        return set(self.client.protocol.capabilities) if self.client else set()

    def _on_lost(self, exc: Exception | None) -> None:
        if self._lost is not None and not self._lost.done():
            self._lost.set_result(None)

    async def _guard(self, aw: Awaitable[T]) -> T:
        """Run one command; raise ImapConnectionLost at once if the connection drops."""
        assert self._lost is not None
        task = asyncio.ensure_future(aw)
        try:
            done, _ = await asyncio.wait({task, self._lost}, return_when=asyncio.FIRST_COMPLETED)
        except BaseException:
            # Cancelled mid-command: the rest of the server's answer would confuse the next
            # command on this connection, so it is closed and the next use reconnects.
            task.cancel()
            self._abort()
            raise
        if task in done:
            try:
                return task.result()
            except (aioimaplib.CommandTimeout, TimeoutError) as exc:
                raise ImapConnectionLost(f"IMAP command timed out: {exc}") from exc
            except aioimaplib.Abort as exc:
                raise ImapConnectionLost(f"IMAP connection aborted: {exc}") from exc
            except ssl.SSLCertVerificationError:
                raise  # configuration, not a network hiccup: the caller makes it permanent
            except (ConnectionError, OSError) as exc:
                raise ImapConnectionLost(f"IMAP connection failed: {exc}") from exc
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        raise ImapConnectionLost("IMAP connection closed by the server")

    async def _ok(self, aw: Awaitable[Any], what: str) -> Any:
        resp = await self._guard(aw)
        if resp.result != "OK":
            text = b" ".join(x for x in resp.lines if isinstance(x, bytes)).decode("utf-8", "replace")
            raise ImapCommandFailed(f"{what}: {resp.result} {text}".strip())
        return resp

    async def connect(self) -> None:
        try:
            await self._connect()
        except BaseException:
            self._abort()  # a half-open session must not be logged out politely (it would hang)
            raise

    async def _connect(self) -> None:
        s = self.settings
        loop = asyncio.get_running_loop()
        self._lost = loop.create_future()
        ctx = self._ssl_context or ssl.create_default_context()
        if s.tls == "ssl":
            self.client = aioimaplib.IMAP4_SSL(host=s.host, port=s.port, timeout=s.timeout, ssl_context=ctx)
            self.client.protocol.conn_lost_cb = self._on_lost
        else:
            self.client = aioimaplib.IMAP4(
                host=s.host, port=s.port, timeout=s.timeout, conn_lost_cb=self._on_lost)
        try:
            await self._guard(self.client.wait_hello_from_server())
        except ssl.SSLCertVerificationError as exc:
            raise _untrusted(s, exc) from exc
        if s.tls == "starttls":
            await self._starttls(ctx)
        try:
            await self._ok(self.client.login(quoted(s.username), self._password), "LOGIN")
        except ImapCommandFailed as exc:
            if "[UNAVAILABLE]" in str(exc):  # RFC 5530: the server's auth backend is down; retry
                raise ImapConnectionLost(f"IMAP login on {s.host} temporarily failed: {exc}") from exc
            raise ImapLoginRefused(f"IMAP login as {s.username} on {s.host} refused: {exc}") from exc
        if "IDLE" not in self.capabilities and "UIDPLUS" not in self.capabilities:
            # Some servers only list their post-login capabilities when asked again.
            await self._guard(self.client.protocol.capability())

    async def _starttls(self, ctx: ssl.SSLContext) -> None:
        assert self.client is not None
        proto = self.client.protocol
        if "STARTTLS" not in proto.capabilities:
            raise PermanentError(f"{self.settings.host} does not offer STARTTLS (imap_tls = starttls)")
        await self._ok(proto.execute(Command("STARTTLS", proto.new_tag(), loop=proto.loop)), "STARTTLS")
        try:
            proto.transport = await asyncio.get_running_loop().start_tls(
                proto.transport, proto, ctx, server_hostname=self.settings.host)
        except ssl.SSLCertVerificationError as exc:
            raise _untrusted(self.settings, exc) from exc
        await self._guard(proto.capability())  # RFC 3501: forget pre-TLS capabilities

    async def close(self) -> None:
        client, self.client = self.client, None
        self.selected = None
        if client is None:
            return
        with contextlib.suppress(Exception):
            if self._lost is not None and not self._lost.done():
                await asyncio.wait_for(client.logout(), 2)
        with contextlib.suppress(Exception):
            if client.protocol.transport is not None:
                client.protocol.transport.close()

    def _abort(self) -> None:
        if self.client is not None and self.client.protocol.transport is not None:
            self.client.protocol.transport.abort()
        self._on_lost(None)

    @property
    def alive(self) -> bool:
        return self.client is not None and self._lost is not None and not self._lost.done()

    # ------------------------------------------------------------ commands

    async def status(self, folder: str) -> dict[str, int]:
        assert self.client is not None
        resp = await self._ok(self.client.status(encode_mailbox(folder), "(UIDNEXT UIDVALIDITY MESSAGES)"),
                              f"STATUS {folder}")
        out: dict[str, int] = {}
        for line in resp.lines:
            if isinstance(line, bytes) and b"UIDVALIDITY" in line:
                out.update({k.decode(): int(v) for k, v in _STATUS_RE.findall(line)})
        return out

    async def open_folder(self, folder: str, *, read_write: bool) -> dict[str, int]:
        """EXAMINE (read-only: nothing we do can change a flag) or SELECT when we must write."""
        assert self.client is not None
        if read_write:
            resp = await self._ok(self.client.select(encode_mailbox(folder)), f"SELECT {folder}")
        else:
            resp = await self._ok(self.client.examine(encode_mailbox(folder)), f"EXAMINE {folder}")
            self.client.protocol.state = SELECTED  # aioimaplib forgets EXAMINE selects a mailbox
        self.selected, self.read_write = folder, read_write
        out: dict[str, int] = {}
        for line in resp.lines:
            if isinstance(line, bytes):
                out.update({k.decode(): int(v) for k, v in _CODE_RE.findall(line)})
        return out

    async def deselect(self) -> None:
        """Leave the selected mailbox, so STATUS (which Dovecot answers from the stale session
        view for the selected mailbox) sees new mail. A failing EXAMINE deselects on every
        server (RFC 3501 6.3.1); UNSELECT is not in aioimaplib's command table."""
        assert self.client is not None
        if self.selected is None:
            return
        await self._guard(self.client.examine('"omnidesk/no such mailbox/deselect"'))
        self.selected, self.read_write = None, False

    async def uids_after(self, last_uid: int) -> list[int]:
        assert self.client is not None
        resp = await self._ok(self.client.uid_search(f"UID {last_uid + 1}:*", charset=None), "UID SEARCH")
        uids: list[int] = []
        for line in resp.lines[:-1]:  # the last line is the tagged "Search completed"
            if not isinstance(line, bytes):
                continue
            words = line.split()
            if words and words[0] == b"SEARCH":  # aioimaplib usually strips the keyword, not always
                words = words[1:]
            if all(w.isdigit() for w in words):
                uids.extend(int(w) for w in words)
        # "n:*" always matches the highest UID, even when it is below n.
        return sorted(u for u in uids if u > last_uid)

    async def sizes(self, uids: list[int]) -> dict[int, int]:
        """UID -> RFC822.SIZE (a short answer: aioimaplib's own parser is fine for it)."""
        assert self.client is not None
        resp = await self._ok(self.client.uid("fetch", message_set(uids), "(UID RFC822.SIZE)"), "UID FETCH")
        out: dict[int, int] = {}
        for line in resp.lines:
            if isinstance(line, bytes) and (uid := _UID_RE.search(line)) and (size := _SIZE_RE.search(line)):
                out[int(uid.group(1))] = int(size.group(1))
        return out

    async def stream_bodies(self, uids: list[int]) -> AsyncIterator[tuple[int, bytes]]:
        """(uid, body) of `uids` from ONE UID FETCH command, as the answer streams in.

        aioimaplib runs one FETCH at a time and re-scans the whole answer per chunk received,
        so for bulk fetches this reads the command's answer off the socket itself
        (`_FetchReader`): a range of thousands of messages is one round trip, and the first
        messages are handed out while the rest still arrive. Breaking off before the end
        closes the connection (the rest of the answer would confuse the next command).
        """
        assert self.client is not None and self._lost is not None
        proto = self.client.protocol
        tag = proto.new_tag()
        reader = _FetchReader(tag.encode(), proto.transport)
        proto.data_received = reader.feed  # type: ignore[method-assign]
        complete = False
        try:
            proto.send(f"{tag} UID FETCH {message_set(uids)} (UID BODY.PEEK[])")
            while True:
                if not reader.ready.is_set():
                    await self._guard(asyncio.wait_for(reader.ready.wait(), self.settings.timeout))
                finished = reader.done  # read before taking: more may arrive while we yield
                for item in reader.take():
                    yield item
                if finished:
                    break
            if reader.failure:
                raise ImapCommandFailed(f"UID FETCH: {reader.failure}")
            complete = True
        finally:
            del proto.data_received  # back to aioimaplib's own parser
            if not complete:
                self._abort()

    async def mark_seen(self, uids: list[int]) -> None:
        assert self.client is not None
        await self._ok(self.client.uid("store", message_set(uids), "+FLAGS.SILENT", r"(\Seen)"), "UID STORE")

    async def move(self, uids: list[int], dest: str) -> None:
        assert self.client is not None
        mset, target = message_set(uids), encode_mailbox(dest)
        if "MOVE" in self.capabilities:
            await self._ok(self.client.uid("move", mset, target), "UID MOVE")
            return
        await self._ok(self.client.uid("copy", mset, target), "UID COPY")
        await self._ok(self.client.uid("store", mset, "+FLAGS.SILENT", r"(\Deleted)"), "UID STORE")
        if "UIDPLUS" in self.capabilities:  # never a plain EXPUNGE: it would remove others' deletions
            await self._ok(self.client.uid("expunge", mset), "UID EXPUNGE")

    async def append(self, folder: str, raw: bytes, flags: str = r"(\Seen)") -> None:
        assert self.client is not None
        await self._ok(self.client.append(raw, mailbox=encode_mailbox(folder), flags=flags),
                       f"APPEND {folder}")

    async def idle(self, timeout: float) -> bool:
        """IDLE for up to `timeout` seconds; True when the server reported a change."""
        assert self.client is not None
        client = self.client
        idle_task = await self._guard(client.idle_start(timeout=timeout))
        changed = False
        try:
            while True:
                push = await self._guard(client.wait_server_push(timeout=timeout + 10))
                if push == STOP_WAIT_SERVER_PUSH:
                    break
                lines = push if isinstance(push, list) else [push]
                if any(isinstance(x, bytes) and (x.endswith((b"EXISTS", b"RECENT")) or b"FETCH" in x)
                       for x in lines):
                    changed = True
                    break
        finally:
            if self.alive and client.has_pending_idle():
                client.idle_done()
                with contextlib.suppress(Exception):
                    await self._guard(asyncio.wait_for(idle_task, self.settings.timeout))
        return changed
