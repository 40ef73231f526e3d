"""Console polish: event lines read as sentences, list columns keep their widths, views numbered once."""

from __future__ import annotations

import re
from types import SimpleNamespace

from rich.cells import cell_len

from omnidesk.services import services
from omnidesk.settings import SavedView
from omnidesk.tui.views import default_views, view_for_digit
from tests.tui.conftest import inbox_ready, make_app, screen_text, until


async def test_timeline_events_read_as_sentences(seeded):
    await services.tag(seeded, [1], add=["bug"])
    await services.assign(seeded, [1], "bob")
    app = make_app(seeded)
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: inbox_ready(app), "inbox")
        inbox = app.screen
        inbox.conv_list.move_to(inbox.conv_list.index_of(1))
        await pilot.press("enter")
        await until(pilot, lambda: "assigned this to bob" in screen_text(app), "assign sentence")
        text = screen_text(app)
        assert "alice tagged +bug" in text
        # No raw internals: no key=value dumps, no Python list reprs.
        assert not re.search(r"rule=|channel_id=|tags=\[|message_id=", text)


async def test_list_columns_fit_beside_the_scrollbar(seeded):
    """Few rows on screen -> a scrollbar; the age column still shows whole ("3h", not "3")."""
    app = make_app(seeded)
    async with app.run_test(size=(160, 8)) as pilot:
        await until(pilot, lambda: inbox_ready(app), "inbox")
        await pilot.pause(0.2)
        rows = [line for line in screen_text(app).splitlines() if re.search(r"#\d\s", line)]
        assert rows, screen_text(app)
        for line in rows:
            number = re.search(r"#(\d)\s", line).group(1)
            # The seed's conversation #n was last active n hours before NOW.
            assert re.search(rf"\s{number}h[\s▁-█]*│", line), line  # then the scrollbar cells
        # Every status column starts at the same cell, Chinese and Persian rows included.
        cells = [line.split("│", 1)[1] for line in rows]  # the list pane, after the sidebar
        starts = {cell_len(c[: c.index(" open ")]) for c in cells}
        assert len(starts) == 1, rows


def _desk(saved):
    settings = SimpleNamespace(views=saved, tui=SimpleNamespace(ascii_glyphs=True), sla=())
    return SimpleNamespace(agent=object(), settings=settings)


def test_saved_view_keys_win_and_the_other_views_take_the_free_digits():
    channels = [SimpleNamespace(kind="email", name="support")]
    saved = (
        SavedView("Mine", "assignee:me  status:open", key="1"),  # repeats a built-in: shown once
        SavedView("Billing", "tag:billing", key="3"),  # the built-in "All open" would have had 3
        SavedView("VIP", "tag:vip"),
        SavedView("Chinese", "退款", key="5"),
    )
    views = default_views(_desk(saved), channels)
    names = [v.name for v in views]
    assert names.count("Mine") == 1
    assert names[-3:] == ["Billing", "VIP", "Chinese"]
    keys = {v.name: v.key for v in views}
    assert (keys["Mine"], keys["Billing"], keys["Chinese"]) == ("1", "3", "5")
    assert (keys["Unassigned"], keys["All open"], keys["Pending"], keys["Snoozed"]) == ("2", "4", "6", "7")
    assert (keys["Resolved"], keys["All"], keys["VIP"]) == ("8", "9", None)
    assert sorted(k for k in keys.values() if k) == [str(n) for n in range(1, 10)]  # each digit once
    assert views[view_for_digit(views, 3)].name == "Billing"
    assert view_for_digit(views, 0) is None


def test_a_saved_key_on_a_repeated_built_in_moves_to_it():
    saved = (SavedView("Everything open", "status:open", key="9"),)
    views = default_views(_desk(saved), [])
    assert [(v.name, v.key) for v in views][:4] == [("Mine", "1"), ("Unassigned", "2"), ("All open", "9"),
                                                    ("Pending", "3")]


async def test_digit_key_opens_the_saved_view_of_the_config(seeded):
    """The demo's "Billing" view on key 3 opens Billing, not the built-in "All open"."""
    from dataclasses import replace

    saved = (SavedView("Billing", "tag:billing -status:resolved", key="3"),)
    desk = replace(seeded, settings=replace(seeded.settings, views=saved))
    app = make_app(desk)
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: inbox_ready(app), "inbox")
        inbox = app.screen
        await pilot.press("3")
        await until(pilot, lambda: inbox.views[inbox.view_index].name == "Billing", "Billing view")
        assert inbox.query_text == "tag:billing -status:resolved"
        sidebar = [line.split("│")[0] for line in screen_text(app).splitlines()[1:]]
        assert any(re.match(r"\s*3 Billing", line) for line in sidebar), sidebar
        assert any(re.match(r"\s*4 All open", line) for line in sidebar), sidebar


async def test_digit_keys_select_the_view_labelled_with_them(seeded):
    app = make_app(seeded)
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: inbox_ready(app), "inbox")
        inbox = app.screen
        sidebar = [line.split("│")[0] for line in screen_text(app).splitlines()[1:]]
        labels = [m.group(1) for line in sidebar if (m := re.match(r"\s*([1-9]) \S", line))]
        assert len(labels) == len(set(labels)), sidebar  # each digit once
        for digit in ("2", "9", "4"):
            await pilot.press(digit)
            await until(pilot, lambda d=digit: inbox.views[inbox.view_index].key == d, f"view {digit}")
            line = next(s for s in sidebar if re.match(rf"\s*{digit} ", s))
            assert inbox.views[inbox.view_index].name.split()[-1] in line
