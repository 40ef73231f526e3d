"""The conversation list is virtual: thousands of rows, only nearby pages in memory, G/g jump ends."""

from __future__ import annotations

from pathlib import Path

from omnidesk.conversations import reads
from omnidesk.desk import Desk
from omnidesk.settings import Settings
from omnidesk.store import benchfill
from omnidesk.store.db import Database
from omnidesk.tui.widgets.conversation_list import KEEP_PAGES, PAGE_SIZE
from tests.tui.conftest import inbox_ready, make_app, until

ROWS = 3_000


async def test_thousands_of_rows_scroll_with_bounded_pages(tmp_path: Path):
    path = tmp_path / "omnidesk.db"
    db = await Database.open(path)
    await db.close()
    benchfill.fill(path, conversations=ROWS, messages=ROWS * 2)
    db = await Database.open(path)
    try:
        desk = Desk(db=db, settings=Settings(), data_dir=tmp_path)
        desk = desk.as_agent((await reads.list_agents(desk))[0])
        app = make_app(desk, clock=None)
        async with app.run_test(size=(150, 40)) as pilot:
            await until(pilot, lambda: inbox_ready(app), "inbox")
            inbox = app.screen
            inbox.select_view(next(i for i, v in enumerate(inbox.views) if v.name == "All open"))
            lst = inbox.conv_list
            await until(pilot, lambda: lst.current() is not None and lst.row_count > PAGE_SIZE * 3, "rows")
            total = lst.row_count
            expected = await reads.count_conversations(desk, ["status:open"])
            assert total == expected[0]
            assert len(lst.pages) < 3, "only the first page(s) were read"
            await pilot.press("G")
            await until(pilot, lambda: lst.cursor == total - 1 and lst.current() is not None, "the last row",
                        timeout=60)
            assert len(lst.pages) <= KEEP_PAGES
            last = lst.current()
            ids = await reads.conversation_ids(desk, "status:open")
            assert last.id == ids[-1]
            await pilot.press("g")
            await until(pilot, lambda: lst.cursor == 0 and lst.current() is not None, "back at the top")
            assert lst.current().id == ids[0]
            # no row was skipped or doubled across page boundaries
            lst.move_to(PAGE_SIZE - 1)
            await until(pilot, lambda: lst.current() is not None, "page edge")
            lst.move(1)
            await until(pilot, lambda: lst.current() is not None, "next page")
            assert lst.current().id == ids[PAGE_SIZE]
    finally:
        await db.close()
