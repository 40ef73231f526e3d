"""Property test: any bytes, any charset, any header lines go parse -> ingest -> store without an exception.

Every input is either imported (perhaps with a repaired text) or quarantined, and what
leaves the email adapter is text UTF-8 can encode.
"""

from __future__ import annotations

import asyncio
import base64
import json
import quopri
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from adapters.base import FLAG_QUARANTINED, Address, Attachment, Batch, Inbound
from adapters.email import mime
from omnidesk.desk import Desk
from omnidesk.inbound.ingest import ingest_batch
from omnidesk.model import Channel
from omnidesk.settings import Settings
from omnidesk.store import channels as store_channels
from omnidesk.store.db import Database

#: Real, aliased, unknown and lying charset names; utf-7 decodes to lone surrogates.
CHARSETS = st.sampled_from(["utf-8", "UTF-7", "unicode-1-1-utf-7", "x-unknown", "iso-8859-1", "windows-874",
                            "shift_jis", "gb2312", "koi8-r", "us-askey", "utf-16", "", "\"utf-8", "ascii"])
NAMES = st.sampled_from(["From", "To", "Cc", "Reply-To", "Sender", "Subject", "Message-ID", "In-Reply-To",
                         "References", "Date", "Content-Type", "Content-Transfer-Encoding",
                         "Content-Disposition", "Content-Language", "List-Id", "Auto-Submitted", "X-Ä"])
#: Bytes that decoders trip over: invalid UTF-8, UTF-7 shifts to lone surrogates, NUL, CR, controls.
NASTY = st.sampled_from([b"\x9b", b"\xff", b"+2D0-", b"+AGEA-", b"\x00", b"\r", b"\x1b[2J", "\u202e".encode(),
                         "退款 ügyfél بازپرداخت".encode(), b"=?", b"?=", b"<", b">", b"@", b",", b'"', b";"])
RAW_BYTES = st.one_of(st.binary(max_size=40), st.lists(NASTY, max_size=8).map(b"".join))


@st.composite
def encoded_words(draw: st.DrawFn) -> bytes:
    charset = draw(CHARSETS).encode("latin-1", "replace")
    data = draw(RAW_BYTES)
    if draw(st.booleans()):
        return b"=?" + charset + b"?b?" + base64.b64encode(data) + b"?="
    return b"=?" + charset + b"?q?" + quopri.encodestring(data, header=True).replace(b"\n", b"") + b"?="


HEADER_VALUES = st.one_of(
    RAW_BYTES,
    st.lists(st.one_of(encoded_words(), RAW_BYTES), max_size=4).map(b" ".join),
    st.builds(lambda w, a: w + b" <" + a + b">", encoded_words(),
              st.sampled_from([b"v@evil.example", b"x", b""])),
    CHARSETS.map(lambda c: b"text/plain; charset=" + c.encode("latin-1", "replace")),
    st.sampled_from([b"base64", b"quoted-printable", b"7bit", b"x-uuencode", b"multipart/mixed; boundary=b"]),
)
HEADER_LINES = st.lists(st.one_of(
    st.builds(lambda n, v: n.encode() + b": " + v, NAMES, HEADER_VALUES),
    RAW_BYTES,  # a line that is not a header at all
), max_size=10)


@st.composite
def messages(draw: st.DrawFn) -> bytes:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=200))  # not mail at all
    newline = draw(st.sampled_from([b"\n", b"\r\n", b"\r"]))
    lines = [b"From: " + draw(HEADER_VALUES)] if draw(st.booleans()) else []
    lines += draw(HEADER_LINES)
    body = draw(st.one_of(RAW_BYTES, st.binary(max_size=300)))
    return newline.join(lines) + newline + newline + body


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[asyncio.Runner, Desk, Channel]]:
    """One desk for every example (a fresh one each would spend the time on migrations)."""
    data = tmp_path_factory.mktemp("properties") / "data"
    with asyncio.Runner() as runner:
        db = runner.run(Database.open(data / "omnidesk.db"))
        desk = Desk(db=db, settings=Settings(), data_dir=data)
        channel = runner.run(store_channels.ensure_channel(db, "support", "email", "support@example.com"))
        yield runner, desk, channel
        runner.run(db.close())


def texts(record: Inbound) -> list[Any]:
    return [record.external_id, record.sender.address, record.sender.display_name, record.subject,
            record.text,
            record.display_text, record.html, record.language, list(record.thread_refs), list(record.defects),
            [[a.address, a.display_name] for a in record.recipients + record.cc],
            [[a.filename, a.content_type, a.content_id] for a in record.attachments], dict(record.meta)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=messages())
@example(raw=b"From: =?utf-8?q?N=9B?= <v@evil.example>\nSubject: x\n\nbody\n")
@example(raw=b"From: a@example.com\nCc: =?utf-8?b?/w==?= <c@evil.example>\n\nbody\n")
@example(raw=b"From: a@example.com\nTo: =?x-unknown?q?N=FF?= <t@evil.example>\n\nbody\n")
@example(raw=b"From: a@example.com\nContent-Type: text/plain; charset=utf-7\n\n+2D0- lone\n")
@example(raw=b"From: a@example.com\nMessage-ID: <\xff@evil.example>\n\nbody\n")
def test_any_input_is_imported_or_quarantined(store: tuple[asyncio.Runner, Desk, Channel],
                                              raw: bytes) -> None:
    runner, desk, channel = store
    record = mime.parse(raw)
    json.dumps(texts(record), ensure_ascii=False, default=str).encode("utf-8")  # raises on a lone surrogate

    result = runner.run(ingest_batch(desk, channel, Batch([record], None)))
    assert result.imported + result.duplicates == 1
    if result.imported:
        assert result.quarantined == (FLAG_QUARANTINED in record.flags)
        (message_id,) = result.message_ids
        row = runner.run(desk.db.fetchone("SELECT flags FROM messages WHERE id = ?", (message_id,)))
        assert row is not None and (FLAG_QUARANTINED in json.loads(row[0])) == bool(result.quarantined)



#: Text with lone surrogates, as an adapter that does not repair them would hand over.
LONE = st.text(st.one_of(st.characters(), st.sampled_from(["\ud800", "\udcff", "\x00"])), max_size=30)


@settings(max_examples=100, deadline=None)
@given(external_id=LONE, address=LONE, name=LONE, subject=LONE, text=LONE, filename=LONE)
def test_any_record_is_stored_or_quarantined(store: tuple[asyncio.Runner, Desk, Channel], external_id: str,
                                             address: str, name: str, subject: str, text: str,
                                             filename: str) -> None:
    runner, desk, channel = store
    record = Inbound(external_id=external_id, sender=Address("email", address, name),
                     sent_at=datetime.now(UTC),
                     text=text, subject=subject, recipients=(Address("email", address, name),),
                     attachments=(Attachment(filename, "text/plain", b"x"),),
                     raw=text.encode("utf-8", "replace"))
    result = runner.run(ingest_batch(desk, channel, Batch([record], None)))
    assert result.imported + result.duplicates == 1
