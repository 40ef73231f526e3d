"""The composer's route: ctrl+o switches the reply channel, ctrl+enter sends on it, and a draft
outlives the console that typed it."""

from __future__ import annotations

import time

from omnidesk.conversations import reads
from omnidesk.store import outbox
from omnidesk.store.drafts import get_draft
from tests.tui.conftest import make_app, open_conversation, screen_text, until, until_async
from tests.unit import factories

SIZE = (160, 45)
ANN = 1  # the seed's "Refund for order 48213", from ann@example.com on `support`


def _composer(app):
    return getattr(app.screen, "open_composer", lambda: None)()


async def test_ctrl_o_switches_the_channel_and_ctrl_enter_sends_on_it(seeded):
    await factories.email_channel(seeded, "sales", "sales@example.com")
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await open_conversation(pilot, app, ANN)
        await pilot.press("r")
        await until(pilot, lambda: _composer(app) is not None, "composer")
        await until(pilot, lambda: "via support (email) to ann@example.com" in screen_text(app), "route")
        assert "ctrl+o switches channel" in screen_text(app)
        await pilot.press("ctrl+o")
        await until(pilot, lambda: "via sales (email) to ann@example.com" in screen_text(app), "switched")
        await pilot.press(*"Sales will call you", "ctrl+enter")
        await until(pilot, lambda: _composer(app) is None, "sent")

        async def replied():
            messages = (await reads.get_conversation(seeded, ANN)).messages
            return [m for m in messages if m.direction == "out"]

        out = (await until_async(pilot, replied, "reply stored"))[0]
    assert (out.channel_name, out.text.split("\n")[0]) == ("sales", "Sales will call you")
    # sent within the typing pause: the text went out and must not come back as a draft
    assert await _draft(seeded, ANN) is None
    far = int(time.time() * 1000) + 3_600_000
    claimed = await outbox.claim_due(seeded.db, owner="test:1", now=far, lease_ms=60_000)
    assert [(c.message_id, c.channel_name) for c in claimed] == [(out.id, "sales")]


async def _draft(desk, conversation_id: int) -> str | None:
    draft = await get_draft(desk.db, conversation_id=conversation_id, agent_id=desk.agent.id)
    return draft.body if draft is not None else None


async def test_quitting_right_after_typing_keeps_the_draft_for_the_next_console(seeded):
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await open_conversation(pilot, app, ANN)
        await pilot.press("r")
        await until(pilot, lambda: _composer(app) is not None, "composer")
        await until(pilot, lambda: not _composer(app)._loading_draft, "no stored draft yet")
        # ctrl+q before the typing pause that would save the draft has passed
        await pilot.press(*"Félkész válasz", "ctrl+q")
    assert await _draft(seeded, ANN) == "Félkész válasz"

    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await open_conversation(pilot, app, ANN)
        await pilot.press("r")
        await until(pilot, lambda: _composer(app) is not None, "composer")
        await until(pilot, lambda: _composer(app).text == "Félkész válasz", "draft restored")


async def test_every_route_the_composer_offers_is_one_the_service_accepts(seeded):
    """A customer also known by phone, with a logged call: no route on the phone channel is offered."""
    from omnidesk.services import services
    from omnidesk.store import customers
    from omnidesk.timeutil import now_ms

    customer_id = (await reads.get_conversation(seeded, ANN)).customer.id
    async with seeded.db.write() as conn:
        await customers.add_identity(conn, customer_id=customer_id, kind="phone", address="+3612345678",
                                     display_name="Ann Lee", now=now_ms())
    await services.log_call(seeded, direction="in", duration_seconds=30, notes="rang", conversation_id=ANN)
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await open_conversation(pilot, app, ANN)
        await pilot.press("r")
        await until(pilot, lambda: _composer(app) is not None, "composer")
        offered = [(r.channel, r.kind, r.to, r.address_kind) for r in _composer(app).routes]
    assert offered and all(kind != "phone" for _, kind, _, _ in offered), offered
    assert offered == [tuple(r) for r in await services.reply_routes(seeded, ANN)]
    for channel, _, to, _ in offered:
        result = await services.queue_reply(seeded, ANN, "ok", channel=channel, to=to)
        assert result.description.endswith(f"via {channel} to {to}")


