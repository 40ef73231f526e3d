"""The demo desk: built through the real paths, multilingual, hostile samples included, fast."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiosmtplib
import pytest

from omnidesk.demo import LocalReceiver, build_demo, simulate
from omnidesk.demo.builder import load_state
from omnidesk.demo.receiver import REFUSED_DOMAIN
from omnidesk.services.opendesk import open_desk
from omnidesk.services.sync import run_sync


async def scalar(desk, sql: str, *args):  # type: ignore[no-untyped-def]
    row = await desk.db.fetchone(sql, args)
    return row[0]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    directory = tmp_path_factory.mktemp("demo")
    began = time.perf_counter()
    config = asyncio.run(build_demo(directory, conversations=120, seed=7))
    return config, time.perf_counter() - began


async def test_build_is_fast_and_writes_a_loadable_config(built: tuple[Path, float]) -> None:
    config, seconds = built
    assert seconds < 10, f"build_demo took {seconds:.1f}s"
    from omnidesk.config import load_settings

    settings = load_settings(config)
    assert [a.name for a in settings.agents] == ["alice", "bob", "chen"]
    assert sum(1 for a in settings.agents if a.os_user) == 1
    (channel,) = settings.channels
    assert channel.kind == "maildir" and channel.options["smtp_host"] == "127.0.0.1"
    assert len(settings.views) >= 3


async def test_history_went_through_the_real_ingest_path(built: tuple[Path, float]) -> None:
    config, _ = built
    desk = await open_desk(config)
    try:
        conversations = await scalar(desk, "SELECT count(*) FROM conversations")
        assert conversations >= 120
        # Every inbound mail was ingested from a file: raw bytes kept, Maildir cursor stored.
        inbound = await scalar(desk, "SELECT count(*) FROM messages WHERE direction = 'in' AND channel_id ="
                                     " (SELECT id FROM channels WHERE name = 'support')")
        files = len(list((config.parent / "maildir" / "new").iterdir())) + len(
            list((config.parent / "maildir" / "cur").iterdir()))
        assert inbound == files
        assert await scalar(desk, "SELECT count(*) FROM cursors") >= 1
        texts = " ".join(r[0] for r in await desk.db.fetchall("SELECT subject || ' ' || text FROM messages"))
        for sample in ("refund", "visszatérítés", "退款", "buyurtma", "سفارش"):
            assert sample.lower() in texts.lower(), sample
    finally:
        await desk.db.close()


async def test_agents_acted_tags_notes_calls_statuses(built: tuple[Path, float]) -> None:
    config, _ = built
    desk = await open_desk(config)
    try:
        assigned = await desk.db.fetchall(
            "SELECT a.name, count(*) FROM conversations c JOIN agents a ON a.id = c.assignee_id"
            " GROUP BY a.name")
        assert {r[0] for r in assigned} == {"alice", "bob", "chen"}
        assert await scalar(desk, "SELECT count(DISTINCT tag_id) FROM conversation_tags") >= 5
        assert await scalar(desk, "SELECT count(*) FROM messages WHERE direction = 'note'") > 0
        calls = await scalar(desk, "SELECT count(*) FROM messages m JOIN channels c ON c.id = m.channel_id"
                                   " WHERE c.kind = 'phone'")
        assert calls > 0
        # Cross-channel customers: an email identity and a phone identity on one customer.
        assert await scalar(desk, "SELECT count(*) FROM (SELECT customer_id FROM identities"
                                  " GROUP BY customer_id HAVING count(DISTINCT kind) > 1)") > 0
        statuses = {r[0] for r in await desk.db.fetchall("SELECT DISTINCT status FROM conversations")}
        assert {"open", "pending", "resolved", "snoozed"} <= statuses
        assert await scalar(desk, "SELECT count(*) FROM events WHERE agent_id IS NOT NULL") > 100
        # The agents' work is spread over the days after each mail, not all "just now", in order.
        recent = await scalar(desk, "SELECT count(*) FROM conversations WHERE last_activity_at > ?",
                              int(time.time() * 1000) - 60_000)
        assert recent <= 3
        future = await scalar(desk, "SELECT count(*) FROM messages WHERE sent_at > ? OR received_at > ?",
                              int(time.time() * 1000), int(time.time() * 1000))
        assert future == 0
        assert await scalar(desk, "SELECT count(*) FROM messages o WHERE o.direction = 'out' AND o.sent_at <"
                                  " (SELECT min(sent_at) FROM messages i"
                                  "  WHERE i.conversation_id = o.conversation_id"
                                  "  AND i.direction = 'in')") == 0
    finally:
        await desk.db.close()


async def test_replies_really_left_and_one_failed_with_the_servers_words(built: tuple[Path, float]) -> None:
    config, _ = built
    desk = await open_desk(config)
    try:
        sent = await scalar(desk, "SELECT count(*) FROM messages"
                                  " WHERE direction = 'out' AND delivery = 'sent'")
        assert sent > 0
        assert len(list((config.parent / "received").iterdir())) == sent
        error = await scalar(desk, "SELECT delivery_error FROM messages WHERE delivery = 'failed'")
        assert "550 5.1.1" in error and REFUSED_DOMAIN in error
        # Customers answered some replies (threaded onto the same conversation by In-Reply-To).
        thanked = await scalar(
            desk, "SELECT count(*) FROM messages i JOIN messages o ON o.conversation_id = i.conversation_id"
                  " WHERE i.direction = 'in' AND o.direction = 'out' AND i.sent_at > o.sent_at")
        assert thanked > 0
    finally:
        await desk.db.close()


async def test_hostile_samples_quarantine_and_auto_reply_are_stored_verbatim(
        built: tuple[Path, float]) -> None:
    config, _ = built
    desk = await open_desk(config)
    try:
        subjects = [r[0] for r in await desk.db.fetchall("SELECT subject FROM conversations")]
        assert any("[bold red]" in s for s in subjects)
        assert any("\x1b[31m" in s for s in subjects)
        assert any("\u202e" in s for s in subjects)
        assert await scalar(desk, "SELECT count(*) FROM conversations WHERE quarantined = 1") >= 1
        assert await scalar(desk, "SELECT count(*) FROM messages WHERE flags LIKE '%auto-reply%'") >= 1
    finally:
        await desk.db.close()


async def test_simulate_writes_mail_the_sync_ingests(tmp_path: Path) -> None:
    config = await build_demo(tmp_path, conversations=10, seed=2)
    desk = await open_desk(config)
    try:
        before = await scalar(desk, "SELECT count(*) FROM messages WHERE direction = 'in'")
        written = await simulate(tmp_path, asyncio.Event(), interval=(0.0, 0.01), seed=5, limit=4)
        assert written == 4
        report = await run_sync(desk, once=True, stop=asyncio.Event(), dispatch=False)
        assert report.channels["support"].imported == 4
        assert await scalar(desk, "SELECT count(*) FROM messages WHERE direction = 'in'") == before + 4
        assert load_state(tmp_path)["smtp_port"] == desk.settings.channels[0].options["smtp_port"]
    finally:
        await desk.db.close()


async def test_local_receiver_captures_and_refuses_the_unreachable_domain(tmp_path: Path) -> None:
    async with LocalReceiver(directory=tmp_path / "got") as receiver:
        await aiosmtplib.send("Subject: hi\r\n\r\nbody\r\n", sender="support@omnidesk.example",
                              recipients=["ann@mail.example"], hostname="127.0.0.1", port=receiver.port)
        (captured,) = await receiver.wait_for(1)
        assert captured.rcpt_tos == ("ann@mail.example",) and captured.message["Subject"] == "hi"
        assert len(list((tmp_path / "got").iterdir())) == 1
        with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
            await aiosmtplib.send("Subject: x\r\n\r\nx\r\n", sender="support@omnidesk.example",
                                  recipients=[f"nobody@{REFUSED_DOMAIN}"], hostname="127.0.0.1",
                                  port=receiver.port)
