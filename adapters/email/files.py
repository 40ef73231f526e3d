"""Mail in local files for `omnidesk import`: a Maildir, an mbox, single .eml files.

Registered in the `omnidesk.importers` entry-point group as kind `email`; the
core reaches it only through omnidesk/registry.py (adapters.base.FileImport).
"""

from __future__ import annotations

import mmap
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from adapters.base import Inbound, LocalMessage, SourceError
from adapters.email import maildir, mbox, mime


class EmailFiles:
    """adapters.base.FileImport for mail: `find` by format, `parse` with adapters.email.mime."""

    formats: ClassVar[tuple[str, ...]] = ("maildir", "mbox", "eml")

    @staticmethod
    def find(fmt: str, paths: Sequence[Path]) -> list[LocalMessage]:
        if fmt == "maildir":
            return [m for path in paths for m in _maildir(Path(path))]
        if fmt == "mbox":
            return [m for path in paths for m in _mbox(Path(path))]
        if fmt == "eml":
            return _eml(paths)
        raise SourceError(f"mail comes as {', '.join(EmailFiles.formats)}, not {fmt!r}")

    @staticmethod
    def parse(raw: bytes, fallback_date: datetime | None) -> Inbound:
        return mime.parse(raw, fallback_date=fallback_date)

    @staticmethod
    def message_id(raw: bytes) -> str | None:
        return mime.message_id_of(raw)


def _maildir(path: Path) -> list[LocalMessage]:
    """Every message of a Maildir (new/ and cur/), in delivery order."""
    if not maildir.is_maildir(path):
        raise SourceError(f"{path} is not a Maildir (it needs cur/ and new/ directories)")
    return [LocalMessage(e.path, 0, -1, e.mtime_ns / 1e9) for e in maildir.scan(path)]


def _mbox(path: Path) -> list[LocalMessage]:
    """Every message of an mbox file."""
    if not path.is_file():
        raise SourceError(f"{path} is not a file")
    if path.stat().st_size == 0:
        return []
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        entries = mbox.split(mm)
    jobs = []
    for entry in entries:
        date = entry.date
        jobs.append(LocalMessage(str(path), entry.offset, entry.length, date.timestamp() if date else None))
    return jobs


def _eml(paths: Sequence[Path]) -> list[LocalMessage]:
    """One message per file; a file that turns out to be an mbox of several messages is split."""
    jobs: list[LocalMessage] = []
    for path in map(Path, paths):
        if not path.is_file():
            raise SourceError(f"{path} is not a file")
        if path.stat().st_size and mbox.looks_like_mbox(path):
            split = _mbox(path)
            if len(split) > 1:
                jobs.extend(split)
                continue
        jobs.append(LocalMessage(str(path), received_ts=path.stat().st_mtime))
    return jobs
