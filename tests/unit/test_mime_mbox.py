"""adapters/email/mbox.py: splitting mbox files (From_ lines, BOMs, unescaped From in bodies)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from adapters.email import mbox, mime


def test_unmunged_from_lines_do_not_split(corpora: Path) -> None:
    path = corpora / "email/mimekit/mbox/unmunged.mbox.txt"
    messages = [mime.parse(raw) for _, raw in mbox.iter_file(path)]
    assert [m.subject for m in messages] == [
        "This is a test message with an unmunged From line",
        "Another test message with an unmunged From line",
    ]
    assert "From Russia with love" in messages[0].text
    assert "Year: 1963" in messages[1].text


def test_netscape_mbox_without_blank_lines(corpora: Path) -> None:
    entries = mbox.split((corpora / "email/mimekit/mbox/content-length.mbox.txt").read_bytes())
    assert len(entries) == 29
    dated = [e.date for e in entries if e.date]
    assert datetime(1996, 6, 3, 12, 50, 27, tzinfo=UTC) in dated


def test_split_crlf_and_dates() -> None:
    data = (b"From alice@example.com Mon Jun  3 12:50:27 1996\r\nFrom: alice@example.com\r\nSubject: one\r\n"
            b"\r\nbody one\r\n\r\nFrom bob@example.com Tue Jun  4 08:00:00 1996\r\nFrom: bob@example.com\r\n"
            b"Subject: two\r\n\r\nbody two\r\n")
    entries = mbox.split(data)
    assert [e.date for e in entries] == [datetime(1996, 6, 3, 12, 50, 27, tzinfo=UTC),
                                         datetime(1996, 6, 4, 8, 0, tzinfo=UTC)]
    first = data[entries[0].offset : entries[0].offset + entries[0].length]
    assert first.endswith(b"body one\r\n")
    assert [mime.parse(data[e.offset : e.offset + e.length]).subject for e in entries] == ["one", "two"]


def test_empty_and_tiny_files(corpora: Path) -> None:
    for name in ("size-0", "size-1", "size-2"):
        assert list(mbox.iter_file(corpora / "email/sisimai/mailbox" / name)) == []
    assert mbox.split(b"") == []


def test_looks_like_mbox(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"\xef\xbb\xbfFrom - \nFrom: a@b\n\nx\n")
    (tmp_path / "b").write_bytes(b"From: a@b\n\nx\n")
    assert mbox.looks_like_mbox(tmp_path / "a")
    assert not mbox.looks_like_mbox(tmp_path / "b")
