"""Automatic acknowledgements through a real channel: a Maildir in, SMTP (aiosmtpd) out.

Each round is one `run_sync(once=True)`: poll, ingest, acknowledge, send, as cron's `sync --once`.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from omnidesk.demo.mailgen import customer_mail, deliver, ensure_maildir
from omnidesk.desk import Desk
from omnidesk.services.sync import run_sync
from omnidesk.settings import MacroSettings
from tests.fakes.smtp_server import FakeSMTPServer, Received
from tests.integration.sync_env import maildir_channel, open_desk_with

MACRO = '''description = "We got your message"

[text.email]
en = """Hello {{ customer.first_name }}, we got your message ({{ conversation.number }})."""
hu = """Kedves {{ customer.name }}! Megkaptuk az üzenetét ({{ conversation.number }})."""
'''

_n = 0


def mail(maildir: Path, sender: str, subject: str, *, name: str = "Kovács Anna", body: str = "Segítsen!",
         headers: tuple[tuple[str, str], ...] = (), in_reply_to: str | None = None) -> str:
    """Deliver one mail dated now; its Message-ID."""
    global _n
    _n += 1
    mid = f"<ack{_n}@{sender.split('@')[1]}>"
    data = customer_mail(sender_name=name, sender=sender, to="support@desk.test", subject=subject, body=body,
                         date=datetime.now(UTC), message_id=mid, headers=headers, in_reply_to=in_reply_to,
                         references=(in_reply_to,) if in_reply_to else ())
    deliver(maildir, data, f"ack{_n}")
    return mid


@pytest.fixture
def smtp():  # type: ignore[no-untyped-def]
    with FakeSMTPServer() as server:
        yield server


async def ack_desk(tmp_path: Path, smtp: FakeSMTPServer, **channel: object) -> tuple[Desk, Path]:
    macros = tmp_path / "macros"
    macros.mkdir(parents=True)
    (macros / "ack.toml").write_text(MACRO, "utf-8")
    maildir = ensure_maildir(tmp_path / "Maildir")
    settings = replace(maildir_channel("support", maildir, smtp_port=smtp.port), auto_ack="ack", **channel)
    desk = await open_desk_with(tmp_path, settings)
    desk = replace(desk, settings=replace(desk.settings, macros=MacroSettings(dir=macros)))
    return desk, maildir


async def round_(desk: Desk) -> None:
    report = await run_sync(desk, once=True, stop=asyncio.Event())
    assert report.ok, report
    await run_sync(desk, once=True, stop=asyncio.Event(), channels=[])  # the acknowledgements leave


async def count(desk: Desk, sql: str) -> int:
    row = await desk.db.fetchone(sql)
    assert row is not None
    return int(row[0])


def text_of(got: Received) -> str:
    return str(got.message.get_body(("plain",)).get_content())


async def test_first_message_acknowledged_once_in_the_customers_language(tmp_path: Path,
                                                                          smtp: FakeSMTPServer) -> None:
    desk, maildir = await ack_desk(tmp_path, smtp)
    try:
        await round_(desk)  # the first scan starts at the newest message
        first = mail(maildir, "anna@posta.example", "Sérült csomag",
                     body="A csomag sérülten érkezett meg, kérem segítsenek a cserében.")
        await round_(desk)
        [got] = await smtp.wait_for(1)
        assert got.rcpt_tos == ("anna@posta.example",)
        assert "Kedves Kovács Anna! Megkaptuk az üzenetét (#1)." in text_of(got)
        assert got.message["Auto-Submitted"] == "auto-replied"
        assert got.message["In-Reply-To"] == first
        # The customer writes again in the thread, and the same mail is delivered twice: no second one.
        mail(maildir, "anna@posta.example", "Re: Sérült csomag", in_reply_to=first)
        await round_(desk)
        await round_(desk)
        assert len(smtp.messages) == 1
        events = await desk.db.fetchall("SELECT kind FROM events WHERE kind = 'auto_acknowledged'")
        assert len(events) == 1
        row = await desk.db.fetchone("SELECT first_response_at FROM conversations WHERE id = 1")
        assert row is not None and row[0] is None  # an acknowledgement is no response
    finally:
        await desk.db.close()


@pytest.mark.parametrize("headers", [
    (("Auto-Submitted", "auto-replied"),),
    (("X-Autoreply", "yes"),),
    (("Precedence", "bulk"),),
    (("Precedence", "auto_reply"),),
    (("List-Id", "<news.example.com>"),),
])
async def test_automated_and_list_mail_gets_none(tmp_path: Path, smtp: FakeSMTPServer,
                                                 headers: tuple[tuple[str, str], ...]) -> None:
    desk, maildir = await ack_desk(tmp_path, smtp)
    try:
        await round_(desk)
        mail(maildir, "robot@other.example", "Automatic reply: we got it", name="Other Desk", headers=headers)
        await round_(desk)
        assert await count(desk, "SELECT count(*) FROM messages WHERE direction = 'in'") == 1
        assert smtp.messages == []
        assert await count(desk, "SELECT count(*) FROM auto_acks") == 0
    finally:
        await desk.db.close()


@pytest.mark.parametrize("marked", [True, False])
async def test_an_autoresponder_answering_everything_gets_a_bounded_number(
        tmp_path: Path, smtp: FakeSMTPServer, marked: bool) -> None:
    """A robot that answers every mail we send, with a new subject each time (no thread to join),
    with or without Auto-Submitted: a few acknowledgements, then silence."""
    desk, maildir = await ack_desk(tmp_path, smtp, auto_ack_limit=2)
    try:
        await round_(desk)
        mail(maildir, "robot@other.example", "Hello", name="Robot")
        answered = 0
        for _ in range(6):
            await round_(desk)
            while answered < len(smtp.messages):  # the robot answers each of ours
                answered += 1
                headers = (("Auto-Submitted", "auto-replied"),) if marked else ()
                mail(maildir, "robot@other.example", f"We received your message {answered}", name="Robot",
                     headers=headers)
        assert len(smtp.messages) == (1 if marked else 2)
        assert all(m.message["Auto-Submitted"] == "auto-replied" for m in smtp.messages)
        stored = await count(desk, "SELECT count(*) FROM messages WHERE direction = 'in'")
        assert stored == len(smtp.messages) + 1  # the robot stopped hearing from us
    finally:
        await desk.db.close()


async def test_rate_limit_per_sender_across_conversations(tmp_path: Path, smtp: FakeSMTPServer) -> None:
    desk, maildir = await ack_desk(tmp_path, smtp, auto_ack_limit=2)
    try:
        await round_(desk)
        for n in range(4):
            mail(maildir, "zhang@qq.example", f"订单问题 {n}", name="张伟", body="我的订单还没有到。")
        mail(maildir, "ann@mail.example", "Refund", name="Ann Lee", body="Where is my refund?")
        await round_(desk)
        await smtp.wait_for(3)
        to = sorted(m.rcpt_tos[0] for m in smtp.messages)
        assert to == ["ann@mail.example", "zhang@qq.example", "zhang@qq.example"]
        english = next(m for m in smtp.messages if m.rcpt_tos == ("ann@mail.example",))
        assert "Hello Ann, we got your message" in text_of(english)
    finally:
        await desk.db.close()


async def test_bounces_our_own_mail_and_opted_out_senders_get_none(tmp_path: Path,
                                                                   smtp: FakeSMTPServer) -> None:
    desk, maildir = await ack_desk(tmp_path, smtp)
    try:
        await round_(desk)
        mail(maildir, "mailer-daemon@mx.example", "Undelivered Mail Returned to Sender",
             name="Mail Delivery System", body="This is the mail system at host mx.example.")
        mail(maildir, "support@desk.test", "Sent from our own mailbox", name="Support")  # our echo
        await round_(desk)
        mail(maildir, "stop@phone.example", "First", name="Leila")
        await round_(desk)
        assert len(smtp.messages) == 1
        # Leila opts out (as SMS STOP would mark it); her next new conversation gets nothing.
        async with desk.db.write() as conn:
            await conn.execute("UPDATE identities SET opted_out_at = 1 WHERE address = 'stop@phone.example'")
        mail(maildir, "stop@phone.example", "Second question", name="Leila")
        await round_(desk)
        assert len(smtp.messages) == 1
        assert await count(desk, "SELECT count(*) FROM auto_acks") == 1
        assert await count(desk, "SELECT count(*) FROM conversations") == 4
    finally:
        await desk.db.close()


async def test_top_articles_are_appended_as_links_in_the_customers_language(tmp_path: Path,
                                                                             smtp: FakeSMTPServer) -> None:
    from omnidesk.kb import library
    from omnidesk.settings import KbSettings

    desk, maildir = await ack_desk(tmp_path, smtp, auto_ack_kb=1)
    examples = Path(__file__).resolve().parents[2] / "config" / "kb"
    desk = replace(desk, settings=replace(desk.settings, kb=KbSettings(examples, "https://help.example")))
    try:
        await library.refresh(desk)
        await round_(desk)
        mail(maildir, "bela@posta.example", "Jelszó", name="Kiss Béla",
             body="Elfelejtettem a jelszavamat, és nem tudok belépni a fiókomba.")
        await round_(desk)
        [got] = await smtp.wait_for(1)
        text = text_of(got)
        assert "Kedves Kiss Béla! Megkaptuk az üzenetét (#1)." in text
        assert "https://help.example/hu/reset-password.html" in text
        assert text.count("https://help.example/") == 1  # auto_ack_kb = 1
    finally:
        await desk.db.close()


async def test_history_and_other_channels_are_not_acknowledged(tmp_path: Path, smtp: FakeSMTPServer) -> None:
    desk, maildir = await ack_desk(tmp_path, smtp)
    try:
        mail(maildir, "early@example.com", "Before auto_ack", name="Early")
        await round_(desk)  # stored before the first scan: history
        assert smtp.messages == []
    finally:
        await desk.db.close()


CRASHING = r'''
import asyncio, sys, time
from dataclasses import replace
from pathlib import Path
from omnidesk.inbound.ingest import ingest_batch
from omnidesk.registry import build_adapter
from omnidesk.services.autoack import acknowledge_new
from omnidesk.store.channels import ensure_channel, get_cursor
from tests.integration.sync_env import maildir_channel, open_desk_with

async def main():
    root, port = Path(sys.argv[1]), int(sys.argv[2])
    settings = replace(maildir_channel("support", root / "Maildir", smtp_port=port), auto_ack="ack")
    desk = await open_desk_with(root, settings)
    channel = await ensure_channel(desk.db, "support", "maildir", "support@desk.test")
    await acknowledge_new(desk)  # the scan starts here
    adapter = build_adapter(settings)
    async for batch in adapter.poll(await get_cursor(desk.db, channel.id)):
        await ingest_batch(desk, channel, batch)
    print("ingested", flush=True)
    time.sleep(600)  # killed here: the batch committed, no acknowledgement yet

asyncio.run(main())
'''


def test_kill_between_ingest_and_acknowledgement_then_restart(tmp_path: Path, smtp: FakeSMTPServer) -> None:
    import os
    import signal
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[2]
    script = tmp_path / "crashing.py"
    script.write_text(CRASHING)
    maildir = ensure_maildir(tmp_path / "Maildir")
    mail(maildir, "dilshod@pochta.example", "Tizimga kira olmayapman", name="Dilshod Karimov",
         body="Parol noto‘g‘ri deb chiqyapti.")
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path), str(smtp.port)], cwd=repo,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(repo)})
    assert proc.stdout is not None
    line = proc.stdout.readline()  # blocks until the batch committed (or the worker died)
    assert line.strip() == "ingested", proc.communicate(timeout=30)[1]
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    async def restart() -> None:
        desk, _ = await ack_desk(tmp_path / "again", smtp)  # the macro folder; the data is the crashed one's
        desk = await reopen(desk, tmp_path)
        try:
            for _ in range(3):
                await round_(desk)
            await smtp.wait_for(1)
            assert await count(desk, "SELECT count(*) FROM auto_acks") == 1
        finally:
            await desk.db.close()

    asyncio.run(restart())
    assert len(smtp.messages) == 1
    assert smtp.messages[0].rcpt_tos == ("dilshod@pochta.example",)


async def reopen(desk: Desk, root: Path) -> Desk:
    """`desk`'s settings on the database under `root/data`, with `root/Maildir` as its channel."""
    from omnidesk.store.db import Database

    await desk.db.close()
    [channel] = desk.settings.channels
    channel = replace(channel, options={**channel.options, "path": str(root / "Maildir")})
    db = await Database.open(root / "data" / "omnidesk.db")
    return replace(desk, db=db, data_dir=root / "data",
                   settings=replace(desk.settings, channels=(channel,)))
