"""Telegram's webhook mode in the real daemon: setWebhook at start, pushes checked and stored, no polls."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest

from omnidesk.demo.fakes.telegram import TOKEN, FakeTelegram
from omnidesk.services.sync import run_sync
from omnidesk.settings import ChannelSettings
from omnidesk.sla.policy import Policy
from omnidesk.store.reads import timeline
from omnidesk.store.sla import fingerprint
from tests.integration.sync_env import open_desk_with
from tests.integration.test_telegram_sync import PEOPLE, to_the_bot
from tests.integration.webhook_env import counts, daemon

SECRET = "desk-Secret_0123456789"


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


def webhook_channel(fake: FakeTelegram, secret: str = SECRET) -> ChannelSettings:
    return ChannelSettings(name="bot", kind="telegram", options={
        "api_url": fake.api_url, "token": TOKEN, "webhook": True, "webhook_secret": secret})


async def test_updates_are_pushed_stored_and_edited_without_get_updates(tmp_path: Path,
                                                                         tg: FakeTelegram) -> None:
    waiting = tg.say(PEOPLE[0], "még a webhook előtt")  # not confirmed yet: Telegram pushes it once set
    async with daemon(tmp_path, webhook_channel(tg)) as d:
        await asyncio.to_thread(tg.wait_for, lambda: tg.webhook_url == d.url("bot"), 20)
        assert tg.webhook_secret == SECRET and set(tg.webhook_allowed) == {"message", "edited_message"}
        said = tg.say(PEOPLE[1], "سفارش من کجاست؟")
        tg.say(PEOPLE[2], "我的退款在哪里？", reply_to=said)
        to_the_bot(tg, PEOPLE[3], "guruhda savol")
        tg.say(PEOPLE[4], "not for the bot", chat=tg.chats[-1001234567890])
        tg.edit(said, "سفارشم رسید، ممنون")
        assert tg.pusher is not None
        await asyncio.to_thread(tg.pusher.wait_idle, 20)
        assert tg.updates == []  # every push answered 2xx: Telegram forgets them
        rows = [tuple(r) for r in await d.desk.db.fetchall(
            "SELECT scope, external_id, text, conversation_id FROM messages ORDER BY id")]
        assert [r[2] for r in rows] == ["még a webhook előtt", "سفارشم رسید، ممنون", "我的退款在哪里？",
                                        "@desk_test_bot guruhda savol"]
        assert rows[0][:2] == (str(PEOPLE[0]["id"]), str(waiting["message_id"]))
        shown = await timeline(d.desk.db, rows[1][3], None)
        assert shown is not None and [e.text for e in shown.messages[0].edits] == ["سفارش من کجاست؟"]
    assert tg.calls("getUpdates") == []  # Telegram refuses it while a webhook is set


async def test_a_pushed_message_starts_its_sla_clock(tmp_path: Path, tg: FakeTelegram) -> None:
    policy = Policy("chat", (("first_response", 3_600_000),))
    async with daemon(tmp_path, webhook_channel(tg), sla=(policy,)) as d:
        await asyncio.to_thread(tg.wait_for, lambda: tg.webhook_url == d.url("bot"), 20)
        await until(lambda: fingerprint(d.desk.db))  # the start-up recompute is over: it cannot be that
        tg.say(PEOPLE[1], "Hol a csomagom? 我的包裹在哪里？")
        assert tg.pusher is not None
        await asyncio.to_thread(tg.pusher.wait_idle, 20)

        async def clock() -> object:
            return await d.desk.db.fetchone(
                "SELECT k.target, k.policy, k.due_at > k.started_at, c.sla_due_at"
                " FROM sla_clocks k JOIN conversations c ON c.id = k.conversation_id")

        row = await until(clock)
        assert tuple(row)[:3] == ("first_response", "chat", 1) and row[3] is not None


async def until(probe: Callable[[], Awaitable[object]], timeout: float = 20.0) -> object:
    """The first truthy value of `probe`, polled until `timeout` seconds have passed."""
    async with asyncio.timeout(timeout):
        while not (found := await probe()):
            await asyncio.sleep(0.02)
    return found


async def test_a_missing_or_wrong_secret_token_is_refused_and_stores_nothing(tmp_path: Path,
                                                                              tg: FakeTelegram) -> None:
    update = {"update_id": 900000001, "message": {
        "message_id": 1, "date": 1800000000, "text": "forged",
        "from": {"id": 5550009, "is_bot": False, "first_name": "Eve"},
        "chat": {"id": 5550009, "type": "private", "first_name": "Eve"}}}
    body = json.dumps(update).encode()
    async with daemon(tmp_path, webhook_channel(tg)) as d, httpx.AsyncClient(trust_env=False) as client:
        refused = [await client.post(d.url("bot"), content=body, headers=headers) for headers in (
            {}, {"X-Telegram-Bot-Api-Secret-Token": "desk-Secret_012345678"},
            {"X-Telegram-Bot-Api-Secret-Token": SECRET + "x"})]
        assert [r.status_code for r in refused] == [401, 403, 403]
        assert await counts(d.desk) == (0, 0, 0, 0)
        right = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        for _ in range(2):  # re-delivered: the same update_id, the same message
            assert (await client.post(d.url("bot"), content=body, headers=right)).status_code == 200
        assert (await counts(d.desk))[0] == 1
        bad = await client.post(d.url("bot"), content=b"[1, 2]", headers=right)
        assert bad.status_code == 400


async def test_sync_once_in_webhook_mode_neither_polls_nor_sets_the_webhook(tmp_path: Path,
                                                                            tg: FakeTelegram) -> None:
    tg.say(PEOPLE[0], "waits for the daemon")
    desk = await open_desk_with(tmp_path, webhook_channel(tg))
    try:
        report = await run_sync(desk, once=True, stop=asyncio.Event(), dispatch=False, webhooks=True)
        assert report.ok and report.channels["bot"].imported == 0
        assert tg.calls("getUpdates") == [] and tg.calls("setWebhook") == [] and len(tg.updates) == 1
    finally:
        await desk.db.close()


async def test_a_webhook_secret_telegram_would_refuse_is_named(tmp_path: Path, tg: FakeTelegram) -> None:
    async with daemon(tmp_path, webhook_channel(tg, secret="has spaces")) as d:
        async def failing() -> str:
            row = await d.desk.db.fetchone("SELECT last_error FROM channel_health")
            return str(row[0]) if row is not None and row[0] else ""

        from tests.integration.test_dispatcher import until

        error = await until(failing, timeout=20)
        assert "webhook_secret must be 1-256 characters" in error and "has spaces" not in error


async def test_doctor_connect_tells_where_updates_are_pushed(tmp_path: Path, tg: FakeTelegram) -> None:
    from adapters.telegram.channel import TelegramAdapter

    options = {"api_url": tg.api_url, "token": TOKEN, "webhook": True, "webhook_secret": SECRET}
    adapter = TelegramAdapter("bot", options, lambda key: str(options[key]))
    try:
        before = {s.step: s for s in await adapter.probe()}["telegram webhook"]
        assert before.status == "warn" and "no webhook is set yet" in before.detail
        async with daemon(tmp_path, webhook_channel(tg)) as d:
            await asyncio.to_thread(tg.wait_for, lambda: bool(tg.webhook_url), 20)
            after = {s.step: s for s in await adapter.probe()}
            assert after["telegram webhook"].status == "ok"
            assert after["telegram webhook"].detail == f"pushed to {d.url('bot')}, 0 pending"
    finally:
        await adapter.close()
