"""A re-run import skips mail the channel already holds before parsing it, and loses nothing."""

from __future__ import annotations

from pathlib import Path

from adapters.email import mime
from omnidesk.desk import Desk
from omnidesk.inbound import importer
from tests.integration.test_import import count, make_maildir, thread_messages

NO_ID = ("From: Kovács <k@example.hu>\nTo: support@example.com\nSubject: nincs azonosító\n\n"
         "Szép nap\n").encode()
BROKEN = b"From: a@example.com\nMessage-ID: <broken@x>\nthis line is no header\nSubject: x\n\nbody\n"
LEADING_JUNK = b"\n\nFrom: b@example.com\nMessage-ID: <junk@x>\nSubject: \xe9\x80\x80\xe6\xac\xbe\n\nbody\n"


def test_message_id_of_agrees_with_parse() -> None:
    for raw in [*thread_messages(3), LEADING_JUNK, b"Message-ID: <solo@x>\n", b"Message-ID: <cut@x"]:
        assert mime.message_id_of(raw) == mime.parse(raw).external_id
    # Only a full parse can tell: a synthetic id, a header block mime.py repairs, nothing at all.
    assert mime.message_id_of(NO_ID) is None
    assert mime.message_id_of(BROKEN) is None
    assert mime.message_id_of(b"") is None


async def test_rerun_skips_known_mail_and_imports_only_new(desk: Desk, tmp_path: Path) -> None:
    mail = [*thread_messages(4), NO_ID, BROKEN, LEADING_JUNK]
    box = make_maildir(tmp_path / "Maildir", mail)
    channel = await importer.resolve_channel(desk, "archive")
    first = await importer.import_maildir(desk, channel, box, workers=0)
    assert (first.imported, first.duplicates) == (len(mail), 0)

    jobs = importer.maildir_jobs(box)
    known = {r[0] for r in await desk.db.fetchall("SELECT external_id FROM messages")}
    flags = importer.known_jobs(jobs, known)
    assert sum(flags) == len(mail) - 2  # all but the id-less and the repaired one skip the parse

    again = await importer.import_maildir(desk, channel, box, workers=0)
    assert (again.imported, again.duplicates, again.messages) == (0, len(mail), len(mail))
    assert await count(desk, "messages") == len(mail)

    make_maildir(box, ["From: new@example.com\nMessage-ID: <new@x>\nSubject: سلام\n\nhi\n".encode()])
    third = await importer.import_maildir(desk, channel, box, workers=0)
    assert (third.imported, third.duplicates) == (1, len(mail))
    assert await count(desk, "messages") == len(mail) + 1


async def test_known_ids_on_another_channel_do_not_skip(desk: Desk, tmp_path: Path) -> None:
    box = make_maildir(tmp_path / "Maildir", thread_messages(2))
    one = await importer.resolve_channel(desk, "one")
    two = await importer.resolve_channel(desk, "two")
    await importer.import_maildir(desk, one, box, workers=0)
    other = await importer.import_maildir(desk, two, box, workers=0)
    assert (other.imported, other.duplicates) == (6, 0)
