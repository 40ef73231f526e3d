"""A message that another process ingests shows up in the open conversation without a key."""

from __future__ import annotations

from adapters.base import Address
from tests.tui.conftest import ingest_from_eva, make_app, open_conversation, other_process, screen_text, until

SIZE = (150, 45)


async def test_a_reply_ingested_elsewhere_appears_in_the_open_thread(seeded):
    cid = await ingest_from_eva(seeded, "<live-1@example.hu>", subject="Csomag", text="Hol a csomagom?")
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await open_conversation(pilot, app, cid)
        await until(pilot, lambda: "Hol a csomagom?" in screen_text(app), "first message")
        other = await other_process(seeded)  # as the sync daemon would, on its own connection
        try:
            again = await ingest_from_eva(
                other,
                "<live-2@example.hu>",
                subject="Re: Csomag",
                text="Megjött, köszönöm!",
                thread_refs=("<live-1@example.hu>",),
                recipients=(Address("email", "support@example.com"),),
            )
        finally:
            await other.db.close()
        assert again == cid
        await until(pilot, lambda: "Megjött, köszönöm!" in screen_text(app), "new message, no key pressed")
