"""Reading keys beyond tests/tui/test_timeline.py: enter folds quotes, w saves to Downloads, the
customer panel's own list (j/k, enter, esc), and the last good sync in the status bar."""

from __future__ import annotations

from omnidesk.conversations import reads
from omnidesk.store.channels import get_channel, record_success
from tests.tui.conftest import (
    ingest_from_eva,
    ingest_quoted,
    make_app,
    open_conversation,
    screen_text,
    until,
    until_async,
)

SIZE = (150, 45)


async def _open_folded(pilot, app, cid: int) -> None:
    """Open `cid` (tests/tui/test_timeline.py's quoted thread) and wait for its folded quote."""
    await open_conversation(pilot, app, cid)
    await until(pilot, lambda: "quoted text folded" in screen_text(app), "folded")


async def test_enter_also_folds_and_unfolds_the_quote(seeded):
    cid = await ingest_quoted(seeded)
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await _open_folded(pilot, app, cid)
        await pilot.press("enter")
        await until(pilot, lambda: "A csomag úton van" in screen_text(app), "expanded")
        await pilot.press("enter")
        await until(pilot, lambda: "A csomag úton van" not in screen_text(app), "folded again")


async def test_w_saves_the_attachments_to_the_downloads_folder(seeded, tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # no user-dirs.dirs there
    cid = await ingest_quoted(seeded)
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await _open_folded(pilot, app, cid)
        assert "nyugta.pdf" in screen_text(app)
        await pilot.press("w")
        saved = home / "Downloads" / "nyugta.pdf"
        await until(pilot, saved.exists, "saved")
        toast = f"Saved nyugta.pdf in {saved.parent}"
        await until(pilot, lambda: any(n.message == toast for n in app._notifications), "toast")
    assert saved.read_bytes() == b"%PDF-1.4 receipt"


async def _read(desk, conversation_id: int) -> bool:
    return not (await reads.get_conversation(desk, conversation_id)).summary.unread


async def test_customer_panel_moves_opens_and_goes_back(seeded):
    first = await ingest_from_eva(seeded, "<cust-1@example.hu>", subject="Első kérdés", text="Egy.")
    second = await ingest_from_eva(seeded, "<cust-2@example.hu>", subject="Második kérdés", text="Kettő.")
    assert first != second
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await open_conversation(pilot, app, first)
        await pilot.press("c")
        await until(pilot, lambda: getattr(app.screen, "customer", None) is not None
                    and app.screen.story.current() is not None, "the customer's story")
        panel = app.screen
        await until(pilot, lambda: "Egy." in screen_text(app) and "Kettő." in screen_text(app), "both shown")
        assert panel.story.current().conversation_id == second  # the story opens at its newest entry
        await pilot.press("k")
        assert panel.story.current().conversation_id == first
        await pilot.press("j")
        assert panel.story.current().conversation_id == second
        assert not await _read(seeded, second)
        await pilot.press("enter")
        await until(pilot, lambda: getattr(app.screen, "conversation_id", None) == second, "opened")
        await until_async(pilot, lambda: _read(seeded, second), "opening marks it read")
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is panel, "back on the customer panel")
        await pilot.press("escape")
        await until(pilot, lambda: getattr(app.screen, "conversation_id", None) == first, "the thread again")


async def test_status_bar_shows_the_last_good_sync(seeded):
    channel = await get_channel(seeded.db, "support")
    await record_success(seeded.db, channel.id)
    app = make_app(seeded, clock=None)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: "support ✓ just now" in screen_text(app), "last good sync")
