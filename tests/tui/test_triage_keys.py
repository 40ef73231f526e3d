"""Triage keys beyond tests/tui/test_bindings.py: e's undo toast, every snooze phrase, a team from
the assign picker, and the assignment bell switched off in config."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime

from omnidesk.conversations import reads
from omnidesk.services import services
from omnidesk.tui.textfmt import zone
from tests.tui.conftest import inbox_ready, make_app, other_process, until, until_async
from tests.tui.seed import settings

SIZE = (150, 40)
BUDAPEST = zone("Europe/Budapest")  # the seeded desk's time zone


async def _summary(desk, conversation_id: int):
    return (await reads.get_conversation(desk, conversation_id)).summary


def _toasted(app, text: str) -> bool:
    return any(text in n.message for n in app._notifications)


async def _first_row(pilot, app) -> int:
    """Wait for the inbox; the id of the conversation under the cursor."""
    await until(pilot, lambda: inbox_ready(app), "inbox")
    return app.screen.conv_list.current().id


async def _picker(pilot, app, key: str) -> None:
    await pilot.press(key)
    await until(pilot, lambda: app.screen.__class__.__name__ == "PickerScreen", f"{key} picker")


async def test_e_toasts_resolved_with_the_undo_hint_and_u_reopens(seeded):
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        cid = await _first_row(pilot, app)
        await pilot.press("e")
        await until(pilot, lambda: _toasted(app, f"Resolved #{cid} - u to undo"), "toast")
        assert (await _summary(seeded, cid)).status == "resolved"
        await pilot.press("u")

        async def reopened():
            return (await _summary(seeded, cid)).status == "open"

        await until_async(pilot, reopened, "u reopens")


async def _snooze(desk, typed: str) -> tuple[int, float, float]:
    """Press z, type `typed`, enter; (snoozed until ms, wall clock s before the key, after the write)."""
    app = make_app(desk, clock=None)  # the real clock: the service refuses a snooze that already ended
    async with app.run_test(size=SIZE) as pilot:
        cid = await _first_row(pilot, app)
        before = time.time()
        await _picker(pilot, app, "z")
        await pilot.press(*typed, "enter")

        async def snoozed():
            return (await _summary(desk, cid)).status == "snoozed"

        await until_async(pilot, snoozed, "snoozed")
        after = time.time()
    return (await _summary(desk, cid)).snoozed_until, before, after


async def test_z_snoozes_for_an_hour(seeded):
    until_ms, before, after = await _snooze(seeded, "1h")
    assert before + 3600 <= until_ms / 1000 <= after + 3600


async def test_z_snoozes_until_monday_nine_in_the_desk_time_zone(seeded):
    until_ms, before, _ = await _snooze(seeded, "monday")
    local = datetime.fromtimestamp(until_ms / 1000, BUDAPEST)
    assert (local.strftime("%A %H:%M")) == "Monday 09:00"
    assert 0 < until_ms / 1000 - before <= 7 * 24 * 3600


async def test_z_snoozes_until_a_typed_date(seeded):
    until_ms, _, _ = await _snooze(seeded, "2030-12-01 14:00")
    assert datetime.fromtimestamp(until_ms / 1000, BUDAPEST).strftime("%Y-%m-%d %H:%M") == "2030-12-01 14:00"


async def test_a_picks_a_team_fuzzily(seeded):
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        cid = await _first_row(pilot, app)
        await _picker(pilot, app, "a")
        await pilot.press(*"tmbil", "enter")  # fuzzy for "team:billing"

        async def on_team():
            return (await _summary(seeded, cid)).team == "billing"

        await until_async(pilot, on_team, "assigned to the billing team")


async def test_assignment_bell_can_be_switched_off(seeded):
    desk = replace(seeded, settings=settings(bell_on_assign=False))
    app = make_app(desk)
    bells: list[int] = []
    async with app.run_test(size=SIZE) as pilot:
        app.bell = lambda: bells.append(1)  # type: ignore[method-assign]
        await until(pilot, lambda: inbox_ready(app), "inbox")
        await until(pilot, lambda: app._mine is not None, "the baseline of my conversations")
        other = await other_process(desk)
        try:
            await services.assign(other, [3], "alice")
        finally:
            await other.db.close()
        await until(pilot, lambda: _toasted(app, "Assigned to you: #3"), "the toast still shows")
    assert bells == []