async def test_a_chat_reply_defaults_to_the_chat_and_the_picker_switches_to_mail(seeded):
    """Éva mails, then writes on a chat channel: the composer starts on the chat (no Cc, Bcc, quote),
    shows into how many messages a long reply is cut, and ctrl+g picks the mail route instead."""
    from datetime import UTC, datetime

    from adapters.base import Address, Inbound
    from omnidesk import registry
    from omnidesk.inbound.ingest import ingest_records
    from omnidesk.store import customers
    from omnidesk.store.channels import ensure_channel
    from omnidesk.timeutil import now_ms
    from tests.fakes.recording_chat import CHAT_KIND, RecordingChat
    from tests.tui.conftest import ingest_from_eva

    registry.register(CHAT_KIND, RecordingChat)
    try:
        cid = await ingest_from_eva(seeded, "<ch-1@example.hu>", subject="Számla", text="Hol a számlám?")
        customer_id = (await reads.get_conversation(seeded, cid)).customer.id
        async with seeded.db.write() as conn:
            await customers.add_identity(conn, customer_id=customer_id, kind="telegram", address="5550001",
                                         display_name="Éva", now=now_ms())
        tg = await ensure_channel(seeded.db, "tg", CHAT_KIND, None)
        chat = Inbound(external_id="42", scope="5550001", sender=Address("telegram", "5550001", "Éva"),
                       sent_at=datetime(2026, 11, 20, 11, 45, tzinfo=UTC), text="Megvan?", chat_like=True)
        assert (await ingest_records(seeded, tg, [chat])).conversation_ids == [cid]
        app = make_app(seeded)
        async with app.run_test(size=SIZE) as pilot:
            await open_conversation(pilot, app, cid)
            await until(pilot, lambda: "the customer continued via tg (was support)" in screen_text(app),
                        "channel switch on the timeline")
            await pilot.press("r")
            await until(pilot, lambda: _composer(app) is not None, "composer")
            composer = _composer(app)
            await until(pilot, lambda: f"via tg ({CHAT_KIND}) to 5550001" in screen_text(app), "chat route")
            assert not composer.query_one("#composer-cc-row").display
            assert not composer.query_one("#composer-quote").display
            composer.query_one("TextArea").load_text("Kedves Éva! " * 400)  # 4,800 characters
            await until(pilot, lambda: "sent as 2 messages (at most 4,096 characters each on tg)"
                        in screen_text(app), "parts shown")
            await pilot.press("ctrl+g")
            await until(pilot, lambda: "via support to eva@example.hu" in screen_text(app), "route picker")
            await pilot.press("down", "enter")
            await until(pilot, lambda: "via support (email) to eva@example.hu" in screen_text(app), "picked")
            assert composer.query_one("#composer-cc-row").display
            assert composer.query_one("#composer-quote").display
            assert not composer.query_one("#composer-parts").display  # mail has no length limit
    finally:
        registry.unregister(CHAT_KIND)


async def test_the_composer_shows_the_channels_reply_note_as_the_reply_is_typed(seeded):
    """A direct message on Mastodon: the line under the reply says the visibility and the characters
    used of the instance's limit (the handle counted), and warns past it."""
    from datetime import UTC, datetime

    from adapters.base import Address, Inbound
    from omnidesk.inbound.ingest import ingest_records
    from omnidesk.store.channels import ensure_channel

    social = await ensure_channel(seeded.db, "social", "mastodon", None)
    meta = {"mastodon": {"status_id": "113000000000000022", "visibility": "direct",
                         "acct": "maryam@fosstodon.org", "max_characters": 100}}
    dm = Inbound(external_id="113000000000000022", scope="mastodon.example", chat_like=True, meta=meta,
                 sender=Address("mastodon", "maryam@fosstodon.org", "مریم"), text="سفارشم کجاست؟",
                 sent_at=datetime(2026, 11, 20, 11, 45, tzinfo=UTC))
    (cid,) = (await ingest_records(seeded, social, [dm])).conversation_ids
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await open_conversation(pilot, app, cid)
        await pilot.press("r")
        await until(pilot, lambda: _composer(app) is not None, "composer")
        await until(pilot, lambda: "via social (mastodon) to maryam@fosstodon.org" in screen_text(app),
                    "route")
        await until(pilot, lambda: "direct · 8 of 100 characters" in screen_text(app), "note, empty reply")
        await pilot.press(*"فردا")
        await until(pilot, lambda: "direct · 12 of 100 characters" in screen_text(app), "note as typed")
        _composer(app).query_one("TextArea").load_text("word " * 30)
        await until(pilot, lambda: "direct · 158 of 100 characters: over the limit by 58, goes out as 2"
                    in screen_text(app), "warning past the limit")
        assert not _composer(app).query_one("#composer-parts").display  # the note says how it is cut
