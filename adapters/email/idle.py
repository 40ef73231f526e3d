"""Waiting for new mail on every folder: IDLE on each, one connection per folder, polling the rest.

IDLE (RFC 2177) watches the selected folder only, so the sync connection IDLEs
on the first folder and each further folder gets a connection of its own, up to
`MAX_IDLE_FOLDERS` in all (servers cap connections per user: Dovecot's default
is 10, and the Sent-copy connection needs one). Folders beyond the cap, and a
folder whose watcher cannot connect or select, are polled every `poll_seconds`.
NOTIFY (RFC 5465) would need one connection for all, but aioimaplib has no
support for its untagged STATUS responses; per-folder IDLE works on every
server that has IDLE.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable

from adapters.email.imapconn import ImapCommandFailed, ImapConnectionLost, ImapSession

#: Folders watched with IDLE at once (the sync connection's included); the rest are polled.
MAX_IDLE_FOLDERS = 6


async def idle_on(session: ImapSession, folder: str, seen: dict[str, int], deadline: float,
                  renew_seconds: float, on_idle: Callable[[], None]) -> bool:
    """Select `folder` read-only and IDLE until it changes (True) or `deadline` passes (False).

    `seen` holds each folder's UIDNEXT as of the last poll: mail that landed after it is
    already in the fresh selection, and IDLE would never announce it.
    """
    loop = asyncio.get_running_loop()
    try:
        info = await session.open_folder(folder, read_write=False)
        if info.get("UIDNEXT", 0) > seen.setdefault(folder, info.get("UIDNEXT", 0)):
            return True
        # Re-issue IDLE on the same selection until something changes or time is up;
        # anything arriving between DONE and the next IDLE is reported when it starts.
        while (remaining := deadline - loop.time()) > 0.01:
            on_idle()
            if await session.idle(min(remaining, renew_seconds)):
                return True
        return False
    finally:
        if session.alive:
            await session.deselect()


class FolderWatchers:
    """The connections that IDLE on the folders after the first, kept between waits."""

    def __init__(self, connect: Callable[[], Awaitable[ImapSession]]) -> None:
        self._connect = connect
        self._sessions: dict[str, ImapSession] = {}

    async def wait(self, folder: str, seen: dict[str, int], deadline: float, renew_seconds: float,
                   on_idle: Callable[[], None], poll_seconds: float) -> bool:
        """IDLE on `folder` on its own connection; a folder that cannot be watched is polled."""
        loop = asyncio.get_running_loop()
        try:
            session = self._sessions.get(folder)
            if session is None or not session.alive:
                await self._drop(folder)
                session = await self._connect()
                self._sessions[folder] = session
            return await idle_on(session, folder, seen, deadline, renew_seconds, on_idle)
        except (ImapConnectionLost, ImapCommandFailed, OSError, TimeoutError):
            await self._drop(folder)
            await asyncio.sleep(max(0.0, min(deadline - loop.time(), poll_seconds)))
            return True  # polled: the next poll looks

    async def _drop(self, folder: str) -> None:
        session = self._sessions.pop(folder, None)
        if session is not None:
            await session.close()

    async def close(self) -> None:
        for folder in list(self._sessions):
            await self._drop(folder)


async def first_change(waits: Iterable[Awaitable[bool]]) -> None:
    """Run the waits together until one reports a change (or raises: re-raised) or all end."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        pending = set(tasks)
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task.result():  # re-raises a failed wait
                    return
    finally:
        for task in tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*tasks, return_exceptions=True)
