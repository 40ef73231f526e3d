"""The picker and the `:` command line are one widget: a ChoiceList under a text field."""

from __future__ import annotations

from omnidesk.tui.widgets.picker import ChoiceList
from tests.tui.conftest import inbox_ready, make_app, screen_text, until


async def test_picker_and_command_line_share_the_choice_list(seeded):
    app = make_app(seeded)
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: inbox_ready(app), "inbox")
        await pilot.press("s")  # the status picker
        await until(pilot, lambda: app.screen.__class__.__name__ == "PickerScreen", "status picker")
        listed = app.screen.query_one(ChoiceList)
        values = [c.value for c in listed.choices]
        assert len(values) > 2 and listed.chosen.value == values[0]
        await pilot.press("up")  # wraps from the first to the last
        assert listed.chosen.value == values[-1]
        await pilot.press("down")
        assert listed.chosen.value == values[0]
        await pilot.press("escape")
        await until(pilot, lambda: app.screen.id == "inbox", "picker closed")

        await pilot.press("colon")
        await until(pilot, lambda: app.screen.id == "command-line", "command line")
        listed = app.screen.query_one(ChoiceList)
        assert 0 < len(listed.choices) <= 50 and listed.bold
        await pilot.press(*"assig")
        await until(pilot, lambda: listed.chosen is not None and listed.chosen.value == "assign", "narrowed")
        assert "Assign" in screen_text(app)
        assert len(listed.choices) >= 2, [c.value for c in listed.choices]  # assign, assign-me
        second = listed.choices[1].value
        await pilot.press("down", "tab")  # tab completes the highlighted one
        field = app.screen.query_one("#command-input")
        assert field.value == f"{second} "
        await pilot.press("escape")
        await until(pilot, lambda: app.screen.id == "inbox", "command line closed")
