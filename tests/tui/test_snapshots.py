"""Pixel snapshots (pytest-textual-snapshot) of every screen, with Chinese, Persian and hostile text.

The clock is frozen (tests/tui/seed.py NOW) and every seeded time is fixed, so
relative ages and timestamps never drift. Update with `pytest --snapshot-update`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from omnidesk.conversations import reads
from omnidesk.desk import Desk
from omnidesk.store.db import Database
from tests.tui.conftest import screen_text, until
from tests.tui.seed import NOW, seed, settings

SIZE = (140, 36)


def build(tmp_path: Path):
    """Seed a desk on disk (own event loop); the app reopens it in the snapshot's loop."""

    async def make() -> None:
        desk = await seed(tmp_path / "data")
        await desk.db.close()

    asyncio.run(make())

    async def opener() -> Desk:
        db = await Database.open(tmp_path / "data" / "omnidesk.db")
        desk = Desk(db=db, settings=settings(), data_dir=tmp_path / "data")
        agents = {a.name: a for a in await reads.list_agents(desk)}
        return desk.as_agent(agents["alice"])

    from omnidesk.tui.app import OmnideskApp

    return OmnideskApp(open_desk=opener, clock=lambda: NOW, poll_seconds=60)


def inbox_loaded(app) -> bool:
    screen = app.screen
    return (
        getattr(screen, "context", "") == "inbox"
        and screen.conv_list.row_count == 7
        and all(screen.conv_list.row(i) is not None for i in range(7))
        and screen.counts
        and None not in screen.counts
    )


async def _open(pilot, conversation_id: int) -> None:
    app = pilot.app
    await until(pilot, lambda: inbox_loaded(app), "inbox")
    inbox = app.screen
    inbox.conv_list.move_to(inbox.conv_list.index_of(conversation_id))
    await pilot.press("enter")
    await until(pilot, lambda: getattr(app.screen, "conversation", None) is not None, "conversation")
    await pilot.pause(0.2)


def test_inbox(snap_compare, tmp_path):
    async def ready(pilot):
        await until(pilot, lambda: inbox_loaded(pilot.app), "inbox")
        await until(pilot, lambda: "Hello, I want a refund" in screen_text(pilot.app), "preview")
        await pilot.pause(0.3)

    assert snap_compare(build(tmp_path), terminal_size=SIZE, run_before=ready)


def test_conversation_hostile_text(snap_compare, tmp_path):
    async def ready(pilot):
        await _open(pilot, 5)

    assert snap_compare(build(tmp_path), terminal_size=SIZE, run_before=ready)


def test_conversation_persian(snap_compare, tmp_path):
    async def ready(pilot):
        await _open(pilot, 3)

    assert snap_compare(build(tmp_path), terminal_size=SIZE, run_before=ready)


def test_conversation_chinese_with_folded_quote(snap_compare, tmp_path):
    async def ready(pilot):
        await _open(pilot, 2)

    assert snap_compare(build(tmp_path), terminal_size=SIZE, run_before=ready)


def test_composer(snap_compare, tmp_path):
    async def ready(pilot):
        await _open(pilot, 1)
        await pilot.press("r")
        await until(pilot, lambda: pilot.app.screen.open_composer() is not None, "composer")
        pilot.app.screen.query_one("TextArea").cursor_blink = False  # a blinking cursor is not a diff
        await pilot.press(*"Dear Ann, ")
        await until(
            pilot,
            lambda: "draft saved" in str(pilot.app.screen.query_one("#composer-hint").visual),
            "draft saved",
        )
        await pilot.pause(0.2)

    assert snap_compare(build(tmp_path), terminal_size=SIZE, run_before=ready)


def test_customer(snap_compare, tmp_path):
    async def ready(pilot):
        await _open(pilot, 2)
        await pilot.press("c")
        await until(pilot, lambda: getattr(pilot.app.screen, "customer", None) is not None
                    and pilot.app.screen.story.current() is not None, "customer and their story")
        await pilot.pause(0.2)

    assert snap_compare(build(tmp_path), terminal_size=SIZE, run_before=ready)


def test_help(snap_compare, tmp_path):
    async def ready(pilot):
        await until(pilot, lambda: inbox_loaded(pilot.app), "inbox")
        await pilot.press("question_mark")
        await until(pilot, lambda: pilot.app.screen.id == "help", "help")
        await pilot.pause(0.2)

    assert snap_compare(build(tmp_path), terminal_size=SIZE, run_before=ready)
