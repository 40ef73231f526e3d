"""Local Maildir: a reader for imports, and the `maildir` channel kind.

For teams that already run mbsync, fetchmail or a local MTA: omnidesk watches
the Maildir's `new/` and `cur/` and ingests what appears there; replies go out
through SMTP (adapters/email/smtp.py) when the channel has `smtp_*` options.

The cursor. A delivery writes into `tmp/` and renames into `new/`; the rename
sets the file's ctime, so ctime orders files by when they became visible.
The cursor is `{"v": 1, "before_ns": W, "recent": {name: ctime}}`: every file
with ctime < W has been ingested, and so have the listed (name, ctime) pairs. W
never passes `listing time - SETTLE_NS`, because a directory listing is not
atomic (a file renamed in while we list may be missed, but never with a
ctime older than the listing). A file moved from `new/` to `cur/` by a mail
client gets a new ctime and is read again; the core drops it as a duplicate
(same Message-ID). The core commits each batch with its cursor, so a crash
re-reads at most one batch and doubles nothing.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from adapters.base import (
    Batch,
    Capabilities,
    ConfigurationError,
    Inbound,
    Option,
    Outbound,
    ProbeStep,
    Receipt,
    SecretResolver,
)
from adapters.email.options import MAILDIR_OPTIONS

#: Files that became visible this recently stay above the cursor's watermark (seconds).
SETTLE_NS = 2_000_000_000
DEFAULT_BATCH = 200


@dataclass(frozen=True, slots=True)
class MaildirEntry:
    path: str  # as os.scandir gives it: a Path per file cost a second per 100,000 files
    name: str  # the unique part of the file name (before ":2,flags")
    ctime_ns: int
    mtime_ns: int

    @property
    def received_at(self) -> datetime:
        return datetime.fromtimestamp(self.mtime_ns / 1e9, UTC)


def is_maildir(path: Path) -> bool:
    return (Path(path) / "cur").is_dir() and (Path(path) / "new").is_dir()


def unique_name(filename: str) -> str:
    """`1700000000.M1P2Q3.host:2,S` -> `1700000000.M1P2Q3.host` (flags change, this does not)."""
    return filename.split(":", 1)[0].split("!", 1)[0]


_DIGITS = re.compile(r"\d*")  # a scan of 100,000 names: a char loop here cost a second


def _delivery_key(name: str) -> tuple[int, int, int, str]:
    """Order of delivery from the name `SECONDS.M<usec>P<pid>Q<n>.host` (numbers, not text)."""
    head, _, rest = name.partition(".")
    usec = pid_q = 0
    if rest.startswith("M"):
        usec = int(_DIGITS.match(rest, 1).group() or 0)  # type: ignore[union-attr]  # \d* always matches
        q = rest.find("Q")
        if q >= 0:
            pid_q = int(_DIGITS.match(rest, q + 1).group() or 0)  # type: ignore[union-attr]
    return (int(head) if head.isdigit() else 0, usec, pid_q, name)


def scan(path: Path) -> list[MaildirEntry]:
    """Every message file in `new/` and `cur/`, in delivery order (mtime, then name)."""
    entries: list[MaildirEntry] = []
    for sub in ("new", "cur"):
        try:
            iterator = os.scandir(Path(path) / sub)
        except FileNotFoundError:
            continue
        with iterator:
            for item in iterator:
                if item.name.startswith("."):
                    continue
                try:
                    st = item.stat()
                    if not item.is_file():
                        continue
                except FileNotFoundError:
                    continue  # moved by a mail client while we listed
                entries.append(MaildirEntry(item.path, unique_name(item.name), st.st_ctime_ns,
                                            st.st_mtime_ns))
    entries.sort(key=_mtime)
    # Names order only the files that share an mtime: rare, and parsing every name cost
    # a third of a 100,000-file scan.
    start = 0
    for end in range(1, len(entries) + 1):
        if end == len(entries) or entries[end].mtime_ns != entries[start].mtime_ns:
            if end - start > 1:
                entries[start:end] = sorted(entries[start:end], key=lambda e: _delivery_key(e.name))
            start = end
    return entries


def _mtime(entry: MaildirEntry) -> int:
    return entry.mtime_ns


def read_bytes(entry: MaildirEntry) -> bytes | None:
    """The file's bytes, or None when it vanished (moved new/ -> cur/ meanwhile)."""
    try:
        with open(entry.path, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        return None


# -- the cursor ---------------------------------------------------------------------


@dataclass(slots=True)
class MaildirCursor:
    """Watermark + the (name, ctime) pairs at or above it that are already ingested."""

    before_ns: int = 0
    recent: dict[str, int] = field(default_factory=dict)

    @classmethod
    def load(cls, value: str | None) -> MaildirCursor:
        if not value:
            return cls()
        try:
            data = json.loads(value)
            recent = {str(k): int(v) for k, v in data.get("recent", {}).items()}
            return cls(int(data.get("before_ns", 0)), recent)
        except (ValueError, TypeError, AttributeError):
            return cls()  # unreadable: read everything again; duplicates are dropped by the core

    def dump(self) -> str:
        return json.dumps({"v": 1, "before_ns": self.before_ns, "recent": dict(sorted(self.recent.items()))},
                          separators=(",", ":"))

    def pending(self, entries: list[MaildirEntry]) -> list[MaildirEntry]:
        """Entries not yet ingested, in the order they became visible.

        A name seen before but with another ctime (moved to cur/, re-delivered) is read again.
        """
        todo = [e for e in entries if e.ctime_ns >= self.before_ns and self.recent.get(e.name) != e.ctime_ns]
        todo.sort(key=lambda e: (e.ctime_ns, _delivery_key(e.name)))
        return todo

    def advance(self, done: list[MaildirEntry], remaining: list[MaildirEntry],
                listed_ns: int) -> MaildirCursor:
        """The cursor after `done` is committed; `remaining` are still to come from this listing."""
        limit = listed_ns - SETTLE_NS
        if remaining:
            limit = min(limit, remaining[0].ctime_ns)
        watermark = max(self.before_ns, limit)
        recent = dict(self.recent)
        recent.update((e.name, e.ctime_ns) for e in done)
        # Names below the watermark are covered by it.
        return MaildirCursor(watermark, {n: c for n, c in recent.items() if c >= watermark})


# -- the channel --------------------------------------------------------------------


class MaildirAdapter:
    """Channel kind `maildir`: watch a local Maildir, send replies by SMTP.

    Options: `path` (the Maildir), `address` (ours), `poll_seconds` (2),
    `batch_size` (200), and the email channel's `smtp_*` keys for replies.
    """

    kind: ClassVar[str] = "maildir"
    # Replies go out by SMTP (`smtp_*` options), so it answers as mail does.
    capabilities: ClassVar[Capabilities] = Capabilities(
        addresses=frozenset({"email"}), subject=True, html=True, attachments=True)
    #: Maildir keys are still validated by the core's own tables (omnidesk/config.py).
    options: ClassVar[tuple[Option, ...]] = MAILDIR_OPTIONS

    def __init__(self, name: str, options: Mapping[str, Any], secret: SecretResolver) -> None:
        self.name = name
        self.options = dict(options)
        self.secret = secret
        path = self.options.get("path")
        if not path:
            raise ConfigurationError(f"channel {name!r}: `path` (the Maildir directory) is required")
        self.path = Path(os.path.expanduser(str(path)))
        self.poll_seconds = float(self.options.get("poll_seconds", 2))
        self.batch_size = int(self.options.get("batch_size", DEFAULT_BATCH))

    async def poll(self, cursor: str | None) -> AsyncIterator[Batch]:
        import asyncio  # here, not with the class: `omnidesk list` reads the config without an event loop

        if not is_maildir(self.path):
            raise ConfigurationError(
                f"channel {self.name!r}: {self.path} is not a Maildir (no cur/ and new/)"
            )
        state = MaildirCursor.load(cursor)
        listed_ns = time.time_ns()
        entries = await asyncio.to_thread(scan, self.path)
        todo = state.pending(entries)
        for start in range(0, len(todo), self.batch_size):
            done = todo[start : start + self.batch_size]
            records = await asyncio.to_thread(_parse_entries, done)
            state = state.advance(done, todo[start + self.batch_size :], listed_ns)
            yield Batch(records, state.dump())

    async def wait_for_changes(self, timeout: float) -> None:
        """Return when `new/` or `cur/` changed, or after min(timeout, poll_seconds)."""
        import asyncio

        deadline = time.monotonic() + max(0.0, min(timeout, self.poll_seconds))
        before = _dir_stamp(self.path)
        while time.monotonic() < deadline:
            await asyncio.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
            if _dir_stamp(self.path) != before:
                return

    async def send(self, outbound: Outbound) -> Receipt:
        if not self.options.get("smtp_host"):
            raise ConfigurationError(f"channel {self.name!r}: replies need `smtp_host` (and smtp_* options)")
        from adapters.email.smtp import send_email

        options = dict(self.options)
        options.setdefault("address", self.options.get("address"))
        return await send_email(options, self.secret, outbound)

    async def probe(self) -> list[ProbeStep]:
        """The Maildir is there and readable; then the SMTP login, when replies go by SMTP."""
        from adapters.email.probe import probe_outgoing

        if is_maildir(self.path) and os.access(self.path / "new", os.R_OK | os.X_OK):
            found = ProbeStep("maildir", "ok", str(self.path))
        else:
            found = ProbeStep("maildir", "fail", f"{self.path} is not a readable Maildir (no cur/ and new/)")
        return [found, *await probe_outgoing(self.options, self.secret)]

    async def close(self) -> None:
        return None


def _dir_stamp(path: Path) -> tuple[int, int]:
    stamps = []
    for sub in ("new", "cur"):
        try:
            stamps.append(os.stat(path / sub).st_mtime_ns)
        except FileNotFoundError:
            stamps.append(0)
    return (stamps[0], stamps[1])


def _parse_entries(entries: list[MaildirEntry]) -> list[Inbound]:
    from adapters.email import mime  # here, not with the class: reading the config must stay cheap

    records = []
    for entry in entries:
        raw = read_bytes(entry)
        if raw is None or not raw.strip():
            continue  # vanished (it will show up again under cur/) or empty: nothing to keep
        records.append(mime.parse(raw, fallback_date=entry.received_at))
    return records
