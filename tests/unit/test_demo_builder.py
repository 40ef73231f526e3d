"""The demo desk: built through the real paths, multilingual, hostile samples included, fast; mail,
Slack, Telegram, Mastodon, SMS and WhatsApp (the fakes), and a customer who writes on four channels."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import aiosmtplib
import pytest

from omnidesk.demo import LocalReceiver, build_demo, corpus, simulate
from omnidesk.demo.builder import load_state
from omnidesk.demo.chat import ChatServices
from omnidesk.demo.receiver import REFUSED_DOMAIN
from omnidesk.services.opendesk import open_desk
from omnidesk.services.sync import run_sync


async def scalar(desk, sql: str, *args):  # type: ignore[no-untyped-def]
    row = await desk.db.fetchone(sql, args)
    return row[0]


@pytest.fixture(scope="module")
def chat() -> Iterator[ChatServices]:
    with ChatServices() as services:
        yield services


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, chat: ChatServices) -> tuple[Path, float]:
    directory = tmp_path_factory.mktemp("demo")
    began = time.perf_counter()
    config = asyncio.run(build_demo(directory, conversations=120, seed=7, chat=chat))
    return config, time.perf_counter() - began


async def test_build_is_fast_and_writes_a_loadable_config(built: tuple[Path, float]) -> None:
    config, seconds = built
    assert seconds < 10, f"build_demo took {seconds:.1f}s"
    from omnidesk.config import load_settings

    assert config.stat().st_mode & 0o077 == 0, "the config holds tokens: owner only"
    settings = load_settings(config)
    assert [a.name for a in settings.agents] == ["alice", "bob", "chen"]
    assert sum(1 for a in settings.agents if a.os_user) == 1
    channel, slack, telegram, mastodon, sms = settings.channels
    assert channel.kind == "maildir" and channel.options["smtp_host"] == "127.0.0.1"
    # The chat channels reach the fakes on loopback only, through their configured URLs.
    assert (slack.kind, telegram.kind, mastodon.kind, sms.kind) == ("slack", "telegram", "mastodon", "twilio")
    for url in (slack.options["api_url"], telegram.options["api_url"], mastodon.options["instance"],
                sms.options["api_url"]):
        assert url.startswith("http://127.0.0.1:"), url
    assert sms.options["numbers"] == ["+15005550006", "whatsapp:+14155238886"]
    assert [t.split("=")[0] for t in sms.options["whatsapp_templates"]] == ["order_update", "delivery_delay"]
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
        # The agents' work is spread over the days after each mail, not all "just now", in order
        # (chat customers, and the one who moved to Telegram, are writing just now).
        recent = await scalar(desk, "SELECT count(*) FROM conversations WHERE last_activity_at > ?"
                                    " AND channel_id = (SELECT id FROM channels WHERE name = 'support')",
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
        sent = await scalar(desk, "SELECT count(*) FROM messages WHERE direction = 'out'"
                                  " AND delivery = 'sent'"
                                  " AND channel_id = (SELECT id FROM channels WHERE name = 'support')")
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


async def chat_rows(desk, kind: str):  # type: ignore[no-untyped-def]
    return await desk.db.fetchall(
        "SELECT m.conversation_id, m.direction, m.text, m.delivery FROM messages m"
        " JOIN channels c ON c.id = m.channel_id WHERE c.kind = ? ORDER BY m.id", (kind,))


async def test_chat_customers_wrote_through_the_fakes(built: tuple[Path, float]) -> None:
    config, _ = built
    desk = await open_desk(config)
    try:
        kinds = ("slack", "telegram", "mastodon", "twilio")
        for kind in kinds:
            inbound = [r for r in await chat_rows(desk, kind) if r[1] == "in"]
            assert len({r[0] for r in inbound}) >= 2, f"{kind}: conversations of more than one customer"
        rows = [r for kind in kinds for r in await chat_rows(desk, kind)]
        texts = " ".join(r[2] for r in rows)
        for language in ("hu", "zh", "fa"):  # Hungarian accents, Chinese, Persian (RTL) lines
            assert any(line in texts for line in corpus.CHAT_LINES[language]), language
    finally:
        await desk.db.close()


async def test_the_customer_on_four_channels_is_one_customer_with_one_story(
        built: tuple[Path, float]) -> None:
    from omnidesk.conversations import reads

    config, _ = built
    crossing = load_state(config.parent)["cross_channel_conversation"]
    desk = await open_desk(config)
    try:
        conversation = await reads.get_conversation(desk, crossing)
        # One customer: her email, the Telegram user, the phone she shared (SMS and WhatsApp write
        # from it) and the Mastodon handle an agent added are four identities of the same person.
        customer = conversation.customer
        assert sorted(i.kind for i in customer.identities) == ["email", "mastodon", "phone", "telegram"]
        # Every message she wrote is in the one conversation, in the order she wrote them.
        said = [m for m in conversation.messages if m.direction == "in"]
        order = [(m.channel_kind, (m.meta.get("twilio") or {}).get("transport")) for m in said
                 if m.channel_kind not in ("maildir", "phone") and "Shared a contact" not in m.text]
        assert order == [("telegram", None), ("twilio", "sms"), ("twilio", "whatsapp"), ("mastodon", None)]
        assert said[0].channel_kind == "maildir"
        texts = " ".join(m.text for m in said)
        assert corpus.CHAT_LINES["hu"][3] in texts and all(line in texts for line in corpus.MOVER_LINES)
        # Her customer screen's story: the channel switches between the entries.
        story = await reads.customer_timeline(desk, customer.id, limit=500)
        switched = [e.message.channel_kind for e in story.entries
                    if e.switched and e.message is not None and e.message.conversation_id == crossing]
        assert {"telegram", "twilio", "mastodon"} <= set(switched)
        assert len(await reads.find_customers(desk, "+3615550100")) <= 1  # no second customer of her phone
    finally:
        await desk.db.close()


async def test_the_late_whatsapp_customer_can_be_answered_only_with_a_template(
        built: tuple[Path, float], chat: ChatServices) -> None:
    from omnidesk.errors import ChannelRefusal
    from omnidesk.services import services

    config, _ = built
    late = load_state(config.parent)["chat_conversations"]["whatsapp_window"]
    desk = await open_desk(config, as_agent="alice")
    try:
        with pytest.raises(ChannelRefusal, match=r"within 24 hours.*order_update") as refused:
            await services.queue_reply(desk, late, "Elnézést a késésért!")
        assert refused.value.templates == ("delivery_delay", "order_update")  # what the console offers
        queued = await services.queue_reply(desk, late, "", template="order_update",
                                            template_variables={"1": "A-1"})
        await services.cancel_reply(desk, queued.message_id)  # the module's desk stays as built
    finally:
        await desk.db.close()


async def test_a_chat_reply_went_out_through_each_adapter_into_its_fake(
        built: tuple[Path, float], chat: ChatServices) -> None:
    config, _ = built
    desk = await open_desk(config)
    try:
        # Twilio answers `queued` until the carrier moves the message on (the simulator does).
        for kind, states, replies in (("telegram", ("sent",), chat.telegram_replies),
                                      ("mastodon", ("sent",), chat.mastodon_replies),
                                      ("twilio", ("sent", "queued"), chat.sms_replies)):
            sent = [r for r in await chat_rows(desk, kind) if r[1] == "out" and r[3] in states]
            assert sent, f"a reply on {kind} was delivered"
            # Mastodon's reply starts with the customer's handle.
            assert all(any(r[2] in got for got in replies()) for r in sent), kind
    finally:
        await desk.db.close()


async def test_simulate_keeps_chat_customers_writing(tmp_path: Path) -> None:
    with ChatServices() as services:
        config = await build_demo(tmp_path, conversations=10, seed=3, chat=services)
        desk = await open_desk(config)
        try:
            before = {kind: len(await chat_rows(desk, kind)) for kind in ("slack", "telegram")}
            # Enough rounds that chat (30% of them) comes up; the seed makes it certain.
            written = await simulate(tmp_path, asyncio.Event(), chat=services, interval=(0.0, 0.01),
                                     seed=11, limit=12)
            assert written == 12
            await run_sync(desk, once=True, stop=asyncio.Event(), dispatch=False)
            after = {kind: len(await chat_rows(desk, kind)) for kind in ("slack", "telegram")}
            assert sum(after.values()) > sum(before.values())
        finally:
            await desk.db.close()


async def test_a_slack_member_whose_profile_email_is_a_mail_customer_is_that_customer(
        built: tuple[Path, float]) -> None:
    config, _ = built
    desk = await open_desk(config)
    try:
        both = await scalar(desk, "SELECT count(*) FROM identities s JOIN identities e"
                                  " ON e.customer_id = s.customer_id AND e.kind = 'email'"
                                  " WHERE s.kind = 'slack'")
        assert both >= 1
    finally:
        await desk.db.close()
