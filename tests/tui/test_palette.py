"""The command palette lists each command once: Textual's entries that one of ours is are left out."""

from __future__ import annotations

import re

from textual.command import CommandList

from tests.tui.conftest import inbox_ready, make_app, until


def _entries(app) -> list[str]:
    options = app.screen.query_one(CommandList).options
    # A prompt is the command's title, then its help on the next line.
    return [str(option.prompt).splitlines()[0].strip() for option in options]


async def test_palette_lists_each_command_once(seeded):
    app = make_app(seeded)
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: inbox_ready(app), "inbox")
        await pilot.press("ctrl+p")
        await until(pilot, lambda: app.screen.__class__.__name__ == "CommandPalette", "palette")
        await until(pilot, lambda: len(_entries(app)) > 10, "discovery hits")
        entries = _entries(app)
        assert len(entries) == len(set(entries)), entries
        quits = [e for e in entries if e.lower().startswith("quit")]
        assert quits == ["Quit omnidesk (quit)"], quits
        # `?` (help) is the list of keys; Textual's "Keys" panel would be a second one.
        assert "Keys" not in entries and "Show the keys of this screen (help)" in entries
        # Textual's commands that omnidesk has no action for stay.
        assert "Theme" in entries
        titles = [re.sub(r" \([a-z0-9-]+\)$", "", e) for e in entries]
        assert len(titles) == len(set(titles)), titles
