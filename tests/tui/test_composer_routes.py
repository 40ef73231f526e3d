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
