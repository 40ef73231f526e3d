"""The Reports screen: one key, in the palette and help; figures of the hand-computed desk; live."""

from __future__ import annotations

from pathlib import Path

from omnidesk.desk import Desk
from omnidesk.settings import Settings
from omnidesk.store.db import Database
from omnidesk.tui import actions
from tests.tui.conftest import make_app, screen_text, until
from tests.unit import reportdesk as rd


def _agents(app) -> list[str]:
    table = app.screen.query_one("#reports-agents")
    return [str(table.get_row_at(i)[0]) for i in range(table.row_count)]


async def test_reports_screen_shows_the_figures_and_follows_the_store(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "omnidesk.db")
    desk = Desk(db=db, settings=Settings(), data_dir=tmp_path)
    await rd.build(desk)
    app = make_app(desk, clock=lambda: rd.at(1440))
    try:
        async with app.run_test(size=(140, 40)) as pilot:
            await pilot.press("D")
            await until(pilot, lambda: getattr(app.screen, "reports", None), "reports loaded")
            text = screen_text(app)
            assert "Open backlog now   3" in text and "business hours: not configured" in text
            assert "median 1h 00m" in text  # first response
            assert _agents(app) == ["alice", "bob"]
            await pilot.press("s", "s")  # replies -> first response -> resolved (alice 2, bob 1)
            assert "by resolved" in screen_text(app) and _agents(app) == ["alice", "bob"]
            await pilot.press("s", "s")  # -> FCR -> name
            assert "by name" in screen_text(app)

            await rd.add_elsewhere(db.path, "Zoë", "new", 1400)  # another process's write reaches the screen
            await until(pilot, lambda: "Conversations      6" in screen_text(app), "live refresh")
            await pilot.press("escape")
            await until(pilot, lambda: getattr(app.screen, "context", "") == "inbox", "back to the inbox")
    finally:
        await db.close()


def test_reports_is_one_key_in_the_palette_and_help() -> None:
    entry = actions.BY_ID["reports"]
    assert entry.keys == "D" and entry.contexts == ("app",)
    assert "reports" in actions.markdown()
    assert any(b.key == "s" for b in actions.bindings("reports"))
