"""The console refuses, with the channel's reason, a reply the channel would not take: WhatsApp's window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from adapters.base import Address, Inbound
from omnidesk.inbound.ingest import ingest_records
from omnidesk.store.channels import ensure_channel
from tests.tui.conftest import make_app, open_conversation, screen_text, until

SIZE = (160, 45)


async def test_a_late_whatsapp_reply_is_refused_with_the_reason_and_nothing_is_queued(seeded):
    channel = await ensure_channel(seeded.db, "sms", "twilio", None)
    record = Inbound(
        external_id="SM" + "1" * 32,
        sender=Address("phone", "+36301234567", "Anna"),
        sent_at=datetime.now(UTC) - timedelta(days=2),
        text="Szia, hol a csomagom?",
        chat_like=True,
        meta={
            "twilio": {
                "transport": "whatsapp",
                "from": "whatsapp:+36301234567",
                "to": "whatsapp:+14155238886",
            }
        },
    )
    (cid,) = (await ingest_records(seeded, channel, [record])).conversation_ids
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await open_conversation(pilot, app, cid)
        await pilot.press("r")
        await until(pilot, lambda: "via sms (twilio)" in screen_text(app), "composer on the WhatsApp route")
        await pilot.press(*"Holnap érkezik", "ctrl+enter")
        await until(
            pilot,
            lambda: any(
                "within 24 hours" in n.message and "2 days ago" in n.message for n in app._notifications
            ),
            "the refusal shown",
        )
        assert any(n.severity == "error" for n in app._notifications)
    assert tuple(await seeded.db.fetchone("SELECT count(*) FROM outbox")) == (0,)
