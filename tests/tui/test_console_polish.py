"""Console polish: event lines read as sentences, list columns keep their widths, views numbered once."""

from __future__ import annotations

import re
from types import SimpleNamespace

from rich.cells import cell_len

from omnidesk import services
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
    settings = SimpleNamespace(views=saved, tui=SimpleNamespace(ascii_glyphs=True))
    return SimpleNamespace(agent=object(), settings=settings)


def test_views_are_numbered_once_in_order():
    channels = [SimpleNamespace(kind="email", name="support")]
    saved = (
        SavedView("Mine", "assignee:me  status:open", key="1"),  # repeats a built-in: shown once
        SavedView("Billing", "tag:billing", key="1"),
        SavedView("VIP", "tag:vip", key="2"),
        SavedView("Chinese", "退款", key="5"),
    )
    views = default_views(_desk(saved), channels)
    names = [v.name for v in views]
    assert names.count("Mine") == 1
    assert names[-3:] == ["Billing", "VIP", "Chinese"]
    keys = [v.key for v in views]
    assert keys[:9] == [str(n) for n in range(1, 10)]
    assert all(k is None for k in keys[9:])
    for digit in range(1, 10):
        assert view_for_digit(views, digit) == digit - 1
    assert view_for_digit(views, 0) is None


async def test_digit_keys_select_the_view_labelled_with_them(seeded):
    app = make_app(seeded)
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: inbox_ready(app), "inbox")
        inbox = app.screen
        sidebar = [line.split("│")[0] for line in screen_text(app).splitlines()[1:]]
        labels = [m.group(1) for line in sidebar if (m := re.match(r"\s*([1-9]) \S", line))]
        assert labels == sorted(set(labels)), sidebar  # each digit once, in order
        for digit in ("2", "9", "4"):
            await pilot.press(digit)
            await until(pilot, lambda d=digit: inbox.views[inbox.view_index].key == d, f"view {digit}")
            line = next(s for s in sidebar if re.match(rf"\s*{digit} ", s))
            assert inbox.views[inbox.view_index].name.split()[-1] in line
