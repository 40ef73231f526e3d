"""A record the store refuses is stored raw and quarantined; the rest of its batch lands."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

import pytest

from adapters.base import FLAG_QUARANTINED, Address, Attachment, Batch, Inbound
from adapters.email import mime
from omnidesk.desk import Desk
from omnidesk.inbound.ingest import ingest_batch
from omnidesk.model import Channel
from omnidesk.store import channels as store_channels
from omnidesk.store import refusals
from omnidesk.store.rawmail import read_raw

T = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)

#: Display names in encoded words whose bytes are invalid for their charset (issue 19).
BAD_NAMES = ("=?utf-8?q?N=9B?=", "=?utf-8?b?/w==?=", "=?x-unknown?q?N=FF?=", "=?utf-7?q?+2D0-?=")


def good(n: int) -> Inbound:
    return Inbound(external_id=f"<m{n}@example.com>",
                   sender=Address("email", f"c{n}@example.com", f"Ügyfél {n}"), sent_at=T,
                   text=f"hello {n}", subject=f"Question {n}", raw=f"Subject: {n}\n\nhello\n".encode())


@pytest.fixture
async def channel(desk: Desk) -> Channel:
    return await store_channels.ensure_channel(desk.db, "support", "email", "support@example.com")


async def stored(desk: Desk) -> dict[str, tuple[str, list[str], list[str]]]:
    rows = await desk.db.fetchall("SELECT external_id, author_name, flags, defects FROM messages")
    return {r[0]: (r[1], json.loads(r[2]), json.loads(r[3])) for r in rows}


async def test_a_record_sqlite_cannot_encode_is_quarantined_and_the_batch_lands(desk: Desk,
                                                                                channel: Channel) -> None:
    # Built by hand, as another adapter might: lone surrogates in every kind of text.
    bad = Inbound(external_id="<bad\udcff@evil.example>",
                  sender=Address("email", "v@evil.example", "N\udc9b"), sent_at=T,
                  text="body \ud800", subject="s\udcff", html="<p>\udcff</p>",
                  recipients=(Address("email", "t@example.com", "T\udcff"),),
                  attachments=(Attachment("f\udcff.txt", "text/plain", b"x"),),
                  raw=b"From: =?utf-8?q?N=9B?= <v@evil.example>\n\nbody\n")
    records = [good(1), good(2), bad, good(3)]
    result = await ingest_batch(desk, channel, Batch(records, "cursor-1"))

    assert (result.imported, result.quarantined) == (4, 1)
    assert [i for i, _ in result.quarantine] == [2]
    assert result.quarantine[0][1].startswith("StoreRefused:UnicodeEncodeError")
    rows = await stored(desk)
    assert {f"<m{n}@example.com>" for n in (1, 2, 3)} <= rows.keys()
    name, flags, defects = rows["<bad\ufffd@evil.example>"]
    assert name == "N\ufffd" and FLAG_QUARANTINED in flags and defects[0].startswith("StoreRefused:")
    row = await desk.db.fetchone("SELECT m.raw_sha256, c.quarantined FROM messages m"
                                 " JOIN conversations c ON c.id = m.conversation_id WHERE m.subject = ?",
                                 ("s\ufffd",))
    assert row is not None and row[1] == 1
    assert await read_raw(desk.db, desk.blob_dir, row[0]) == bad.raw
    cursor = await desk.db.fetchone("SELECT value FROM cursors WHERE channel_id = ?", (channel.id,))
    assert cursor is not None and cursor[0] == "cursor-1"

    # Delivered again: recognised, nothing doubled.
    again = await ingest_batch(desk, channel, Batch(records, "cursor-2"))
    assert (again.imported, again.duplicates) == (0, 4)


async def test_a_batch_of_only_refused_records_still_moves_the_cursor(desk: Desk, channel: Channel) -> None:
    bad = Inbound(external_id="<x@evil.example>", sender=Address("email", "v@evil.example", "\udcff"),
                  sent_at=T, text="", raw=b"x")
    result = await ingest_batch(desk, channel, Batch([bad], "c"))
    assert (result.imported, result.quarantined) == (1, 1)
    cursor = await desk.db.fetchone("SELECT value FROM cursors WHERE channel_id = ?", (channel.id,))
    assert cursor is not None and cursor[0] == "c"


@pytest.mark.parametrize("header", ["From", "To", "Cc"])
@pytest.mark.parametrize("word", BAD_NAMES)
async def test_invalid_encoded_word_names_are_repaired_by_the_parser(desk: Desk, channel: Channel,
                                                                     header: str, word: str) -> None:
    sender = f"{word} <v@evil.example>" if header == "From" else "Ann <ann@example.com>"
    other = f"{header}: {word} <w@evil.example>\n" if header != "From" else ""
    raw = (f"From: {sender}\nTo: support@example.com\n{other}Subject: {word}\nMessage-ID: <{header}@e>\n\n"
           "hi\n").encode()
    record = mime.parse(raw)
    assert "LoneSurrogate" in record.defects and FLAG_QUARANTINED not in record.flags
    names = [record.sender.display_name, record.subject,
             *(a.display_name for a in record.recipients + record.cc)]
    for name in names:
        name.encode("utf-8")  # raises on a lone surrogate
    result = await ingest_batch(desk, channel, Batch([good(1), record, good(2)], None))
    assert (result.imported, result.quarantined) == (3, 0)
    row = await desk.db.fetchone("SELECT author_name, recipients FROM messages WHERE external_id = ?",
                                 (f"<{header}@e>",))
    assert row is not None
    shown = row[0] if header == "From" else row[1]
    assert "\ufffd" in shown or "\\ufffd" in shown


@pytest.mark.parametrize(("error", "refused"), [
    (UnicodeEncodeError("utf-8", "\udcff", 0, 1, "surrogates not allowed"), True),
    (sqlite3.IntegrityError("UNIQUE constraint failed: identities.kind, identities.address"), True),
    (OverflowError("Python int too large to convert to SQLite INTEGER"), True),
    (sqlite3.OperationalError("database is locked"), False),
    (sqlite3.OperationalError("database or disk is full"), False),
    (sqlite3.DatabaseError("database disk image is malformed"), False),
])
def test_only_errors_of_the_record_quarantine_it(error: Exception, refused: bool) -> None:
    # A failing database stops the batch (it is retried whole); only the record's own errors quarantine it.
    assert refusals.is_refusal(error) is refused
