"""Inbox keys beyond tests/tui/test_bindings.py: paging, ctrl+r, the filter's completion, ctrl+q."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from omnidesk.desk import Desk
from omnidesk.services import services
from tests.tui.conftest import inbox_ready, make_app, other_process, screen_text, until
from tests.tui.seed import seed

SIZE = (150, 30)


@pytest.fixture
async def long_inbox(tmp_path: Path) -> AsyncIterator[Desk]:
    """The seed plus 60 more open conversations: more rows than one screen holds."""
    desk = await seed(tmp_path / "data", extra=60)
    try:
        yield desk
    finally:
        await desk.db.close()


async def test_page_home_and_end_keys_move_the_cursor(long_inbox):
    app = make_app(long_inbox)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: inbox_ready(app), "inbox")
        lst = app.screen.conv_list
        await until(pilot, lambda: lst.row_count == 67, "every row counted")
        page = lst.size.height - 1
        assert 0 < page < 33  # two pages stay inside the list
        await pilot.press("pagedown")
        assert lst.cursor == page
        await pilot.press("ctrl+d")
        assert lst.cursor == 2 * page
        await pilot.press("pageup")
        assert lst.cursor == page
        await pilot.press("ctrl+u")
        assert lst.cursor == 0
        await until(pilot, lambda: lst.current() is not None, "first row")
        await pilot.press("end")
        await until(pilot, lambda: lst.cursor == 66 and lst.current() is not None, "last row loaded")
        await pilot.press("home")
        await until(pilot, lambda: lst.cursor == 0 and lst.current() is not None, "first row again")


async def test_ctrl_x_clears_the_marks_and_no_action_then_touches_them(seeded):
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: inbox_ready(app), "inbox")
        lst = app.screen.conv_list
        await pilot.press("x", "x")
        assert len(lst.marked) == 2
        await pilot.press("ctrl+x")
        assert lst.marked == set()
        cid = lst.current().id
        await pilot.press("p")
        await until(pilot, lambda: app.screen.__class__.__name__ == "PickerScreen", "priority picker")
        await pilot.press(*"high", "enter")  # one conversation, the current one: no bulk question

        def high() -> list[int]:
            return [r.id for r in lst.loaded_rows() if r.priority == "high"]

        await until(pilot, lambda: high() == [cid], "only the current conversation changed")


def _tagged(app, conversation_id: int, tag: str) -> bool:
    return any(r.id == conversation_id and tag in r.tags for r in app.screen.conv_list.loaded_rows())


async def test_ctrl_r_reloads_without_waiting_for_the_poll(seeded):
    app = make_app(seeded, poll_seconds=3600)  # the live poll never comes round in this test
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: inbox_ready(app), "inbox")
        other = await other_process(seeded)
        try:
            await services.tag(other, [2], add=["elsewhere"])
        finally:
            await other.db.close()
        assert not _tagged(app, 2, "elsewhere")
        await pilot.press("ctrl+r")
        await until(pilot, lambda: _tagged(app, 2, "elsewhere"), "ctrl+r shows the change")


async def test_filter_completes_fields_and_values_with_tab(seeded):
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: inbox_ready(app), "inbox")
        inbox = app.screen
        await pilot.press("slash", *"sta")
        await until(pilot, lambda: "status:" in screen_text(app), "the field is offered")
        await pilot.press("tab", "p")
        await until(pilot, lambda: "status:pending" in screen_text(app), "its values are offered")
        await pilot.press("tab")
        await until(pilot, lambda: inbox.filter_text == "status:pending", "completed")
        await until(pilot, lambda: inbox.conv_list.row_count == 0, "nothing is pending in the seed")
        await pilot.press("escape")
        await until(pilot, lambda: inbox.conv_list.row_count == 7, "filter cleared")


async def test_ctrl_q_quits(seeded):
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: inbox_ready(app), "inbox")
        await pilot.press("ctrl+q")
        await until(pilot, lambda: app.return_code == 0, "the app exits cleanly")


async def test_list_keys_do_not_steal_letters_typed_in_the_filter(seeded):
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: inbox_ready(app), "inbox")
        await pilot.press("j", "slash")
        field = app.screen.query_one("#filter")
        await until(pilot, lambda: field.has_focus, "filter focused")
        await pilot.press(*"tag:billing G")
        assert field.value == "tag:billing G"  # g and G typed, not taken as first/last
