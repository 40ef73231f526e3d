"""A desk with a Twilio channel on FakeTwilio: sync, replies, delivery, opt-out, the WhatsApp window."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from omnidesk.demo.fakes.telegram import TOKEN, FakeTelegram
from omnidesk.demo.fakes.twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from omnidesk.errors import UserError
from omnidesk.outbound.outbox import Dispatcher
from omnidesk.services import services
from omnidesk.services.sync import run_sync
from omnidesk.settings import ChannelSettings
from tests.integration.sync_env import open_desk_with

SMS = "+15005550006"
WA = "whatsapp:+14155238886"
ANNA = "+36301234567"
TEMPLATE = "HX0123456789abcdef0123456789abcdef"


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio() as server:
        yield server


def twilio_channel(fake: FakeTwilio) -> ChannelSettings:
    return ChannelSettings(
        name="sms",
        kind="twilio",
        options={
            "api_url": fake.api_url,
            "account_sid": ACCOUNT_SID,
            "auth_token": AUTH_TOKEN,
            "numbers": [SMS, WA],
            "whatsapp_templates": [f"order_update={TEMPLATE}"],
            "poll_seconds": 1,
        },
    )


async def sync(desk: Any) -> Any:
    report = await run_sync(desk, once=True, stop=asyncio.Event(), dispatch=False)
    assert report.ok, report
    return report


async def one(desk: Any, sql: str, *args: Any) -> Any:
    row = await desk.db.fetchone(sql, args)
    return None if row is None else tuple(row)


async def test_sync_files_sms_and_whatsapp_of_one_phone_as_one_customer_in_persian_and_chinese(
    tmp_path: Path, fake: FakeTwilio
) -> None:
    fake.text(ANNA, SMS, "سلام، سفارش من کجاست؟")
    fake.text("whatsapp:" + ANNA, WA, "我的退款在哪里？")
    desk = await open_desk_with(tmp_path, twilio_channel(fake))
    try:
        report = await sync(desk)
        assert report.channels["sms"].imported == 2
        assert await one(desk, "SELECT count(*) FROM customers") == (1,)
        assert await one(desk, "SELECT kind, address FROM identities") == ("phone", ANNA)
        assert (await sync(desk)).channels["sms"].imported == 0  # the overlap read again, nothing doubled
        assert await one(desk, "SELECT count(*) FROM messages") == (2,)
    finally:
        await desk.db.close()


async def test_one_phone_on_sms_whatsapp_and_telegram_is_one_customer(
    tmp_path: Path, fake: FakeTwilio
) -> None:
    with FakeTelegram() as tg:
        anna = FakeTelegram.user(5550001, "Anna", last_name="Kovács")
        tg.share_contact(anna, ANNA.removeprefix("+"))
        fake.text(ANNA, SMS, "Szia, itt Anna SMS-ben")
        fake.text("whatsapp:" + ANNA, WA, "és WhatsAppon is")
        telegram = ChannelSettings(
            name="bot",
            kind="telegram",
            options={"api_url": tg.api_url, "token": TOKEN, "long_poll_seconds": 1},
        )
        desk = await open_desk_with(tmp_path, telegram, twilio_channel(fake))
        try:
            await sync(desk)
            assert await one(desk, "SELECT count(*) FROM messages WHERE direction = 'in'") == (3,)
            assert await one(desk, "SELECT count(DISTINCT customer_id) FROM identities") == (1,)
            kinds = await desk.db.fetchall("SELECT kind FROM identities ORDER BY kind")
            assert [r[0] for r in kinds] == ["phone", "telegram"]
        finally:
            await desk.db.close()


async def test_a_reply_is_sent_and_its_failed_delivery_shows_30007_and_its_meaning(
    tmp_path: Path, fake: FakeTwilio
) -> None:
    fake.text(ANNA, SMS, "Mi a kódom?")
    desk = await open_desk_with(tmp_path, twilio_channel(fake))
    try:
        await sync(desk)
        (cid,) = await one(desk, "SELECT id FROM conversations")
        fake.fail_next(30007)
        result = await services.queue_reply(desk, cid, "A kódja 1234")
        assert (await Dispatcher(desk).run_once()).sent == 1
        (sent,) = fake.sent()
        assert (sent["from"], sent["to"]) == (SMS, ANNA)
        fake.advance()
        fake.advance()
        await sync(desk)
        delivery, error = await one(
            desk, "SELECT delivery, delivery_error FROM messages WHERE id = ?", result.message_id
        )
        assert delivery == "undelivered" and error.startswith("30007 Message filtered")
        (after,) = await one(
            desk, "SELECT after FROM events WHERE kind = 'delivery_changed' ORDER BY id DESC LIMIT 1"
        )
        assert '"code":"30007"' in after
    finally:
        await desk.db.close()


async def test_stop_opts_out_nothing_is_queued_and_start_subscribes_again(
    tmp_path: Path, fake: FakeTwilio
) -> None:
    fake.text(ANNA, SMS, "Hol a csomagom?")
    desk = await open_desk_with(tmp_path, twilio_channel(fake), undo_seconds=30)
    try:
        await sync(desk)
        (cid,) = await one(desk, "SELECT id FROM conversations")
        queued = await services.queue_reply(desk, cid, "Holnap érkezik.")  # waits in the undo window
        fake.text(ANNA, SMS, "stop")
        await sync(desk)
        assert (await one(desk, "SELECT opted_out_at IS NOT NULL FROM identities")) == (1,)
        assert await one(desk, "SELECT count(*) FROM events WHERE kind = 'opted_out'") == (1,)
        with pytest.raises(UserError, match="opted out"):
            await services.queue_reply(desk, cid, "Még valami")
        # The reply queued before the STOP is not sent either.
        await _due_now(desk)
        stats = await Dispatcher(desk).run_once()
        assert stats.sent == 0 and stats.failed == 1 and "opted out" in stats.errors[0]
        assert fake.sent() == []
        fake.text(ANNA, SMS, "START")
        await sync(desk)
        assert await one(desk, "SELECT opted_out_at FROM identities") == (None,)
        assert await one(desk, "SELECT count(*) FROM events WHERE kind = 'opted_in'") == (1,)
        await services.queue_reply(desk, cid, "Újra itt vagyunk.")
        assert queued.message_id is not None
    finally:
        await desk.db.close()


async def _due_now(desk: Any) -> None:
    async with desk.db.write() as conn:
        await conn.execute("UPDATE outbox SET not_before = 0, next_attempt_at = 0")


async def test_the_whatsapp_window_refuses_a_late_reply_then_a_template_goes_out(
    tmp_path: Path, fake: FakeTwilio
) -> None:
    fake.text(
        "whatsapp:" + ANNA, WA, "Szia", at=datetime.now(UTC).replace(microsecond=0) - timedelta(hours=30)
    )
    desk = await open_desk_with(tmp_path, twilio_channel(fake))
    try:
        await sync(desk)
        (cid,) = await one(desk, "SELECT id FROM conversations")
        with pytest.raises(UserError, match="24 hours") as refused:
            await services.queue_reply(desk, cid, "Szia Anna!")
        assert "--template order_update" in str(refused.value)
        assert await one(desk, "SELECT count(*) FROM outbox") == (0,)
        with pytest.raises(UserError, match="no WhatsApp template named 'promo'"):
            await services.queue_reply(desk, cid, "", template="promo")
        await services.queue_reply(desk, cid, "", template="order_update", template_variables={"1": "Anna"})
        assert (await Dispatcher(desk).run_once()).sent == 1
        (call,) = fake.calls("Messages.create")
        assert (call.params["ContentSid"], call.params["To"], call.params["From"]) == (
            TEMPLATE,
            "whatsapp:" + ANNA,
            WA,
        )
    finally:
        await desk.db.close()


async def test_revoked_credentials_mark_the_channel_unhealthy_with_the_reason(
    tmp_path: Path, fake: FakeTwilio
) -> None:
    channel = twilio_channel(fake)
    revoked = ChannelSettings(
        name="sms", kind="twilio", options={**channel.options, "auth_token": "0ld7ok3nRev0ked"}
    )
    desk = await open_desk_with(tmp_path, revoked)
    try:
        report = await run_sync(desk, once=True, stop=asyncio.Event(), dispatch=False)
        assert not report.ok
        error = report.channels["sms"].last_error or ""
        assert "account_sid and auth_token" in error and "0ld7ok3nRev0ked" not in error
    finally:
        await desk.db.close()


async def test_a_webhook_and_polling_together_store_each_message_once(
    tmp_path: Path, fake: FakeTwilio
) -> None:
    from datetime import UTC, datetime

    from adapters.base import WebhookRequest
    from omnidesk.inbound.ingest import ingest_batch
    from omnidesk.registry import build_adapter
    from omnidesk.store.channels import get_channel

    message = fake.text(ANNA, SMS, "Előbb webhookon jön")
    desk = await open_desk_with(tmp_path, twilio_channel(fake))
    adapter = build_adapter(twilio_channel(fake))
    try:
        await sync(desk)  # registers the channel (and polls the message once)
        url = "https://desk.example.com/hooks/sms"
        headers, body = fake.signed(url, fake.incoming_params(message))
        batch, _ = await adapter.webhook(WebhookRequest("POST", "", url, headers, body, datetime.now(UTC)))
        assert batch is not None
        channel = await get_channel(desk.db, "sms")
        assert channel is not None
        await ingest_batch(desk, channel, batch)
        await ingest_batch(desk, channel, batch)  # Twilio retries an unacknowledged callback
        await sync(desk)
        assert await one(desk, "SELECT count(*) FROM messages") == (1,)
    finally:
        await adapter.close()
        await desk.db.close()
