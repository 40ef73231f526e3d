"""IMAP sync for the email channel (aioimaplib).

Sync state is a JSON cursor per folder: UIDVALIDITY and the last UID the core has
committed. A poll asks the server one STATUS per folder (UIDNEXT, UIDVALIDITY);
only when something is new does it EXAMINE the folder, list the new UIDs and fetch
them with BODY.PEEK[] in batches, so the server's flags are never changed unless
`mark_seen` / `move_to` are configured (then applied only after the core has
committed the batch). `\\Seen` is never sync state: mail another client has read
is still new to us. A UIDVALIDITY change restarts the folder from UID 1; the core
drops the duplicates by Message-ID and content hash.

Waiting uses IDLE on every folder when the server offers it (adapters/email/idle.py;
re-issued every `idle_renew_seconds`, below the 29-minute limit of RFC 2177), polling
otherwise. Dropped connections, server restarts and timeouts are retried with exponential
backoff and full jitter.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import random
import ssl
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any

from adapters.base import (
    FLAG_QUARANTINED,
    Address,
    Batch,
    ConfigurationError,
    Inbound,
    SecretResolver,
    TransientError,
    unreachable_reason,
)
from adapters.email import mime
from adapters.email.idle import MAX_IDLE_FOLDERS, FolderWatchers, first_change, idle_on
from adapters.email.imapconn import (
    ImapCommandFailed,
    ImapConnectionLost,
    ImapSession,
    ImapSettings,
    encode_mailbox,
    message_set,
)

__all__ = [
    "ImapCommandFailed", "ImapConnectionLost", "ImapSession", "ImapSettings", "ImapSync",
    "decode", "dump_cursor", "encode_mailbox", "load_cursor", "message_set",
]


class ImapUnreachable(ImapConnectionLost):
    """Connecting failed outright: the port refused it, or the host name does not resolve."""


#: Never hold more than this many message bytes in one batch (one huge message still goes alone).
MAX_BATCH_BYTES = 32 * 1024 * 1024
#: UIDs per UID FETCH command when nothing changes flags between batches: one round trip for
#: thousands of messages, read as they stream in (ImapSession.stream_bodies).
FETCH_SPAN = 5000


# ---------------------------------------------------------------- cursor


def load_cursor(cursor: str | None) -> dict[str, dict[str, int]]:
    """Folder -> {"uidvalidity", "last_uid"}; an empty or foreign cursor means "from the start"."""
    if not cursor:
        return {}
    try:
        data = json.loads(cursor)
        folders = data["folders"]
        return {
            str(name): {"uidvalidity": int(v["uidvalidity"]), "last_uid": int(v["last_uid"])}
            for name, v in folders.items()
        }
    except (ValueError, KeyError, TypeError, AttributeError):
        return {}


def dump_cursor(state: Mapping[str, Mapping[str, int]]) -> str:
    return json.dumps({"v": 1, "folders": state}, sort_keys=True, separators=(",", ":"))

# ---------------------------------------------------------------- sync


def _fallback_record(raw: bytes, exc: BaseException) -> Inbound:
    """The parser must never raise; if it does, keep the bytes quarantined rather than drop them."""
    digest = hashlib.sha256(raw).hexdigest()
    return Inbound(
        external_id=f"<sha256-{digest}@quarantine.omnidesk.invalid>",
        sender=Address("email", ""),
        sent_at=datetime.now(UTC),
        text="",
        raw=raw,
        defects=(f"parser raised {type(exc).__name__}: {exc}",),
        flags=frozenset({FLAG_QUARANTINED}),
    )


def decode(raw: bytes, meta: Mapping[str, Any]) -> Inbound:
    """One fetched message as an Inbound carrying its folder, UID and UIDVALIDITY (`Batch.decode`).

    Module-level, so the core can run it in a worker process.
    """
    try:
        record = mime.parse(raw)
    except Exception as exc:  # the parser promises not to raise; never drop mail if it does
        record = _fallback_record(raw, exc)
    record.meta = {**record.meta, **meta}
    return record


class ImapSync:
    """Incremental, resumable IMAP sync for one account (the IMAP half of EmailAdapter)."""

    #: IDLE is ended and re-issued this often (RFC 2177: servers may drop it after 30 min).
    idle_renew_seconds: float = 25 * 60
    #: First reconnect delay; doubles per failure up to `reconnect_cap_seconds`, with full jitter.
    reconnect_base_seconds: float = 0.5
    reconnect_cap_seconds: float = 60.0
    #: Failures in a row inside one poll before giving up with TransientError.
    max_reconnects: int = 6

    def __init__(
        self,
        settings: ImapSettings,
        secret: SecretResolver,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.settings = settings
        self._secret = secret
        self._ssl_context = ssl_context
        self._session: ImapSession | None = None
        self._lock = asyncio.Lock()  # one command stream: poll and IDLE take turns
        self._append_session: ImapSession | None = None  # Sent copies: see append()
        self._append_lock = asyncio.Lock()
        self._watchers = FolderWatchers(self._new_session)  # IDLE on the folders after the first
        self._uidnext: dict[str, int] = {}  # per folder, as of the last poll: IDLE compares against it
        self.connects = 0  # for tests and `doctor`: how often we (re)connected
        self.idles = 0  # IDLE commands issued

    # ------------------------------------------------------------ connection

    def backoff(self, failures: int) -> float:
        """Exponential backoff with full jitter (AWS architecture blog's recommendation)."""
        ceiling = min(self.reconnect_cap_seconds, self.reconnect_base_seconds * 2 ** max(0, failures - 1))
        return random.uniform(ceiling / 2, ceiling)

    async def session(self) -> ImapSession:
        if self._session is not None and self._session.alive:
            return self._session
        await self.drop()
        session = ImapSession(self.settings, self._secret("password"), self._ssl_context)
        try:
            await session.connect()
        except (TimeoutError, ImapConnectionLost, OSError) as exc:
            await session.close()
            where = f"{self.settings.host}:{self.settings.port}"
            reason = unreachable_reason(exc)
            if reason is not None:
                raise ImapUnreachable(f"cannot connect to {where}: {reason}") from exc
            raise ImapConnectionLost(f"cannot connect to {where}: {exc}") from exc
        except BaseException:
            await session.close()
            raise
        self.connects += 1
        self._session = session
        return session

    async def drop(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    # ------------------------------------------------------------ poll

    async def poll(self, cursor: str | None) -> AsyncIterator[Batch]:
        """Batches of new messages, parsed, each with the cursor to commit with it.

        The next messages keep streaming in while a batch is parsed (in a thread).
        """
        async with contextlib.aclosing(self.poll_undecoded(cursor)) as batches:
            async for batch in batches:
                yield Batch(await asyncio.to_thread(batch.decoded), batch.cursor)

    async def poll_undecoded(self, cursor: str | None) -> AsyncIterator[Batch]:
        """Batches of new messages as raw bytes (`Batch.undecoded`, decoded by `decode`).

        Resumes after a dropped connection from the last batch handed out. A server
        that cannot be reached at all (refused, unresolvable) before this poll got a
        connection fails the poll at once: the caller decides whether to wait and retry. Flag
        changes (mark_seen / move_to) for a batch happen when the consumer asks for
        the next one, so those batches are `commit_first`.
        """
        state = load_cursor(cursor)
        failures = 0
        reached = False  # has this poll talked to the server yet?
        pending_after: tuple[str, list[int]] | None = None
        for folder in self.settings.folders:
            while True:
                try:
                    async with self._lock:
                        if pending_after is not None:
                            await self._after_commit(*pending_after)
                            pending_after = None
                        plan = await self._plan(folder, state)
                    reached = True
                    if plan is None:
                        break
                    # aclosing: an error below must stop the fetch pipeline now, not at GC time.
                    async with contextlib.aclosing(self._fetch(folder, state, plan)) as fetched:
                        async for undecoded, uids, new_state in fetched:
                            yield Batch([], dump_cursor(new_state), undecoded=undecoded, decode=decode,
                                        commit_first=bool(self.settings.mark_seen or self.settings.move_to))
                            # Resumed: the consumer committed the batch, flags may change now
                            # (retried after a reconnect through `pending_after`).
                            state = new_state
                            failures = 0
                            if uids and (self.settings.mark_seen or self.settings.move_to):
                                pending_after = (folder, uids)
                                async with self._lock:
                                    await self._after_commit(folder, uids)
                                pending_after = None
                    break
                except ImapCommandFailed as exc:
                    # NO/BAD is the server's considered answer, not a dropped line: report it.
                    raise TransientError(f"IMAP sync of {folder}: {exc}") from exc
                except ImapConnectionLost as exc:
                    await self.drop()
                    if isinstance(exc, ImapUnreachable) and not reached:
                        raise TransientError(f"IMAP: {exc}") from exc
                    failures += 1
                    if failures > self.max_reconnects:
                        raise TransientError(f"IMAP sync of {folder} failed {failures} times: {exc}") from exc
                    await asyncio.sleep(self.backoff(failures))

    async def _plan(self, folder: str, state: dict[str, dict[str, int]]) -> dict[str, int] | None:
        """STATUS the folder (one round trip); None when nothing is new."""
        session = await self.session()
        await session.deselect()
        try:
            st = await session.status(folder)
        except ImapCommandFailed as exc:
            raise ConfigurationError(f"IMAP folder {folder!r} cannot be read: {exc}") from exc
        self._uidnext[folder] = st.get("UIDNEXT", 0)
        known = state.get(folder)
        unchanged = known is not None and known["uidvalidity"] == st.get("UIDVALIDITY")
        if unchanged and st.get("UIDNEXT", 0) <= known["last_uid"] + 1:  # type: ignore[index]
            return None
        return st

    async def _fetch(
        self, folder: str, state: dict[str, dict[str, int]], plan: dict[str, int]
    ) -> AsyncIterator[tuple[list[tuple[bytes, dict[str, Any]]], list[int], dict[str, dict[str, int]]]]:
        s = self.settings
        async with self._lock:
            session = await self.session()
            info = await session.open_folder(folder, read_write=bool(s.mark_seen or s.move_to))
            validity = info.get("UIDVALIDITY") or plan.get("UIDVALIDITY", 0)
            self._uidnext[folder] = max(self._uidnext.get(folder, 0), info.get("UIDNEXT", 0))
            known = state.get(folder)
            last = known["last_uid"] if known and known["uidvalidity"] == validity else 0
            uids = await session.uids_after(last)
        if not uids:
            # Nothing to fetch, yet STATUS said something changed: a new UIDVALIDITY, or mail
            # that came and was expunged. Move the cursor to UIDNEXT - 1 (UIDs only grow) so
            # the next poll is a single STATUS again.
            top = max(last, info.get("UIDNEXT", 1) - 1)
            if not known or known["uidvalidity"] != validity or known["last_uid"] != top:
                yield [], [], {**state, folder: {"uidvalidity": validity, "last_uid": top}}
            return
        rw = bool(s.mark_seen or s.move_to)
        # Large ranges, one UID FETCH each, handed out while they stream in. With mark_seen or
        # move_to the flags change between batches on this connection, so a range is one batch
        # (at most batch_size messages and MAX_BATCH_BYTES), fetched whole before it is handed out.
        span = s.batch_size if rw else FETCH_SPAN
        for i in range(0, len(uids), span):
            for part in await self._by_size(folder, uids[i : i + span]) if rw else [uids[i : i + span]]:
                async with contextlib.aclosing(self._stream(folder, part, rw, validity)) as groups:
                    async for undecoded, top in groups:
                        got = [meta["imap"]["uid"] for _, meta in undecoded]
                        after = {"uidvalidity": validity, "last_uid": top}
                        if not got and (top is None or state.get(folder) == after):
                            continue
                        if top is not None:
                            state = {**state, folder: after}
                        yield undecoded, got, state
        async with self._lock:
            if self._session is not None and self._session.alive:
                await self._session.deselect()

    async def _stream(
        self, folder: str, chunk: list[int], rw: bool, validity: int
    ) -> AsyncIterator[tuple[list[tuple[bytes, dict[str, Any]]], int | None]]:
        """Groups of at most batch_size messages (and MAX_BATCH_BYTES) from one UID FETCH of
        `chunk`, each with the highest UID up to which all of `chunk` has arrived (None: not
        past the first yet), so the cursor never passes a message still on its way. The last
        group ends at `chunk[-1]`: UIDs missing then were expunged meanwhile."""
        s = self.settings
        group: list[tuple[bytes, dict[str, Any]]] = []
        size = done = 0
        arrived: set[int] = set()
        async with self._lock:
            session = await self.session()
            if session.selected != folder:
                await session.open_folder(folder, read_write=rw)
            async with contextlib.aclosing(session.stream_bodies(chunk)) as bodies:
                async for uid, body in bodies:
                    group.append((body, {"imap": {"folder": folder, "uid": uid, "uidvalidity": validity}}))
                    arrived.add(uid)
                    size += len(body)
                    # rw: the whole chunk, once the lock is free again (flags change after it).
                    if not rw and (len(group) >= s.batch_size or size >= MAX_BATCH_BYTES):
                        while done < len(chunk) and chunk[done] in arrived:
                            done += 1
                        yield group, chunk[done - 1] if done else None
                        group, size = [], 0
        yield group, chunk[-1]

    async def _by_size(self, folder: str, chunk: list[int]) -> list[list[int]]:
        """`chunk` cut into runs of at most MAX_BATCH_BYTES (one huge message goes alone)."""
        async with self._lock:
            session = await self.session()
            if session.selected != folder:
                await session.open_folder(folder, read_write=True)
            sizes = await session.sizes(chunk)
        parts: list[list[int]] = []
        total = 0
        for uid in chunk:
            if uid not in sizes:
                continue  # expunged meanwhile
            if not parts or (parts[-1] and total + sizes[uid] > MAX_BATCH_BYTES):
                parts.append([])
                total = 0
            parts[-1].append(uid)
            total += sizes[uid]
        return parts

    async def _after_commit(self, folder: str, uids: list[int]) -> None:
        session = await self.session()
        if session.selected != folder or not session.read_write:
            await session.open_folder(folder, read_write=True)
        if self.settings.mark_seen:
            await session.mark_seen(uids)
        if self.settings.move_to:
            await session.move(uids, self.settings.move_to)
        await session.deselect()

    # ------------------------------------------------------------ waiting

    async def wait_for_changes(self, timeout: float) -> None:
        """Return when any folder may have new mail (IDLE on each, adapters/email/idle.py), or after
        a poll interval: without IDLE, or when some folders are beyond MAX_IDLE_FOLDERS."""
        s = self.settings
        watched = s.folders[:MAX_IDLE_FOLDERS]
        limit = timeout if len(watched) == len(s.folders) else min(timeout, s.poll_seconds)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        try:
            async with self._lock:
                session = await self.session()
                can_idle = s.idle and "IDLE" in session.capabilities
            if not can_idle:
                await asyncio.sleep(min(limit, s.poll_seconds))
                return
            await first_change([
                self._idle_first(watched[0], deadline),
                *(self._watchers.wait(folder, self._uidnext, deadline, self.idle_renew_seconds,
                                      self._count_idle, s.poll_seconds) for folder in watched[1:]),
            ])
        except (ImapConnectionLost, ImapCommandFailed):
            # The next poll reconnects (with backoff) and reports; just do not spin.
            await self.drop()
            await asyncio.sleep(min(max(0.0, deadline - loop.time()), self.backoff(1)))

    async def _idle_first(self, folder: str, deadline: float) -> bool:
        """IDLE on the first folder over the sync connection (poll and IDLE take turns on it)."""
        async with self._lock:
            session = await self.session()
            return await idle_on(session, folder, self._uidnext, deadline, self.idle_renew_seconds,
                                 self._count_idle)

    def _count_idle(self) -> None:
        self.idles += 1

    async def _new_session(self) -> ImapSession:
        """A connection of its own (folder watchers), closed again if it cannot log in."""
        session = ImapSession(self.settings, self._secret("password"), self._ssl_context)
        try:
            await session.connect()
        except BaseException:
            await session.close()
            raise
        return session

    # ------------------------------------------------------------ sent copies

    async def append(self, folder: str, raw: bytes) -> None:
        """APPEND our own sent message (marked \\Seen) to `folder`.

        Uses its own connection: the sync connection may sit in IDLE for minutes,
        and a reply's Sent copy must not wait for it. Reconnects once if the kept
        connection went stale.
        """
        async with self._append_lock:
            for attempt in (1, 2):
                session = self._append_session
                try:
                    if session is None or not session.alive:
                        if session is not None:
                            await session.close()
                        session = ImapSession(self.settings, self._secret("password"), self._ssl_context)
                        self._append_session = session
                        await session.connect()
                    await session.append(folder, raw)
                    return
                except (ImapConnectionLost, OSError) as exc:
                    await session.close()
                    self._append_session = None
                    if attempt == 2:
                        raise ImapConnectionLost(
                            f"cannot append to {folder} on {self.settings.host}:{self.settings.port}: {exc}"
                        ) from exc

    async def close(self) -> None:
        await self.drop()
        await self._watchers.close()
        async with self._append_lock:
            if self._append_session is not None:
                await self._append_session.close()
                self._append_session = None

