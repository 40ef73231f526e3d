"""Every message in ../shared/corpora/email parses, and agrees with policy.default where it can.

mbox files are split first (adapters/email/mbox.py). For each message, the
decoded Subject and the first From mailbox (display name, address) must equal
what `email.policy.default` gives, wherever policy.default itself decodes
them: it raises on some headers, and marks undecodable ones with CharsetError /
UndecodableBytesDefect or U+FFFD, and there we are allowed to do better.
"""

from __future__ import annotations

import email
import time
from email import policy
from pathlib import Path

import pytest

from adapters.base import FLAG_QUARANTINED
from adapters.email import mbox, mime

SOURCES = ("enmime", "flanker", "letters", "mail", "mimekit", "sisimai", "talon")
MBOX_FILES = {
    "mimekit/mbox/content-length.mbox.txt": 29,
    "mimekit/mbox/issue1189.mbox.txt": 4,
    "mimekit/mbox/simple.mbox.txt": 3,
    "mimekit/mbox/unmunged.mbox.txt": 2,  # "From Russia with love" in the bodies is not a separator
    "sisimai/mailbox/mbox-0": 37,
}
_UNDECODED = {"CharsetError", "UndecodableBytesDefect"}


def _messages(root: Path, source: str) -> list[tuple[str, bytes]]:
    out = []
    for path in sorted((root / "email" / source).rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(root / "email").as_posix()
        data = path.read_bytes()
        if rel in MBOX_FILES:
            entries = mbox.split(data)
            assert len(entries) == MBOX_FILES[rel], rel
            out.extend((f"{rel}#{i}", data[e.offset : e.offset + e.length]) for i, e in enumerate(entries))
        else:
            out.append((rel, data))
    return out


def _decoded(header: object) -> bool:
    defects = getattr(header, "defects", ())
    return not any(type(d).__name__ in _UNDECODED for d in defects) and "\ufffd" not in str(header)


def policy_default_view(raw: bytes) -> tuple[str | None, tuple[str, str] | None]:
    """(subject, (display name, address)) as policy.default decodes them, None where it cannot."""
    msg = email.message_from_bytes(raw, policy=policy.default)
    subject = sender = None
    try:
        header = msg["subject"]
        if header is not None and _decoded(header):
            subject = str(header)
    except Exception:
        pass
    try:
        header = msg["from"]
        if header is not None and _decoded(header) and header.addresses and header.addresses[0].addr_spec:
            sender = (header.addresses[0].display_name, header.addresses[0].addr_spec)
    except Exception:
        pass
    return subject, sender


@pytest.mark.parametrize("source", SOURCES)
def test_every_corpus_message_parses_and_matches_policy_default(corpora: Path, source: str) -> None:
    problems: list[str] = []
    compared = 0
    for name, raw in _messages(corpora, source):
        record = mime.parse(raw)  # must not raise
        if any(d.startswith("ParseError") for d in record.defects):
            problems.append(f"{name}: {record.defects}")
        assert record.raw == raw
        if not raw.strip():
            assert FLAG_QUARANTINED in record.flags
            continue
        subject, sender = policy_default_view(raw)
        if subject is not None:
            compared += 1
            if record.subject != subject:
                problems.append(f"{name}: subject {record.subject!r} != {subject!r}")
        if sender is not None:
            compared += 1
            if (record.sender.display_name, record.sender.address) != sender:
                problems.append(f"{name}: from {record.sender!r} != {sender!r}")
    assert not problems, "\n".join(problems[:30])
    assert compared > 10


def test_corpus_covers_every_file(corpora: Path) -> None:
    """The sources above are every folder of the corpus (a new folder must be added here)."""
    folders = {p.name for p in (corpora / "email").iterdir() if p.is_dir()}
    assert folders == set(SOURCES)


def test_whole_corpus_parses_quickly(corpora: Path) -> None:
    """1,300 files including the 3,000-part and torture messages: seconds, not minutes."""
    started = time.perf_counter()
    count = 0
    for source in SOURCES:
        for _, raw in _messages(corpora, source):
            mime.parse(raw)
            count += 1
    assert count > 1300
    assert time.perf_counter() - started < 60
