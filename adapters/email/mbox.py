"""Split an mbox file into messages without loading it whole.

A message starts at a `From ` line at the start of the file (after an
optional UTF-8 BOM), after a blank line, or anywhere when the line has the
strict envelope shape (`From sender [asctime]`; Netscape mboxes omit the
blank line), and only when the lines that follow form a header block with a
known field. That keeps an unescaped
"From Russia with love" inside a body (mboxo files do not escape it) from
splitting a message in two; `Content-Length` headers are not trusted.
"""

from __future__ import annotations

import mmap
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

_FROM_LINE = re.compile(rb"(?:\A(?:\xef\xbb\xbf)?|\n)(From [^\r\n]*)\r?\n")
_HEADER_LINE = re.compile(rb"[!-9;-~]+[ \t]*:")
# "From sender" or "From sender Mon Jun  3 12:50:27 1996" (asctime, optional zone): an envelope line.
_ENVELOPE = re.compile(
    rb"From \S+(?: +[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]?\d \d\d:\d\d(?::\d\d)?(?: [A-Z+-]\w*)? \d{4})? *$"
)
_KNOWN = frozenset(
    {b"from", b"to", b"subject", b"date", b"message-id", b"received", b"return-path", b"mime-version",
     b"content-type", b"delivered-to", b"x-mozilla-status", b"sender", b"reply-to", b"cc", b"references",
     b"in-reply-to", b"x-original-to", b"envelope-to", b"status"}
)
#: How far past a `From ` line to look for the header block that makes it a separator.
_LOOKAHEAD = 16_384


@dataclass(frozen=True, slots=True)
class MboxEntry:
    """One message: its bytes are `data[offset:offset + length]` (From_ line excluded)."""

    offset: int
    length: int
    from_line: str

    @property
    def date(self) -> datetime | None:
        """The delivery time on the From_ line (`From sender Mon Jun  3 12:50:27 1996`)."""
        parts = self.from_line.split()
        if len(parts) < 6:
            return None
        try:
            return datetime.strptime(" ".join(parts[-5:]), "%a %b %d %H:%M:%S %Y").replace(tzinfo=UTC)
        except ValueError:
            return None


def _starts_headers(data: bytes | mmap.mmap, start: int) -> bool:
    """Do the lines at `start` look like a header block with at least one well-known field?"""
    chunk = bytes(data[start : start + _LOOKAHEAD])
    for line in chunk.splitlines():
        if not line.strip():
            return False  # blank line: end of the block without a known field
        if line[:1] in (b" ", b"\t"):
            continue
        if not _HEADER_LINE.match(line):
            return False
        if line.split(b":", 1)[0].strip().lower() in _KNOWN:
            return True
    return False


def split(data: bytes | mmap.mmap) -> list[MboxEntry]:
    """Every message in an mbox held in memory (bytes or an mmap)."""
    starts: list[tuple[int, int, str]] = []  # (line start, body start, from line)
    for match in _FROM_LINE.finditer(data):
        line_start = match.start(1)
        if line_start > 3 and not _blank_before(data, line_start) and not _ENVELOPE.match(match.group(1)):
            continue  # mid-body "From ..." lines need the strict envelope shape
        body = match.end()
        if not _starts_headers(data, body):
            continue
        starts.append((line_start, body, match.group(1).decode("latin-1").strip()))
    entries = []
    for index, (_, body, from_line) in enumerate(starts):
        end = starts[index + 1][0] if index + 1 < len(starts) else len(data)
        entries.append(MboxEntry(body, _trim_separator(data, body, end) - body, from_line))
    return entries


def _blank_before(data: bytes | mmap.mmap, line_start: int) -> bool:
    """The From_ line follows an empty line (LF or CRLF line ends)."""
    before = bytes(data[max(0, line_start - 4) : line_start])
    return before.endswith(b"\n\n") or before.endswith(b"\r\n\r\n") or before.endswith(b"\n\r\n")


def _trim_separator(data: bytes | mmap.mmap, start: int, end: int) -> int:
    """Drop the one blank line mbox puts between messages."""
    tail = bytes(data[max(start, end - 2) : end])
    if tail.endswith(b"\r\n"):
        return end - 2
    if tail.endswith(b"\n"):
        return end - 1
    return end


def iter_file(path: Path) -> Iterator[tuple[MboxEntry, bytes]]:
    """(entry, raw bytes) for each message of the mbox at `path` (memory-mapped)."""
    with open(path, "rb") as fh:
        try:
            mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:  # an empty file cannot be mapped
            return
        with mm:
            for entry in split(mm):
                yield entry, bytes(mm[entry.offset : entry.offset + entry.length])


def looks_like_mbox(path: Path) -> bool:
    """The file starts (after an optional BOM) with a `From ` line."""
    with open(path, "rb") as fh:
        head = fh.read(8)
    return head.removeprefix(b"\xef\xbb\xbf").startswith(b"From ")
