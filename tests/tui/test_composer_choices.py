"""The composer's reply options (ctrl+n): Mastodon's visibility chosen and sent so to the instance;
WhatsApp's approved templates offered when the 24-hour window refuses a free-form reply, and the
chosen one sent to Twilio. Real adapters against the fakes; the console queues, a dispatcher sends."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from omnidesk.conversations import reads
from omnidesk.demo.fakes import twilio as fake_twilio
from omnidesk.demo.fakes.mastodon import TOKEN, FakeMastodon
from omnidesk.demo.fakes.twilio import FakeTwilio
from omnidesk.desk import Desk
from omnidesk.outbound.outbox import Dispatcher
from omnidesk.services.sync import run_sync
from omnidesk.settings import ChannelSettings
from omnidesk.tui.widgets.picker import PickerScreen
from tests.tui.conftest import make_app, open_conversation, screen_text, until

SIZE = (160, 45)
TEMPLATES = ["order_update=HX" + "6f" * 16, "delivery_delay=HX" + "d1" * 16]


@pytest.fixture
def social() -> Iterator[FakeMastodon]:
    with FakeMastodon() as fake:
        yield fake


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio() as fake:
        yield fake


def _with(desk: Desk, channel: ChannelSettings) -> Desk:
    """`desk` with `channel` configured, and replies due at once (no undo window to wait out)."""
    s = desk.settings
    return replace(desk, settings=replace(s, desk=replace(s.desk, undo_seconds=0),
                                          channels=(*s.channels, channel)))


async def _read_in(desk: Desk, channel: str) -> int:
    report = await asyncio.wait_for(run_sync(desk, once=True, stop=asyncio.Event(), channels=[channel],
                                             dispatch=False), 60)
    assert not report.channels[channel].last_error, report
    return (await reads.list_conversations(desk, f"channel:{channel}")).items[0].id


async def _send_due(desk: Desk) -> None:
    dispatcher = Dispatcher(desk, backoff_base=0.1)
    try:
        await dispatcher.run_once()
    finally:
        await dispatcher.close()


def _composer(app):  # type: ignore[no-untyped-def]
    return getattr(app.screen, "open_composer", lambda: None)()


async def _compose(pilot, app, cid: int) -> None:  # type: ignore[no-untyped-def]
    """Open conversation `cid` and its reply composer, and wait until it takes the keys."""
    await open_conversation(pilot, app, cid)
    await pilot.press("r")
    await until(pilot, lambda: _composer(app) is not None and _composer(app).has_focus_within, "composer")


async def _pick(pilot, app, typed: str) -> None:  # type: ignore[no-untyped-def]
    await until(pilot, lambda: isinstance(app.screen, PickerScreen), "the picker")
    await pilot.press(*typed, "enter")


async def test_the_agent_chooses_public_for_a_public_mention_and_it_is_posted_public(seeded, social):
    desk = _with(seeded, ChannelSettings("social", "mastodon", options={
        "instance": social.base_url, "access_token": TOKEN, "refresh_minutes": 0}))
    li = social.account("li_na", "mastodon.social", display_name="李娜")
    social.mention(li, "你好，我的退款什么时候到账？", visibility="public")
    cid = await _read_in(desk, "social")
    app = make_app(desk)
    async with app.run_test(size=SIZE) as pilot:
        await _compose(pilot, app, cid)
        # What the reply would go out as, and how to change it.
        await until(pilot, lambda: "unlisted · " in screen_text(app), "the default visibility in the note")
        assert "ctrl+n chooses visibility" in screen_text(app)
        await pilot.press("ctrl+n")
        await _pick(pilot, app, "public")
        await until(pilot, lambda: "visibility: public (your choice)" in screen_text(app), "the choice shown")
        assert "public · " in screen_text(app) and "unlisted · " not in screen_text(app)
        _composer(app).query_one("TextArea").insert("已收到，我们马上处理。")  # full-width marks are no keys
        await pilot.press("ctrl+enter")
        await until(pilot, lambda: _composer(app) is None, "the reply queued")
    await _send_due(desk)
    (posted,) = social.posted()
    assert posted["visibility"] == "public" and posted["in_reply_to_id"] is not None
    assert "已收到，我们马上处理。" in posted["content"] and "@li_na@mastodon.social" in posted["content"]


async def test_a_refused_whatsapp_reply_offers_the_templates_and_sends_the_chosen_one(seeded, twilio):
    desk = _with(seeded, ChannelSettings("sms", "twilio", options={
        "account_sid": fake_twilio.ACCOUNT_SID, "auth_token": fake_twilio.AUTH_TOKEN,
        "api_url": twilio.api_url, "numbers": ["+15005550006", "whatsapp:+14155238886"],
        "whatsapp_templates": TEMPLATES}))
    twilio.text("whatsapp:+36301234567", "whatsapp:+14155238886", "Hol a csomagom? 😕",
                at=datetime.now(UTC).replace(microsecond=0) - timedelta(hours=30), profile_name="Anna")
    cid = await _read_in(desk, "sms")
    app = make_app(desk)
    async with app.run_test(size=SIZE) as pilot:
        await _compose(pilot, app, cid)
        await until(pilot, lambda: "ctrl+n chooses an approved template" in screen_text(app), "offered")
        await pilot.press(*"Holnap érkezik", "ctrl+enter")
        # The window refuses the free text; the channel's templates are offered instead.
        picker = await until(pilot, lambda: isinstance(app.screen, PickerScreen) and app.screen, "templates")
        assert "within 24 hours" in picker.title_text and "Send an approved template" in picker.title_text
        assert sorted(c.value for c in picker.choices) == ["delivery_delay", "order_update"]
        await _pick(pilot, app, "order")
        await _pick(pilot, app, '1=Anna 2="A-12 345"')
        await until(pilot, lambda: _composer(app) is None, "the template queued")
    assert twilio.sent() == []  # nothing free-form was queued, nothing left yet
    await _send_due(desk)
    (sent,) = twilio.sent()
    assert sent["to"] == "whatsapp:+36301234567" and sent["from"] == "whatsapp:+14155238886"
    content, variables = sent["_content"]
    assert content == "HX" + "6f" * 16 and json.loads(variables) == {"1": "Anna", "2": "A-12 345"}
    stored = [m for m in (await reads.get_conversation(desk, cid)).messages if m.direction == "out"]
    assert [m.text for m in stored] == ["[template order_update 1=Anna 2=A-12 345]"]
