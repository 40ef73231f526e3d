"""Opening a long conversation mounts only the newest items; k at the top mounts more."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from adapters.base import Address, Inbound
from omnidesk.store.channels import get_channel
from tests.tui.conftest import make_app, open_conversation, screen_text, until

SIZE = (150, 45)


async def test_long_thread_mounts_a_window_and_k_shows_earlier(seeded):
    from omnidesk.inbound.ingest import ingest_records
    from omnidesk.tui.screens.conversation import WINDOW

    channel = await get_channel(seeded.db, "support")
    start = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    records = [
        Inbound(
            external_id=f"<long-{i}@example.hu>",
            sender=Address("email", "hosszu@example.hu", "Hosszú Ágnes"),
            sent_at=start + timedelta(minutes=i),
            subject="Hosszú szál",
            text=f"üzenet {i}",
            thread_refs=(f"<long-{i - 1}@example.hu>",) if i else (),
        )
        for i in range(WINDOW + 10)
    ]
    result = await ingest_records(seeded, channel, records)
    cid = result.conversation_ids[-1]
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_conversation(pilot, app, cid)
        total = len(screen.conversation.messages)
        assert total == WINDOW + 10
        await until(pilot, lambda: screen._message_indexes(), "mounted")
        assert len(screen._items()) <= WINDOW
        assert screen.hidden_count >= total - len(screen._items()) > 0
        await until(pilot, lambda: "earlier items" in screen_text(app), "earlier hint")
        # the key bar lists the conversation's keys once they settle
        await until(pilot, lambda: "Reply on the customer's channel" in screen_text(app), "key hints")
        before = len(screen._items())
        for _ in range(before + 1):
            await pilot.press("k")
        await until(pilot, lambda: len(screen._items()) > before, "earlier items mounted")
        assert len(screen._message_indexes()) == total  # one k step (WINDOW_STEP) covers the rest
        assert screen.hidden_count == 0
