"""The customer panel suggests likely duplicates, first when merging; nothing merges by itself."""

from __future__ import annotations

from datetime import UTC, datetime

from adapters.base import Address, Inbound
from omnidesk.conversations import reads
from tests.tui.conftest import ingest_from_eva, make_app, open_conversation, screen_text, until, until_async

SIZE = (150, 45)


async def test_a_likely_duplicate_is_suggested_then_merged_only_when_picked(seeded):
    from omnidesk.inbound.ingest import ingest_records
    from omnidesk.store.channels import get_channel

    cid = await ingest_from_eva(seeded, "<dup-1@example.hu>", subject="Számla", text="Hol a számla?")
    other = Inbound(external_id="<dup-2@example.hu>",
                    sender=Address("email", "e.nagy@example.hu", "Éva Nagy"),
                    sent_at=datetime(2026, 11, 20, 12, 0, tzinfo=UTC), subject="Új kérdés", text="Még egy.")
    support = await get_channel(seeded.db, "support")
    other_cid = (await ingest_records(seeded, support, [other])).conversation_ids[0]
    duplicate = (await reads.get_conversation(seeded, other_cid)).summary.customer_id
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await open_conversation(pilot, app, cid)
        await pilot.press("c")
        await until(pilot, lambda: "Maybe the same person" in screen_text(app), "suggestion shown")
        panel = app.screen
        assert f"customer {duplicate} Éva Nagy  same name" in screen_text(app)
        me = panel.customer.id
        assert (await reads.get_customer(seeded, duplicate)).merged_into is None  # suggested, not merged
        await pilot.press("m")
        await until(pilot, lambda: app.screen.__class__.__name__ == "PickerScreen", "customer picker")
        assert app.screen.choices[0].value == str(duplicate)
        assert "maybe the same person: same name" in app.screen.choices[0].description
        await pilot.press("enter")

        async def merged():
            return (await reads.get_customer(seeded, duplicate)).merged_into == me

        await until_async(pilot, merged, "merged when the agent picked it")
