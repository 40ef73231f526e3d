"""R replies to everyone on the thread; r to the customer only. Both through the real service."""

from __future__ import annotations

import time

from adapters.base import Address
from omnidesk.conversations import reads
from omnidesk.outbound import outbound_payload
from omnidesk.store import outbox
from tests.tui.conftest import ingest_from_eva, make_app, open_conversation, screen_text, until, until_async

SIZE = (160, 45)


async def _thread_with_a_colleague(desk) -> int:
    """Éva writes to support and copies her colleague (and support's own address, as mail clients do)."""
    return await ingest_from_eva(
        desk,
        "<cc-1@example.hu>",
        subject="Szerződés módosítása",
        text="Kérem, a kollégámat is tartsák a levelezésben.",
        recipients=(Address("email", "support@example.com", "Support"),),
        cc=(Address("email", "Kollega.Bela@example.hu", "Kolléga Béla"),),
    )


async def _send(pilot, app, key: str, body: str) -> None:
    await pilot.press(key)
    await until(pilot, lambda: getattr(app.screen, "open_composer", lambda: None)() is not None, "composer")
    await until(pilot, lambda: "via support (email) to eva@example.hu" in screen_text(app), "route shown")
    cc = app.screen.open_composer().query_one("#composer-cc").value
    assert cc == ("Kolléga Béla <kollega.bela@example.hu>" if key == "R" else "")
    await pilot.press(*body, "ctrl+j")
    await until(pilot, lambda: app.screen.open_composer() is None, "sent")


async def _queued_payloads(desk, count: int) -> dict[str, object]:
    """The outbound payloads of the queued replies, by body text (claimed as a dispatcher would)."""
    far = int(time.time() * 1000) + 3_600_000
    claimed = await outbox.claim_due(desk.db, owner="test:1", now=far, lease_ms=60_000)
    assert len(claimed) == count
    loaded = (outbound_payload.load(c.payload)[0] for c in claimed)
    return {o.text.split("\n")[0]: o for o in loaded}


async def test_R_copies_the_participants_and_r_does_not(seeded):
    cid = await _thread_with_a_colleague(seeded)
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await open_conversation(pilot, app, cid)
        await _send(pilot, app, "R", "Mindkettőjüknek írok")
        await _send(pilot, app, "r", "Csak Évának írok")

        async def two_replies():
            messages = (await reads.get_conversation(seeded, cid)).messages
            return len([m for m in messages if m.direction == "out"]) == 2

        await until_async(pilot, two_replies, "both replies stored")
    payloads = await _queued_payloads(seeded, 2)
    everyone, only_eva = payloads["Mindkettőjüknek írok"], payloads["Csak Évának írok"]
    assert [a.address for a in everyone.to] == ["eva@example.hu"]
    assert [(a.address, a.display_name) for a in everyone.cc] == [("kollega.bela@example.hu", "Kolléga Béla")]
    assert [a.address for a in only_eva.to] == ["eva@example.hu"] and only_eva.cc == ()


async def _compose(pilot, app, key: str = "R"):  # type: ignore[no-untyped-def]
    await pilot.press(key)
    await until(pilot, lambda: app.screen.open_composer() is not None, "composer")
    composer = app.screen.open_composer()
    await until(pilot, lambda: composer.query_one("#composer-to").value == "eva@example.hu", "To filled")
    return composer


async def test_cc_and_bcc_fields_are_sent_as_edited_and_bad_ones_are_one_line(seeded):
    cid = await _thread_with_a_colleague(seeded)
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await open_conversation(pilot, app, cid)
        composer = await _compose(pilot, app)
        composer.query_one("#composer-bcc").value = "nem-cim"
        composer.query_one("#composer-body").load_text("Köszönjük, 王芳 is kap másolatot")
        await pilot.press("ctrl+j")
        await until(pilot, lambda: "Bcc: not an email address: 'nem-cim'" in screen_text(app), "error")
        assert app.screen.open_composer() is not None  # nothing sent, nothing lost
        composer.query_one("#composer-cc").value += ", 王芳 <wang@example.cn>"
        composer.query_one("#composer-bcc").value = "audit@example.com"
        await pilot.press("ctrl+j")
        await until(pilot, lambda: app.screen.open_composer() is None, "sent")
    (sent,) = (await _queued_payloads(seeded, 1)).values()
    assert [(a.address, a.display_name) for a in sent.cc] == [
        ("kollega.bela@example.hu", "Kolléga Béla"), ("wang@example.cn", "王芳")]
    assert [a.address for a in sent.bcc] == ["audit@example.com"]


async def test_to_takes_one_address_and_the_quote_is_previewed(seeded):
    cid = await _thread_with_a_colleague(seeded)
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await open_conversation(pilot, app, cid)
        composer = await _compose(pilot, app, "r")
        quote = composer.query_one("#composer-quote")
        assert seeded.settings.desk.quote_last_message and quote.display
        assert "> Kérem, a kollégámat is tartsák a levelezésben." in screen_text(app)
        composer.query_one("#composer-to").value = "eva@example.hu, bela@example.hu"
        composer.query_one("#composer-body").load_text("x")
        await pilot.press("ctrl+j")
        await until(pilot, lambda: "To: one address (put the others in Cc)" in screen_text(app), "error")
        assert app.screen.open_composer() is not None
