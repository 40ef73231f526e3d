"""The customer screen's whole story: every channel in one virtual timeline, switches shown, enter opens."""

from __future__ import annotations

from omnidesk.conversations import reads
from omnidesk.desk import Desk
from omnidesk.store.channels import ensure_channel
from omnidesk.tui.widgets import customer_timeline
from tests.tui.conftest import make_app, other_process, screen_text, until
from tests.tui.seed import HOSTILE_SUBJECT, HOUR, NOW
from tests.unit import factories

SIZE = (160, 45)
HOSTILE_NAME = "Mallory \x1b[2J[bold]\u202eevil"


async def _story(desk: Desk, *, mails: int = 1) -> tuple[int, dict[str, int]]:
    """A hostile customer who mails, then writes on Telegram, then on Slack."""
    mail = await factories.email_channel(desk)
    tg = await ensure_channel(desk.db, "tg", "telegram", None)
    slack = await ensure_channel(desk.db, "acme-slack", "slack", None)
    first = await factories.thread(desk, mail, subject=HOSTILE_SUBJECT, name=HOSTILE_NAME,
                                   address="mallory@evil.example",
                                   texts=tuple(f"mail {i} [link=http://x]click[/link] \x1b]52;c;aGk=\x07"
                                               for i in range(mails)), start=NOW - 30 * HOUR)
    cid, iid = first.customer_id, first.identity_id
    second = await factories.thread(desk, tg, subject="", name=HOSTILE_NAME, address="5550001",
                                    texts=("سلام from Telegram", "退款?"), customer_id=cid, identity_id=iid,
                                    start=NOW - 2 * HOUR)
    third = await factories.thread(desk, slack, subject="", name=HOSTILE_NAME, address="U1@T1",
                                   texts=("Szia from Slack",), customer_id=cid, identity_id=iid,
                                   start=NOW - HOUR)
    return cid, {"mail": first.conversation_id, "tg": second.conversation_id, "slack": third.conversation_id}


async def _open_customer(pilot, app, cid: int):
    from omnidesk.tui.screens.customer import CustomerScreen

    await pilot.pause()
    app.push_screen(CustomerScreen(cid))
    await until(pilot, lambda: getattr(app.screen, "customer", None) is not None
                and app.screen.story.current() is not None, "customer story")
    return app.screen


async def test_every_channel_in_one_story_with_the_switches_and_hostile_text_inert(seeded: Desk) -> None:
    cid, _ = await _story(seeded)
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_customer(pilot, app, cid)
        await until(pilot, lambda: "Szia from Slack" in screen_text(app), "newest entry shown")
        text = screen_text(app)
        assert "→ now on Telegram (tg), was support" in text
        assert "→ now on Slack (acme-slack), was tg" in text
        assert "退款?" in text and "Telegram" in text
        assert screen.story.current().message.text == "Szia from Slack"  # the cursor starts at the newest
        assert "\x1b" not in text and "\u202e" not in text and "\x07" not in text
        # shown as text, never run as markup; escapes as visible symbols
        assert "Mallory ␛[2J[bold]evil: mail 0 [link=http://x]click[/link] ␛]5" in text


async def test_enter_opens_the_conversation_of_the_entry(seeded: Desk) -> None:
    cid, convs = await _story(seeded)
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_customer(pilot, app, cid)
        while screen.story.current().conversation_id != convs["tg"]:
            await pilot.press("k")
        await pilot.press("enter")
        await until(pilot, lambda: getattr(getattr(app.screen, "conversation", None), "summary", None)
                    is not None and app.screen.conversation.summary.id == convs["tg"], "tg conversation open")
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen, "back on the customer")


async def test_a_long_story_loads_older_pages_as_the_cursor_climbs(seeded: Desk, monkeypatch) -> None:
    monkeypatch.setattr(customer_timeline, "NEAR", 3)
    cid, _ = await _story(seeded, mails=3 * customer_timeline.PAGE_SIZE)
    total = len((await reads.customer_timeline(seeded, cid, limit=10_000)).entries)
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_customer(pilot, app, cid)
        story = screen.story
        await pilot.pause(0.2)
        assert len(story.entries) <= 2 * customer_timeline.PAGE_SIZE < total  # a page or two, never all
        assert story.older is not None
        for _ in range(total + 5):
            await pilot.press("k")
            if story.older is None and not story.loading and story.cursor == 0:
                break
        await until(pilot, lambda: story.older is None and not story.loading, "first page reached")
        keys = [e.key for e in story.entries]
        assert len(keys) == len(set(keys)) == total  # no gaps, no doubles
        assert story.current().kind == "event" or "mail 0" in story.current().message.text


async def test_a_new_message_joins_the_open_story(seeded: Desk) -> None:
    cid, convs = await _story(seeded)
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_customer(pilot, app, cid)
        other = await other_process(seeded)  # a sync writing on its own connection
        try:
            mail = await factories.email_channel(other)
            t = await factories.thread(other, mail, subject="back to mail", name=HOSTILE_NAME,
                                       address="mallory@evil.example", texts=("Mail again, قبض",),
                                       customer_id=cid, identity_id=await _identity(other, cid),
                                       start=NOW - 60_000)
        finally:
            await other.db.close()
        assert t.conversation_id not in convs.values()
        await until(pilot, lambda: "Mail again" in screen_text(app), "new entry at the bottom")
        assert "→ now on email (support), was acme-slack" in screen_text(app)
        assert len({e.key for e in screen.story.entries}) == len(screen.story.entries)


async def _identity(desk: Desk, cid: int) -> int:
    return (await reads.get_customer(desk, cid)).identities[0].id


async def test_page_and_first_last_keys_move_through_the_whole_story(seeded: Desk) -> None:
    cid, _ = await _story(seeded, mails=3 * customer_timeline.PAGE_SIZE)
    entries = (await reads.customer_timeline(seeded, cid, limit=10_000)).entries
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_customer(pilot, app, cid)
        story = screen.story
        await until(pilot, lambda: not story.loading, "the newest pages")
        newest = story.current().key
        assert newest == entries[-1].key and story.older is not None  # the oldest are not held yet
        await pilot.press("pageup")
        moved = story.current().key
        assert moved != newest and [e.key for e in entries].index(moved) >= len(entries) - story.size.height
        await pilot.press("pagedown")
        assert story.current().key == newest
        await pilot.press("g")  # the oldest entry, read from the start of the story
        await until(pilot, lambda: not story.loading and story.current() is not None
                    and story.current().key == entries[0].key, "the oldest entry")
        assert story.older is None and "mail 0" in screen_text(app)
        await pilot.press("ctrl+d")
        assert story.current().key != entries[0].key
        await pilot.press("end")  # the newest again, far below what is held now
        await until(pilot, lambda: not story.loading and story.current() is not None
                    and story.current().key == newest, "the newest entry")
        await pilot.press("home")
        await until(pilot, lambda: story.current().key == entries[0].key, "the oldest entry again")
