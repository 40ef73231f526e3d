"""Live behaviour: other writers appear without a key, assignment toasts, presence, health, a slow store,
untrusted text, wide characters and RTL."""

from __future__ import annotations

import asyncio
import time

from omnidesk.conversations import reads
from omnidesk.services import services
from omnidesk.store import presence
from omnidesk.store.db import Database
from tests.tui.conftest import inbox_ready, make_app, other_process, screen_text, until

SIZE = (150, 40)


async def test_other_writers_show_up_and_assignment_to_me_toasts_and_rings(seeded):
    app = make_app(seeded)
    bells = []
    async with app.run_test(size=SIZE) as pilot:
        app.bell = lambda: bells.append(1)  # type: ignore[method-assign]
        await until(pilot, lambda: inbox_ready(app), "inbox")
        await until(pilot, lambda: app._mine is not None or app._data_version is not None, "first poll")
        other = await other_process(seeded)
        try:
            await services.assign(other, [3], "alice")
            await services.tag(other, [2], add=["from-cli"])
        finally:
            await other.db.close()
        lst = app.screen.conv_list
        await until(
            pilot,
            lambda: any(r.id == 2 and "from-cli" in r.tags for r in lst.loaded_rows()),
            "the list shows the change without a key",
        )
        await until(pilot, lambda: any("#3" in n.message for n in app._notifications), "toast for #3")
        assert bells, "the terminal bell rang"


async def test_bursts_collapse_into_one_refresh(seeded):
    from omnidesk.tui.messages import StoreChanged

    first, second = StoreChanged(), StoreChanged()
    assert second.can_replace(first)


async def test_presence_banner_shows_another_agent_and_ignores_stale_rows(seeded):
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: inbox_ready(app), "inbox")
        cid = app.screen.conv_list.current().id
        agents = {a.name: a for a in await reads.list_agents(seeded)}
        other = await Database.open(seeded.db.path)
        try:
            await presence.heartbeat(
                other,
                agent_id=agents["bob"].id,
                conversation_id=cid,
                activity="replying",
                runner="otherhost:4242",
            )
            await presence.heartbeat(
                other,
                agent_id=agents["bob"].id,
                conversation_id=cid,
                activity="viewing",
                runner="otherhost:1",
                now=int(time.time() * 1000) - 10 * 60_000,
            )
        finally:
            await other.close()
        await pilot.press("enter")
        await until(pilot, lambda: "bob is replying to this conversation" in screen_text(app), "banner")
        assert "bob is viewing" not in screen_text(app), "stale heartbeat ignored"


async def test_channel_health_in_the_status_bar(seeded):
    from omnidesk.store.channels import get_channel, record_error

    channel = await get_channel(seeded.db, "support")
    await record_error(seeded.db, channel.id, "IMAP login failed: [AUTHENTICATIONFAILED]")
    app = make_app(seeded, clock=None)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: "IMAP login failed" in screen_text(app), "health bar shows the error")
        assert "support ✗" in screen_text(app)


async def test_slow_store_query_does_not_block_keys(seeded, monkeypatch):
    real = reads.get_conversation
    release = asyncio.Event()
    in_flight = []

    async def slow_get_conversation(desk, conversation_id):
        in_flight.append(conversation_id)
        await release.wait()  # a preview query that never returns until the test says so
        return await real(desk, conversation_id)

    monkeypatch.setattr(reads, "get_conversation", slow_get_conversation)
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: inbox_ready(app), "inbox")
        await until(pilot, lambda: in_flight, "the preview query started")
        await pilot.press("j", "j", "j")
        await pilot.press("question_mark")
        await until(pilot, lambda: app.screen.id == "help", "help opens while the query hangs")
        await pilot.press("escape")
        assert app.screen.conv_list.cursor == 3
        assert not release.is_set(), "every key above was handled while the store query was still pending"
        release.set()


async def test_untrusted_text_is_inert_wide_chars_align_and_persian_reads_right(seeded):
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: inbox_ready(app), "inbox")
        await until(pilot, lambda: app.screen.conv_list.row_count == 7, "all rows")
        text = screen_text(app)
        assert "\x1b" not in text and "\u202e" not in text
        assert "[bold red]" in text, "markup shown literally, not interpreted"
        assert "␛" in text, "escape sequences made visible"
        lines = text.splitlines()
        chinese = next(line for line in lines if "王芳" in line)
        english = next(line for line in lines if "Ann Lee" in line)
        from rich.cells import cell_len

        assert cell_len(chinese) == cell_len(english)
        assert chinese.index("open") + sum(
            1 for ch in chinese[: chinese.index("open")] if cell_len(ch) == 2
        ) == english.index("open")
        # Persian is reordered into visual order for terminals that lay cells out left to right
        from omnidesk.tui.textfmt import visual

        assert visual("سارا احمدی") in text
        assert visual("سارا احمدی") != "سارا احمدی"
