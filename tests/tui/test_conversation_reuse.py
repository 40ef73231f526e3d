"""One ConversationScreen serves every open: each open shows only its own conversation, presence,
composer and draft, as a freshly built screen would."""

from __future__ import annotations

from omnidesk.store import presence
from omnidesk.store.drafts import get_draft
from tests.tui.conftest import inbox_ready, make_app, open_conversation, screen_text, until, until_async

SIZE = (150, 40)
ANN, WANG = 1, 2  # the seeded refund thread, and the Chinese one
ELSEWHERE = "otherhost:4242"  # another agent's console, as a runner id


async def _viewers(desk, conversation_id: int) -> list[str]:
    rows = await presence.others(desk.db, conversation_id=conversation_id, runner=ELSEWHERE)
    return [r.activity for r in rows]


async def test_a_second_open_reuses_the_screen_and_shows_only_the_new_conversation(seeded):
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.conversation_screen is not None, "conversation screen built")
        first = await open_conversation(pilot, app, ANN)
        assert first is app.conversation_screen
        await until(pilot, lambda: "order 48213" in screen_text(app), "first timeline")
        await until_async(pilot, lambda: _viewers(seeded, ANN), "viewing the first")
        await pilot.press("escape")
        await until(pilot, lambda: inbox_ready(app), "back in the inbox")
        await until_async(pilot, lambda: _is_empty(_viewers(seeded, ANN)), "left the first")

        second = await open_conversation(pilot, app, WANG)
        assert second is first
        await until(pilot, lambda: "订单号 99120" in screen_text(app), "second timeline")
        assert "order 48213" not in screen_text(app)
        assert second.selected_message().conversation_id == WANG
        await until_async(pilot, lambda: _viewers(seeded, WANG), "viewing the second")
        assert await _viewers(seeded, ANN) == []


async def _is_empty(rows) -> bool:
    return not await rows


async def test_moving_to_the_next_conversation_keeps_the_draft_of_the_one_left(seeded):
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_conversation(pilot, app, ANN)
        await pilot.press("r")
        await until(pilot, lambda: screen.open_composer() is not None, "composer")
        await until(pilot, lambda: not screen.open_composer()._loading_draft, "draft loaded")
        await pilot.press(*"Refund is on its way")
        left = screen.conversation_id
        screen.next_conversation()  # J, as the composer has the keys
        await until(pilot, lambda: screen.conversation_id != left, "next conversation")
        await until(pilot, lambda: screen.conversation is not None, "next loaded")
        assert app.screen is screen
        assert screen.open_composer() is None
        agent = seeded.agent.id

        async def saved() -> bool:
            draft = await get_draft(seeded.db, conversation_id=left, agent_id=agent)
            return draft is not None and draft.body == "Refund is on its way"

        await until_async(pilot, saved, "the draft of the conversation left")
        await until_async(pilot, lambda: _is_empty(_viewers(seeded, left)), "left its presence")


async def test_a_late_read_of_the_previous_conversation_is_ignored(seeded):
    from omnidesk.conversations import reads
    from omnidesk.tui.screens.conversation import ConversationLoaded

    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        # Both opens must use the reused screen: one opened before the warm-up is a throw-away.
        await until(pilot, lambda: app.conversation_screen is not None, "conversation screen built")
        screen = await open_conversation(pilot, app, ANN)
        stale = await reads.get_conversation(seeded, ANN)
        await pilot.press("escape")
        await until(pilot, lambda: inbox_ready(app), "back in the inbox")
        assert await open_conversation(pilot, app, WANG) is screen
        await until(pilot, lambda: "订单号 99120" in screen_text(app), "second timeline")
        await screen.on_conversation_loaded(ConversationLoaded(ANN, stale))
        assert screen.conversation.summary.id == WANG
        assert "order 48213" not in screen_text(app)


async def test_a_long_conversation_opens_on_its_newest_item_in_the_reused_screen(seeded):
    from omnidesk.services import services

    for i in range(30):
        await services.add_note(seeded, ANN, f"checked the courier, round {i}")
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.conversation_screen is not None, "conversation screen built")
        await open_conversation(pilot, app, WANG)
        await pilot.press("escape")
        await until(pilot, lambda: inbox_ready(app), "back in the inbox")
        screen = await open_conversation(pilot, app, ANN)
        assert screen is app.conversation_screen
        await until(pilot, lambda: "round 29" in screen_text(app), "the newest note in view")
        assert screen.selected_message().text == "checked the courier, round 29"
        assert screen.hidden_count > 0
