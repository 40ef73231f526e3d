"""End to end: Dovecot -> EmailAdapter.poll -> omnidesk.inbound.ingest.ingest_batch -> the desk.

Each scenario checks the store, not the adapter: every message exactly once, the
cursor committed with the messages, nothing lost across restarts and kills.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from email.message import EmailMessage
from typing import Any

import aioimaplib
import pytest

from adapters.email.channel import EmailAdapter
from omnidesk.desk import Desk
from omnidesk.inbound import ingest
from omnidesk.model import Channel
from omnidesk.store import channels
from tests.integration.conftest import email_options, secret_for
from tests.integration.dovecot import Dovecot

pytestmark = pytest.mark.dovecot


SUBJECTS = ["Számla kérdés – ügyfélszolgálat", "退款申请", "درخواست بازپرداخت", "Order #5", ""]


def mail(i: int, *, sender: str | None = None, subject: str | None = None, body: str = "") -> bytes:
    who = sender or f"customer{i % 7}@example.com"
    subj = subject if subject is not None else SUBJECTS[i % len(SUBJECTS)] + f" {i}"
    msg = EmailMessage()
    msg["From"] = f"Ügyfél {i % 7} <{who}>"
    msg["To"] = "support@desk.test"
    msg["Subject"] = subj
    msg["Message-ID"] = f"<e2e-{i}@example.com>"
    msg["Date"] = "Mon, 23 Nov 2026 10:00:00 +0330"
    msg.set_content(body or f"Message {i}: 你好, سلام, árvíztűrő tükörfúrógép.")
    return msg.as_bytes()


class Syncer:
    """What the sync daemon does for one email channel, reduced to the essentials."""

    def __init__(self, desk: Desk, channel: Channel, adapter: EmailAdapter) -> None:
        self.desk, self.channel, self.adapter = desk, channel, adapter
        self.imported = self.duplicates = self.quarantined = 0

    async def once(self, *, stop_after: int | None = None) -> int:
        """Poll + ingest until the channel has nothing new; returns batches ingested."""
        cursor = await channels.get_cursor(self.desk.db, self.channel.id)
        n = 0
        gen = self.adapter.poll(cursor)
        try:
            async for batch in gen:
                res = await ingest.ingest_batch(self.desk, self.channel, batch)
                self.imported += res.imported
                self.duplicates += res.duplicates
                self.quarantined += res.quarantined
                n += 1
                if stop_after is not None and n >= stop_after:
                    break
        finally:
            await gen.aclose()
        return n


async def make(desk: Desk, dovecot: Dovecot, **overrides: Any) -> Syncer:
    opts = email_options(dovecot, **overrides)
    adapter = EmailAdapter("support", opts, secret_for(opts))
    adapter.imap.reconnect_base_seconds = 0.05
    channel = await channels.ensure_channel(desk.db, "support", "email", "support@desk.test")
    return Syncer(desk, channel, adapter)


async def count(desk: Desk, sql: str = "SELECT count(*) AS n FROM messages WHERE direction = 'in'") -> int:
    row = await desk.db.fetchone(sql)
    assert row is not None
    return int(row[0])


async def assert_each_once(desk: Desk, n: int) -> None:
    assert await count(desk) == n
    assert await count(desk, "SELECT count(DISTINCT external_id) FROM messages WHERE direction = 'in'") == n


async def test_first_sync_and_incremental(desk: Desk, dovecot: Dovecot) -> None:
    dovecot.deliver_many([mail(i) for i in range(1, 6)])
    s = await make(desk, dovecot, batch_size=2)
    try:
        assert await s.once() == 3
        await assert_each_once(desk, 5)
        cursor = await channels.get_cursor(desk.db, s.channel.id)
        assert json.loads(cursor or "")["folders"]["INBOX"]["last_uid"] == 5
        row = await desk.db.fetchone("SELECT subject, author_address FROM messages WHERE external_id = ?",
                                     ("<e2e-2@example.com>",))
        assert row is not None and row["subject"] == "درخواست بازپرداخت 2"
        assert await s.once() == 0  # nothing new: no batch, no write
        dovecot.deliver(mail(6))
        await s.once()
        await assert_each_once(desk, 6)
    finally:
        await s.adapter.close()


async def test_new_mail_during_idle_is_ingested(desk: Desk, dovecot: Dovecot) -> None:
    s = await make(desk, dovecot)
    try:
        await s.once()
        waiter = asyncio.create_task(s.adapter.wait_for_changes(30))
        deadline = time.monotonic() + 5
        while s.adapter.imap.idles < 1 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)
        dovecot.deliver(mail(1))
        await asyncio.wait_for(waiter, 10)
        await s.once()
        await assert_each_once(desk, 1)
    finally:
        await s.adapter.close()


async def test_dovecot_restart_mid_sync(desk: Desk, dovecot: Dovecot) -> None:
    dovecot.deliver_many([mail(i) for i in range(1, 301)])
    s = await make(desk, dovecot, batch_size=50)
    try:
        await s.once(stop_after=1)
        await asyncio.to_thread(dovecot.restart)
        await s.once()
        await assert_each_once(desk, 300)
        assert s.duplicates == 0
    finally:
        await s.adapter.close()


async def test_connection_killed_mid_fetch(desk: Desk, dovecot: Dovecot) -> None:
    dovecot.deliver_many([mail(i, body="y" * 1_500_000) for i in range(1, 11)])
    s = await make(desk, dovecot, batch_size=2)
    stop = threading.Event()
    kills = 0

    def killer() -> None:
        nonlocal kills
        while not stop.is_set() and kills < 3:
            kills += 1 if dovecot.kill_sessions() else 0
            stop.wait(0.1)

    thread = threading.Thread(target=killer)
    thread.start()
    try:
        await s.once()
    finally:
        stop.set()
        thread.join()
        await s.adapter.close()
    assert kills >= 1
    await assert_each_once(desk, 10)


async def test_crash_between_batches_then_resume(desk: Desk, dovecot: Dovecot) -> None:
    """The consumer dies after committing batch 1: the stored cursor resumes exactly there."""
    dovecot.deliver_many([mail(i) for i in range(1, 21)])
    s = await make(desk, dovecot, batch_size=5)
    try:
        await s.once(stop_after=1)
        await assert_each_once(desk, 5)
        await s.adapter.close()
        s2 = await make(desk, dovecot, batch_size=5)  # a fresh process
        await s2.once()
        await assert_each_once(desk, 20)
        assert s2.duplicates == 0
        await s2.adapter.close()
    finally:
        await s.adapter.close()


async def test_uidvalidity_change_resyncs_without_duplicates(desk: Desk, dovecot: Dovecot) -> None:
    dovecot.deliver_many([mail(i) for i in range(1, 21)])
    s = await make(desk, dovecot)
    try:
        await s.once()
        await assert_each_once(desk, 20)
        dovecot.set_uidvalidity("INBOX", dovecot.uidvalidity() + 7)
        dovecot.deliver(mail(21))
        await s.once()
        await assert_each_once(desk, 21)
        assert s.duplicates == 20
        cursor = json.loads(await channels.get_cursor(desk.db, s.channel.id) or "")
        assert cursor["folders"]["INBOX"]["uidvalidity"] == dovecot.uidvalidity()
    finally:
        await s.adapter.close()


async def test_thousand_and_fifty_messages(desk: Desk, dovecot: Dovecot) -> None:
    dovecot.deliver_many([mail(i) for i in range(1, 1051)])
    s = await make(desk, dovecot)
    try:
        started = time.monotonic()
        await s.once()
        elapsed = time.monotonic() - started
        await assert_each_once(desk, 1050)
        assert s.imported == 1050
        assert elapsed < 120, f"1,050 messages took {elapsed:.1f}s"
    finally:
        await s.adapter.close()


async def test_25_mb_attachment_lands_in_the_blob_store(desk: Desk, dovecot: Dovecot) -> None:
    data = bytes(range(256)) * (25 * 1024 * 1024 // 256)
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "ann@example.com", "support@desk.test", "Scan"
    msg["Message-ID"] = "<scan@example.com>"
    msg.set_content("Attached.")
    msg.add_attachment(data, maintype="application", subtype="pdf", filename="szerződés.pdf")
    dovecot.deliver(msg.as_bytes())
    s = await make(desk, dovecot)
    try:
        await s.once()
        row = await desk.db.fetchone("SELECT filename, size, sha256 FROM attachments")
        assert row is not None
        assert row["filename"] == "szerződés.pdf" and row["size"] == len(data)
        import hashlib

        assert row["sha256"] == hashlib.sha256(data).hexdigest()
    finally:
        await s.adapter.close()


async def test_broken_mime_appended_is_quarantined_not_dropped(desk: Desk, dovecot: Dovecot) -> None:
    c = aioimaplib.IMAP4(port=dovecot.port, timeout=5)
    await c.wait_hello_from_server()
    await c.login(dovecot.user, dovecot.password)
    for raw in (b"\xff\xfe not a message at all \x80\r\n", mail(1),
                b"From: bob@example.com\r\nContent-Type: multipart/mixed; boundary=q\r\n\r\n--q\r\nbroken"):
        assert (await c.append(raw, mailbox="INBOX")).result == "OK"
    await c.logout()
    s = await make(desk, dovecot)
    try:
        await s.once()
        assert await count(desk) == 3
        assert s.quarantined >= 1
        row = await desk.db.fetchone("SELECT count(*) FROM conversations WHERE quarantined = 1")
        assert row is not None and row[0] >= 1
        assert await s.once() == 0
    finally:
        await s.adapter.close()
