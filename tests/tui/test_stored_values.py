"""The console shows conversations whose stored times are absurd (a damaged or hand-edited database)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.tui.conftest import inbox_ready, make_app, open_conversation, screen_text, until
from tests.tui.seed import seed

SIZE = (160, 45)


@pytest.mark.parametrize("stored", [2**62, -(2**62), 2**63 - 1])
async def test_inbox_and_timeline_survive_any_stored_time(tmp_path: Path, stored: int) -> None:
    desk = await seed(tmp_path / "data")
    try:
        db = sqlite3.connect(tmp_path / "data" / "omnidesk.db")
        with db:
            db.execute("UPDATE conversations SET status = 'snoozed', snoozed_until = ?, "
                       "last_activity_at = ?, last_inbound_at = ?, sla_due_at = ? WHERE id = 1",
                       (stored,) * 4)
            db.execute("UPDATE conversations SET last_activity_at = ? WHERE id = 2", (stored,))
            db.execute("UPDATE messages SET sent_at = ?, received_at = ? WHERE conversation_id IN (1, 2)",
                       (stored, stored))
            db.execute("UPDATE events SET created_at = ?", (stored,))
        db.close()
        app = make_app(desk)
        async with app.run_test(size=SIZE) as pilot:
            await open_conversation(pilot, app, 2)
            day = "9999-12-3" if stored > 0 else "1-01-0"  # strftime does not pad year 1 on glibc
            await until(pilot, lambda: day in screen_text(app), f"the timeline showing {day}")
            await pilot.press("escape")
            await until(pilot, lambda: inbox_ready(app), "back in the inbox")
            assert app.return_code in (None, 0)  # a crash in a widget would have ended the app
    finally:
        await desk.db.close()
