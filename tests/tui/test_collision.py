"""Collision, from both sides: this console tells others it is viewing or replying (and leaves),
and its banner goes away when the other agent leaves."""

from __future__ import annotations

from omnidesk.conversations import reads
from omnidesk.store import presence
from omnidesk.store.db import Database
from tests.tui.conftest import make_app, open_conversation, screen_text, until, until_async

SIZE = (150, 40)
ANN = 1
ELSEWHERE = "otherhost:4242"  # another agent's console, as a runner id


async def _seen_from_elsewhere(desk, conversation_id: int) -> list[tuple[str, str]]:
    rows = await presence.others(desk.db, conversation_id=conversation_id, runner=ELSEWHERE)
    return [(r.agent_name, r.activity) for r in rows]


async def test_this_console_announces_viewing_then_replying_and_leaves(seeded):
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await open_conversation(pilot, app, ANN)

        async def seen(expected):
            return await _seen_from_elsewhere(seeded, ANN) == expected

        await until_async(pilot, lambda: seen([("alice", "viewing")]), "viewing row")
        await pilot.press("r")
        await until_async(pilot, lambda: seen([("alice", "replying")]), "replying row")
        await pilot.press("escape")  # closes the composer: back to viewing
        await until_async(pilot, lambda: seen([("alice", "viewing")]), "viewing again")
        await pilot.press("escape")  # back to the inbox: gone at once, not after the stale timeout
        await until_async(pilot, lambda: seen([]), "presence left")


async def test_the_banner_goes_when_the_other_agent_leaves(seeded):
    bob = next(a for a in await reads.list_agents(seeded) if a.name == "bob")
    other = await Database.open(seeded.db.path)
    try:
        await presence.heartbeat(
            other, agent_id=bob.id, conversation_id=ANN, activity="viewing", runner=ELSEWHERE
        )
        app = make_app(seeded)
        async with app.run_test(size=SIZE) as pilot:
            await open_conversation(pilot, app, ANN)
            await until(pilot, lambda: "bob is viewing this conversation" in screen_text(app), "banner")
            await presence.leave(other, agent_id=bob.id, conversation_id=ANN, runner=ELSEWHERE)
            await until(pilot, lambda: "bob is viewing" not in screen_text(app), "banner gone")
    finally:
        await other.close()


async def test_sending_over_a_reply_bob_made_after_we_opened_asks_first(seeded):
    from omnidesk.services import services
    from tests.tui.conftest import other_process

    bob = await other_process(seeded, "bob")
    try:
        app = make_app(seeded)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_conversation(pilot, app, ANN)

            async def read_mark() -> bool:
                row = await seeded.db.fetchone(
                    "SELECT 1 FROM conversation_reads WHERE agent_id = ? AND conversation_id = ?",
                    (seeded.agent.id, ANN))
                return row is not None

            await until_async(pilot, read_mark, "alice's read mark")
            await presence.heartbeat(bob.db, agent_id=bob.agent.id, conversation_id=ANN, activity="replying",
                                     runner=ELSEWHERE)
            await services.queue_reply(bob, ANN, "Bob already refunded you")
            await until(pilot, lambda: "bob is replying" in screen_text(app), "banner")
            await pilot.press("r")
            await until(pilot, lambda: screen.open_composer() is not None, "composer")
            await pilot.press(*"Visszatérítjük", "ctrl+enter")
            await until(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen", "asked first")
            assert f"bob replied to #{ANN} after you last read it. Send anyway?" in screen_text(app)
            await pilot.press("n")
            await until(pilot, lambda: app.screen is screen, "back, nothing sent")
            assert screen.open_composer() is not None and screen.open_composer().text == "Visszatérítjük"
            assert "bob is replying" in screen_text(app)  # the banner stays
            await pilot.press("ctrl+enter")
            await until(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen", "asked again")
            await pilot.press("y")

            async def ours() -> list[str]:
                messages = (await reads.get_conversation(seeded, ANN)).messages
                return [m.display_text for m in messages if m.direction == "out" and m.author_agent != "bob"]

            assert await until_async(pilot, ours, "sent after yes") == ["Visszatérítjük"]
            await until(pilot, lambda: screen.open_composer() is None, "composer closed")
            assert "bob is replying" in screen_text(app)
    finally:
        await bob.db.close()
