"""After undo, the cursor is back on the conversation the undo restored, not on the row that replaced it."""

from __future__ import annotations

from omnidesk.conversations import reads
from tests.tui.conftest import inbox_ready, make_app, until, until_async

SIZE = (150, 40)


async def _status(desk, cid: int) -> str:
    return (await reads.get_conversation(desk, cid)).summary.status


async def test_undo_of_a_snooze_puts_the_cursor_back_and_the_next_tag_lands_there(seeded):
    app = make_app(seeded, clock=None)  # the real clock: a snooze must not have ended already
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: inbox_ready(app), "inbox")
        inbox = app.screen
        cid = inbox.conv_list.current().id
        await pilot.press("z")
        await until(pilot, lambda: app.screen.__class__.__name__ == "PickerScreen", "snooze picker")
        await pilot.press(*"1h", "enter")
        # Snoozed, it leaves the "All open" view and the cursor is on the next row.
        await until(pilot, lambda: inbox.conv_list.index_of(cid) is None, "row gone")
        await until(pilot, lambda: inbox.conv_list.current() is not None, "cursor on a row")
        assert inbox.conv_list.current().id != cid
        await pilot.press("u")
        await until_async(pilot, lambda: _status_is(seeded, cid, "open"), "undone")
        await until(pilot, lambda: inbox.conv_list.index_of(cid) is not None, "row back")
        await until(pilot, lambda: inbox.conv_list.current().id == cid, "cursor back on the restored row")
        await pilot.press("t")
        await until(pilot, lambda: app.screen.__class__.__name__ == "PickerScreen", "tag prompt")
        await pilot.press(*"+vip", "enter")
        summary = await until_async(pilot, lambda: _tagged(seeded, "vip"), "tagged")
        assert summary == [cid]


async def _status_is(desk, cid: int, status: str) -> bool:
    return await _status(desk, cid) == status


async def _tagged(desk, tag: str) -> list[int]:
    page = await reads.list_conversations(desk, f"tag:{tag}")
    return [s.id for s in page.items]
