"""The conversation timeline: folded quotes, attachments, delivery state + retry, copy, customer merge,
and the in-process sync decision."""

from __future__ import annotations

import time

from omnidesk.conversations import reads
from omnidesk.services import services
from omnidesk.store import outbox
from omnidesk.store.channels import get_channel, record_heartbeat
from tests.tui.conftest import (
    inbox_ready,
    ingest_quoted,
    make_app,
    open_conversation,
    screen_text,
    until,
    until_async,
)

SIZE = (150, 45)


async def test_quoted_text_folds_and_attachments_save(seeded, tmp_path):
    cid = await ingest_quoted(seeded)
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await open_conversation(pilot, app, cid)
        await until(pilot, lambda: "quoted text folded" in screen_text(app), "folded")
        assert "A csomag úton van" not in screen_text(app)
        assert "nyugta.pdf" in screen_text(app)
        assert "conversation started via support" in screen_text(app)  # the channel id named
        await pilot.press("o")
        await until(pilot, lambda: "A csomag úton van" in screen_text(app), "expanded")
        await pilot.press("o")
        await until(pilot, lambda: "A csomag úton van" not in screen_text(app), "folded again")
        target = tmp_path / "saved"
        await pilot.press("colon")
        await until(pilot, lambda: app.screen.id == "command-line", "command line")
        await pilot.press(*f"save-attachment {target}", "enter")
        await until(pilot, lambda: (target / "nyugta.pdf").exists(), "attachment saved")
        assert (target / "nyugta.pdf").read_bytes() == b"%PDF-1.4 receipt"


async def test_failed_delivery_shows_reason_and_retries(seeded):
    result = await services.queue_reply(seeded, 1, "Your refund is approved.")
    far = int(time.time() * 1000) + 3_600_000
    claimed = await outbox.claim_due(seeded.db, owner="test:1", now=far, lease_ms=60_000)
    assert claimed
    error = "550 5.1.1 no such user"
    await outbox.mark_failed(seeded.db, claimed[0].id, owner="test:1", error=error, now=far)
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: inbox_ready(app), "inbox")
        app.screen.conv_list.move_to(app.screen.conv_list.index_of(1))
        await pilot.press("enter")
        await until(pilot, lambda: "failed: 550 5.1.1 no such user" in screen_text(app), "failure shown")
        assert app.screen.selected_message().id == result.message_id
        await pilot.press("ctrl+t")

        async def requeued():
            messages = (await reads.get_conversation(seeded, 1)).messages
            return any(m.id == result.message_id and m.delivery == "queued" for m in messages)

        await until_async(pilot, requeued, "queued again")
        await until(pilot, lambda: "failed: 550" not in screen_text(app), "state updated on screen")


async def test_an_undelivered_reply_shows_the_channel_code_and_its_meaning_and_retries(seeded):
    from datetime import UTC, datetime

    from adapters.base import Batch, DeliveryChange
    from omnidesk.inbound.ingest import ingest_batch

    result = await services.queue_reply(seeded, 1, "A kódja 1234")
    far = int(time.time() * 1000) + 3_600_000
    (claimed,) = await outbox.claim_due(seeded.db, owner="test:1", now=far, lease_ms=60_000)
    await outbox.mark_sent(seeded.db, claimed.id, owner="test:1", sent_at=far, now=far, receipt={},
                           refs=("SM0001",), state="queued")
    channel = await get_channel(seeded.db, "support")
    meaning = "Message filtered: the carrier blocked it as spam or a policy violation"
    change = DeliveryChange("SM0001", "undelivered", datetime.now(UTC), code="30007", detail=meaning)
    await ingest_batch(seeded, channel, Batch([], None, updates=[change]))
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: inbox_ready(app), "inbox")
        app.screen.conv_list.move_to(app.screen.conv_list.index_of(1))
        await pilot.press("enter")
        await until(pilot, lambda: "undelivered: 30007 Message filtered" in screen_text(app), "code shown")
        assert app.screen.selected_message().id == result.message_id
        await pilot.press("ctrl+t")

        async def requeued():
            messages = (await reads.get_conversation(seeded, 1)).messages
            return any(m.id == result.message_id and m.delivery == "queued" for m in messages)

        await until_async(pilot, requeued, "queued again")


async def test_copy_an_order_number_over_osc52(seeded):
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: inbox_ready(app), "inbox")
        app.screen.conv_list.move_to(app.screen.conv_list.index_of(1))
        await pilot.press("enter")
        await until(pilot, lambda: getattr(app.screen, "conversation", None) is not None, "open")
        await pilot.press("Y")
        await until(pilot, lambda: app.screen.__class__.__name__ == "PickerScreen", "copy picker")
        await pilot.press(*"48213", "enter")
        assert app.clipboard == "48213"


async def test_merge_customers_from_the_customer_panel(seeded):
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: inbox_ready(app), "inbox")
        app.screen.conv_list.move_to(app.screen.conv_list.index_of(6))  # Bob Stone, customer 6
        await pilot.press("c")
        await until(pilot, lambda: getattr(app.screen, "customer", None) is not None, "customer panel")
        target = app.screen.customer.id
        await pilot.press("m")
        await until(pilot, lambda: app.screen.__class__.__name__ == "PickerScreen", "customer picker")
        await pilot.press(*"Cy Twombly", "enter")

        async def merged():
            customer = await reads.get_customer(seeded, target)
            return any(i.address == "cy@example.org" for i in customer.identities)

        await until_async(pilot, merged, "Cy's identity moved to Bob")


async def test_sync_runs_in_process_without_a_daemon_and_not_with_one(seeded):
    app = make_app(seeded, run_sync=True)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.sync_state in ("in-process", "stopped"), "in-process sync")
    channel = await get_channel(seeded.db, "support")
    await record_heartbeat(seeded.db, channel.id, "another-host:4242")
    app = make_app(seeded, run_sync=True)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.sync_state == "daemon", "a live daemon is left alone")
