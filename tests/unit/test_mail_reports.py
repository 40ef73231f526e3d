"""Delivery status notifications and auto-replies: parsed from real corpora, applied to their thread.

A bounce about one of our replies marks that reply (failed, or an event for delayed) on its own
conversation and never opens a new one; an auto-reply joins its conversation without reopening
it or counting as the customer's answer.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from adapters.base import FLAG_AUTO_REPLY, FLAG_BOUNCE, Batch
from adapters.email import mime
from omnidesk.conversations import reads
from omnidesk.conversations.eventtext import describe
from omnidesk.desk import Desk
from omnidesk.inbound.ingest import ingest_batch
from omnidesk.model import Channel
from omnidesk.services import services
from omnidesk.settings import DeskSettings, Settings
from tests.unit import factories

STATES = {"failed", "delayed", "delivered", "relayed", "expanded"}


def _dsn_files(corpora: Path) -> list[Path]:
    email = corpora / "email"
    files = sorted((email / "mimekit" / "messages").glob("delivery-status*"))
    files += sorted((email / "mail" / "multipart_report_emails").iterdir())
    for folder in ("bsd", "tmp"):
        files += sorted((email / "sisimai" / "maildir" / folder).glob("*.eml"))
    return files


def test_every_corpus_bounce_parses_to_a_delivery_state(corpora: Path) -> None:
    files = _dsn_files(corpora)
    assert len(files) > 600
    reports = 0
    for path in files:
        raw = path.read_bytes()
        rec = mime.parse(raw)
        is_dsn = b"message/delivery-status" in raw.lower() or b"report-type=delivery-status" in raw.lower()
        if is_dsn or (FLAG_BOUNCE in rec.flags and b"feedback-report" not in raw.lower()):
            assert rec.report is not None, path.name
            assert rec.report.state in STATES, path.name
            assert len(rec.report.diagnostic) <= 500
            reports += 1
    assert reports > 550  # most of the sisimai corpus is bounces of some MTA


def test_rfc3464_fields_are_read(corpora: Path) -> None:
    rec = mime.parse((corpora / "email/mimekit/messages/delivery-status.txt").read_bytes())
    assert rec.report is not None
    assert (rec.report.state, rec.report.status) == ("failed", "500")
    assert rec.report.message_ref == "<31FC7EB4.41C6@netscape.com>"
    assert rec.report.recipients == ("newsletter-request@imusic.com",)
    assert rec.report.message_ref in rec.thread_refs  # threading follows it to our message
    one = mime.parse((corpora / "email/sisimai/maildir/bsd/rfc3464-01.eml").read_bytes())
    assert one.report is not None
    assert (one.report.state, one.report.status) == ("failed", "5.1.1")
    assert "User Unknown" in one.report.diagnostic or "User unknown" in one.report.diagnostic
    delayed = mime.parse((corpora / "email/sisimai/maildir/bsd/rfc3464-07.eml").read_bytes())
    assert delayed.report is not None and delayed.report.state == "delayed"
    assert delayed.report.status == "4.4.0"


def test_non_standard_bounce_is_read_from_its_text() -> None:
    raw = (b"From: MAILER-DAEMON@mx.example.net\r\nTo: support@example.com\r\n"
           b"Subject: failure notice\r\nMessage-ID: <qmail1@mx.example.net>\r\n\r\n"
           b"Hi. This is the qmail-send program at mx.example.net.\r\n"
           b"I'm afraid I wasn't able to deliver your message to the following addresses.\r\n\r\n"
           b"<ann@example.org>:\r\n550 5.1.1 mailbox unavailable\r\n\r\n"
           b"--- Below this line is a copy of the message.\r\n\r\n"
           b"From: support@example.com\r\nMessage-ID: <reply-1@example.com>\r\nSubject: Re: Help\r\n")
    rec = mime.parse(raw)
    assert rec.report is not None
    assert (rec.report.state, rec.report.status, rec.report.message_ref) == (
        "failed", "5.1.1", "<reply-1@example.com>")
    assert rec.report.diagnostic == "550 5.1.1 mailbox unavailable"


def test_undecodable_bytes_in_a_report_become_replacement_characters() -> None:
    raw = ("From: MAILER-DAEMON@mx.example.net\r\nSubject: Undelivered Mail Returned to Sender\r\n"
           "Message-ID: <d8@mx.example.net>\r\nMIME-Version: 1.0\r\n"
           "Content-Type: multipart/report; report-type=delivery-status; boundary=B\r\n\r\n"
           "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n"
           "Final-Recipient: rfc822; \xe9\xff@example.hu\r\nAction: failed\r\nStatus: 5.1.1\r\n"
           "Diagnostic-Code: smtp; 550 n\xe9\x9b\r\n\r\n--B--\r\n").encode("latin-1")
    report = mime.parse(raw).report
    assert report is not None and report.status == "5.1.1"
    for text in (report.diagnostic, *report.recipients):
        text.encode("utf-8")  # SQLite and JSON take it
        assert "\ufffd" in text


# -- applied to the desk ---------------------------------------------------------------------------


@pytest.fixture
async def adesk(desk: Desk) -> Desk:
    alice = await factories.agent(desk, "alice")
    settings = Settings(desk=DeskSettings(name="Acme Support", undo_seconds=0, quote_last_message=False))
    return dataclasses.replace(desk, settings=settings).as_agent(alice)


async def _replied(desk: Desk) -> tuple[Channel, factories.Thread, int, str]:
    """A thread, our reply to it (marked sent), and the conversation resolved."""
    channel = await factories.email_channel(desk)
    t = await factories.thread(desk, channel)
    result = await services.queue_reply(desk, t.conversation_id, "We have refunded you.")
    assert result.message_id is not None
    async with desk.db.write() as conn:  # as the dispatcher leaves a reply the server accepted
        await conn.execute("UPDATE messages SET delivery = 'sent' WHERE id = ?", (result.message_id,))
        await conn.execute("UPDATE outbox SET state = 'sent' WHERE message_id = ?", (result.message_id,))
    await services.set_status(desk, [t.conversation_id], "resolved")
    row = await desk.db.fetchone("SELECT external_id FROM messages WHERE id = ?", (result.message_id,))
    return channel, t, result.message_id, row[0]


async def _conversation(desk: Desk, cid: int) -> dict:
    row = await desk.db.fetchone("SELECT * FROM conversations WHERE id = ?", (cid,))
    return dict(row)


async def _count(desk: Desk, table: str) -> int:
    return (await desk.db.fetchone(f"SELECT count(*) FROM {table}"))[0]


def _printed(conversation: object) -> str:
    """What `omnidesk show` prints on a terminal for the conversation."""
    from rich.console import Console

    from omnidesk.cli.timeline import print_timeline

    console = Console(record=True, width=200, highlight=False, markup=False, emoji=False)
    print_timeline(conversation, console=console)  # type: ignore[arg-type]
    return console.export_text()


def _planted(raw: bytes, ref: str) -> bytes:
    """A real DSN with its original Message-ID replaced by ours (the shape stays the corpus's)."""
    original = mime.parse(raw).report
    assert original is not None and original.message_ref
    return raw.replace(original.message_ref[1:-1].encode(), ref[1:-1].encode())


async def test_bounce_of_our_reply_marks_it_failed_without_a_new_conversation(
    adesk: Desk, corpora: Path
) -> None:
    channel, t, reply_id, ref = await _replied(adesk)
    before = await _conversation(adesk, t.conversation_id)
    conversations = await _count(adesk, "conversations")
    raw = _planted((corpora / "email/sisimai/maildir/bsd/rfc3464-01.eml").read_bytes(), ref)
    result = await ingest_batch(adesk, channel, Batch([mime.parse(raw)], None))

    assert result.imported == 1
    assert await _count(adesk, "conversations") == conversations
    assert result.conversation_ids == [t.conversation_id]
    reply = await adesk.db.fetchone("SELECT delivery, delivery_error FROM messages WHERE id = ?", (reply_id,))
    assert reply[0] == "failed"
    assert "5.1.1" in reply[1] and "User Unknown" in reply[1]
    outbox = await adesk.db.fetchone("SELECT state, last_error FROM outbox WHERE message_id = ?", (reply_id,))
    assert tuple(outbox) == ("failed", reply[1])  # listed with the failures; retry can send it again
    after = await _conversation(adesk, t.conversation_id)
    assert after["status"] == "resolved"  # a bounce is nobody's answer
    assert after["last_inbound_at"] == before["last_inbound_at"]

    timeline = await reads.get_conversation(adesk, t.conversation_id)
    events = [e for e in timeline.events if e.kind == "delivery_report"]
    assert len(events) == 1
    assert describe(events[0]) == (
        "a reply could not be delivered to userunknown@bouncehammer.jp: "
        "550 5.1.1 <userunknown@bouncehammer.jp>... User Unknown")
    printed = _printed(timeline)
    assert "a reply could not be delivered to userunknown@bouncehammer.jp" in printed
    assert "delivery failed: 550 5.1.1" in printed
    assert "delivery report from a mail server: not a customer's message" in printed
    # The same report delivered again changes nothing.
    again = await ingest_batch(adesk, channel, Batch([mime.parse(raw)], None))
    assert (again.imported, again.duplicates) == (0, 1)
    assert await _count(adesk, "events WHERE kind = 'delivery_report'") == 1


async def test_delayed_report_is_an_event_and_leaves_the_reply_sent(adesk: Desk, corpora: Path) -> None:
    channel, t, reply_id, ref = await _replied(adesk)
    raw = _planted((corpora / "email/sisimai/maildir/bsd/rfc3464-07.eml").read_bytes(), ref)
    await ingest_batch(adesk, channel, Batch([mime.parse(raw)], None))
    reply = await adesk.db.fetchone("SELECT delivery FROM messages WHERE id = ?", (reply_id,))
    assert reply[0] == "sent"
    row = await adesk.db.fetchone(
        "SELECT conversation_id, after FROM events WHERE kind = 'delivery_report'")
    assert row[0] == t.conversation_id
    after = json.loads(row[1])
    assert (after["state"], after["status"], after["message_id"]) == ("delayed", "4.4.0", reply_id)


async def test_bounce_about_unknown_mail_is_kept_as_a_low_priority_conversation(
    adesk: Desk, corpora: Path
) -> None:
    channel = await factories.email_channel(adesk)
    raw = (corpora / "email/sisimai/maildir/bsd/rfc3464-01.eml").read_bytes()
    result = await ingest_batch(adesk, channel, Batch([mime.parse(raw)], None))
    assert result.imported == 1 and len(result.conversation_ids) == 1
    conv = await _conversation(adesk, result.conversation_ids[0])
    assert conv["priority"] == "low"
    assert "bounce" in json.loads(conv["flags"])
    assert await _count(adesk, "events WHERE kind = 'delivery_report'") == 0


# -- auto-replies ----------------------------------------------------------------------------------


def test_rfc3834_corpus_samples_are_auto_replies(corpora: Path) -> None:
    samples = sorted((corpora / "email/sisimai/maildir/bsd").glob("rfc3834-*.eml"))
    assert len(samples) >= 5
    for path in samples:
        assert FLAG_AUTO_REPLY in mime.parse(path.read_bytes()).flags, path.name


def _auto(subject: str, headers: str = "", ref: str = "<reply@example.com>") -> bytes:
    return (f"From: Ann Lee <ann@example.com>\r\nTo: support@example.com\r\nSubject: {subject}\r\n"
            f"Message-ID: <auto-{abs(hash(subject + headers))}@example.com>\r\nIn-Reply-To: {ref}\r\n"
            f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n{headers}\r\n"
            "I am away until Monday.\r\n").encode()


@pytest.mark.parametrize("subject", [
    "Automatikus válasz: Visszatérítés", "自动回复: 退款", "پاسخ خودکار: بازپرداخت", "Out of Office: Refund",
    "Automatic reply: Refund", "Autosvar: Refund", "Abwesenheitsnotiz: Erstattung",
    "Réponse automatique : Remboursement",
])
def test_auto_reply_subjects_in_the_seeds_languages(subject: str) -> None:
    assert FLAG_AUTO_REPLY in mime.parse(_auto(subject)).flags


@pytest.mark.parametrize("header", [
    "Auto-Submitted: auto-replied", "Auto-Submitted: auto-generated", "X-Autoreply: yes",
    "X-Autorespond: on", "Precedence: auto_reply", "Precedence: bulk", "Precedence: junk",
])
def test_auto_reply_headers(header: str) -> None:
    assert FLAG_AUTO_REPLY in mime.parse(_auto("Re: Refund", header + "\r\n")).flags


@pytest.mark.parametrize("header", ["X-Auto-Response-Suppress: All", "Auto-Submitted: no"])
def test_not_auto_replies(header: str) -> None:
    assert FLAG_AUTO_REPLY not in mime.parse(_auto("Re: Refund", header + "\r\n")).flags


@pytest.mark.parametrize("subject", ["Automatikus válasz: Visszatérítés", "自动回复: 退款",
                                     "پاسخ خودکار: بازپرداخت"])
async def test_auto_reply_joins_without_reopening_or_counting(adesk: Desk, subject: str) -> None:
    channel, t, _, ref = await _replied(adesk)
    before = await _conversation(adesk, t.conversation_id)
    conversations = await _count(adesk, "conversations")
    rec = mime.parse(_auto(subject, ref=ref))
    result = await ingest_batch(adesk, channel, Batch([rec], None))

    assert result.conversation_ids == [t.conversation_id]
    assert await _count(adesk, "conversations") == conversations
    after = await _conversation(adesk, t.conversation_id)
    for column in ("status", "last_inbound_at", "first_response_at", "last_activity_at", "resolved_at"):
        assert after[column] == before[column], column
    assert after["message_count"] == before["message_count"] + 1
    assert await _count(adesk, "events WHERE kind = 'reopened'") == 0
    message = await adesk.db.fetchone("SELECT flags FROM messages WHERE external_id = ?", (rec.external_id,))
    assert FLAG_AUTO_REPLY in json.loads(message[0])
    printed = _printed(await reads.get_conversation(adesk, t.conversation_id))
    assert "automatic reply: not counted as the customer's answer" in printed


def _report(parts: str, headers: str = "") -> bytes:
    return ("From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\nTo: support@example.com\r\n"
            "Subject: Delivery Status Notification (Delay)\r\nMessage-ID: <dsn-7@mx.example.net>\r\n"
            f"{headers}MIME-Version: 1.0\r\n"
            "Content-Type: multipart/report; report-type=delivery-status; boundary=B\r\n\r\n"
            f"--B\r\nContent-Type: text/plain\r\n\r\nStill trying.\r\n{parts}--B--\r\n").encode()


_DELAYED = ("--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n"
            "Final-Recipient: rfc822; ann@example.com\r\nAction: delayed\r\nStatus: 4.4.7\r\n"
            "Diagnostic-Code: smtp; 451 4.4.7 Message delayed\r\n\r\n")


async def test_text_rfc822_headers_part_names_the_reply(adesk: Desk) -> None:
    channel, t, _, ref = await _replied(adesk)
    raw = _report(_DELAYED + f"--B\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {ref}\r\n"
                  "Subject: Re: Refund please\r\n\r\n")
    rec = mime.parse(raw)
    assert rec.report is not None and rec.report.message_ref == ref
    await ingest_batch(adesk, channel, Batch([rec], None))
    row = await adesk.db.fetchone("SELECT conversation_id, after FROM events WHERE kind = 'delivery_report'")
    assert row[0] == t.conversation_id
    assert json.loads(row[1])["reason"] == "451 4.4.7 Message delayed"


async def test_in_reply_to_names_the_reply_when_nothing_is_enclosed(adesk: Desk) -> None:
    channel, t, reply_id, ref = await _replied(adesk)
    rec = mime.parse(_report(_DELAYED.replace("delayed\r\nStatus: 4.4.7", "failed\r\nStatus: 5.2.2"),
                             headers=f"In-Reply-To: {ref}\r\n"))
    assert rec.report is not None and rec.report.message_ref is None
    result = await ingest_batch(adesk, channel, Batch([rec], None))
    assert result.conversation_ids == [t.conversation_id]
    reply = await adesk.db.fetchone("SELECT delivery, delivery_error FROM messages WHERE id = ?", (reply_id,))
    assert tuple(reply) == ("failed", "5.2.2 451 4.4.7 Message delayed")


async def test_counters_recomputed_after_a_move_still_skip_auto_replies(adesk: Desk) -> None:
    from omnidesk.store.actions import recompute_counters

    channel, t, _, ref = await _replied(adesk)
    before = await _conversation(adesk, t.conversation_id)
    await ingest_batch(adesk, channel, Batch([mime.parse(_auto("自动回复: 退款", ref=ref))], None))
    async with adesk.db.write() as conn:
        await recompute_counters(conn, t.conversation_id)
    after = await _conversation(adesk, t.conversation_id)
    assert (after["last_inbound_at"], after["last_activity_at"]) == (
        before["last_inbound_at"], before["last_activity_at"])
    assert after["message_count"] == before["message_count"] + 1


def test_threading_joins_automated_mail_without_reopening_even_past_the_reopen_window() -> None:
    from omnidesk.inbound.threading import Candidate, Facts, Windows, decide

    windows = Windows.from_settings(24, 7)
    resolved = Candidate(5, 1, "resolved", last_activity_at=0, resolved_at=0)
    late = 30 * 86_400_000
    human = decide(Facts(at=late, sender_customer_id=1, sender_identity_id=1, by_reference=resolved), windows)
    assert human.is_new and human.rule == "reopen-expired"
    auto = decide(Facts(at=late, sender_customer_id=None, sender_identity_id=None, automated=True,
                        by_reference=resolved), windows)
    assert (auto.conversation_id, auto.reopen, auto.sender_is_participant) == (5, False, False)
