"""The knowledge-base pane: suggestions for the open conversation, reading, inserting into a reply."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from omnidesk.desk import Desk
from omnidesk.settings import KbSettings
from tests.tui.conftest import (
    ingest_from_eva,
    make_app,
    open_conversation,
    other_process,
    screen_text,
    until,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "config" / "kb"
SIZE = (170, 45)


@pytest.fixture
async def kb_desk(seeded: Desk) -> Desk:
    desk = replace(seeded, settings=replace(seeded.settings, kb=KbSettings(EXAMPLES, "https://help.example")))
    return desk


async def eva_forgot_her_password(desk: Desk, *, language: str | None = "hu") -> int:
    cid = await ingest_from_eva(desk, "<kb-1@example.hu>", subject="Belépés",
                                text="Elfelejtettem a jelszavamat, nem tudok belépni a fiókomba.")
    if language:
        async with desk.db.write() as conn:  # as `customer set --language` would
            await conn.execute("UPDATE customers SET language = ? WHERE name = 'Nagy Éva'", (language,))
    return cid


@asynccontextmanager
async def suggesting(desk: Desk, cid: int) -> AsyncIterator[tuple[Any, Any, Any]]:
    """The console with conversation `cid` open and its suggestions in."""
    app = make_app(desk)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_conversation(pilot, app, cid)
        await until(pilot, lambda: screen.kb_suggestions, "suggestions")
        yield app, pilot, screen


def pane_text(app) -> str:
    from textual.widgets import Static

    return str(app.screen.query_one("#kb-list", Static).render())


async def test_the_pane_suggests_the_article_in_the_customer_language(kb_desk: Desk) -> None:
    cid = await eva_forgot_her_password(kb_desk)
    async with suggesting(kb_desk, cid) as (app, pilot, screen):
        first = screen.kb_suggestions[0]
        assert (first.article_id, first.language) == ("reset-password", "hu")
        assert screen.query_one("#kb-pane").display
        await until(pilot, lambda: "1. Jelszó visszaállítása  hu" in screen_text(app), "pane painted")
        assert "articles in hu first" in pane_text(app)

        await pilot.press("b")  # hidden, and stays hidden for the next conversation
        await until(pilot, lambda: not screen.query_one("#kb-pane").display, "pane hidden")
        assert "Jelszó visszaállítása" not in screen_text(app)
        await pilot.press("J")
        await until(pilot, lambda: app.screen.conversation_id not in (None, cid), "the next conversation")
        await until(pilot, lambda: app.screen.conversation is not None, "loaded")
        screen = app.screen
        assert not screen.query_one("#kb-pane").display
        await pilot.press("b")
        await until(pilot, lambda: screen.query_one("#kb-pane").display, "pane shown again")


async def test_ctrl_l_and_ctrl_b_insert_the_link_and_the_excerpt_into_the_reply(kb_desk: Desk) -> None:
    cid = await eva_forgot_her_password(kb_desk)
    async with suggesting(kb_desk, cid) as (app, pilot, screen):
        await pilot.press("r")
        await until(pilot, lambda: screen.open_composer() is not None, "composer")
        composer = screen.open_composer()
        await pilot.press(*"Kedves Éva,")
        await pilot.press("ctrl+l")
        await until(pilot, lambda: type(app.screen).__name__ == "PickerScreen", "picker")
        await pilot.press("enter")  # the best suggestion is first
        link = "Jelszó visszaállítása: https://help.example/hu/reset-password.html"
        await until(pilot, lambda: composer.text == f"Kedves Éva, {link}", "link inserted")
        await pilot.press("ctrl+b")
        await until(pilot, lambda: type(app.screen).__name__ == "PickerScreen", "picker")
        await pilot.press("enter")
        await until(pilot, lambda: "\n\nHa elfelejtette a jelszavát" in composer.text, "excerpt inserted")
        assert composer.text.endswith("\nhttps://help.example/hu/reset-password.html")
        assert "**" not in composer.text  # the excerpt is plain text, not Markdown


async def test_B_reads_the_article_with_links_shown_not_followed(kb_desk: Desk) -> None:
    cid = await ingest_from_eva(kb_desk, "<kb-2@example.hu>", subject="Password",
                                text="I forgot my password and cannot log in")
    async with suggesting(kb_desk, cid) as (app, pilot, screen):
        assert screen.kb_suggestions[0].language == "en"  # no customer language: the matching one
        await pilot.press("B")
        await until(pilot, lambda: type(app.screen).__name__ == "PickerScreen", "picker")
        await pilot.press("enter")
        await until(pilot, lambda: type(app.screen).__name__ == "ArticleScreen", "article")
        await until(pilot, lambda: "emails? (kb:missing-emails)" in screen_text(app), "the link and address")
        strips = app.screen._compositor.render_strips()
        assert not any(seg.style and seg.style.link for strip in strips for seg in strip)  # no OSC 8 link
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen, "back to the conversation")


async def test_without_a_knowledge_base_there_is_no_pane_and_the_keys_say_why(seeded: Desk) -> None:
    cid = await eva_forgot_her_password(seeded)
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_conversation(pilot, app, cid)
        assert not screen.query_one("#kb-pane").display and not screen.kb_available
        await pilot.press("r")
        await until(pilot, lambda: screen.open_composer() is not None, "composer")
        await pilot.press("ctrl+l")
        notices = lambda: " ".join(str(n.message) for n in app._notifications)  # noqa: E731
        await until(pilot, lambda: "no suggested article" in notices(), "notice")
        assert type(app.screen).__name__ == "ConversationScreen"


async def test_a_new_message_and_an_edited_article_change_the_suggestions(kb_desk: Desk,
                                                                          tmp_path: Path) -> None:
    import shutil

    from omnidesk.kb import library

    folder = tmp_path / "kb"
    shutil.copytree(EXAMPLES, folder)
    desk = replace(kb_desk, settings=replace(kb_desk.settings, kb=KbSettings(folder, "")))
    cid = await eva_forgot_her_password(desk)
    async with suggesting(desk, cid) as (_, pilot, screen):
        (folder / "hu" / "reset-password.md").write_text(
            '+++\nid = "reset-password"\ntitle = "Új jelszó kérése"\nlanguage = "hu"\n+++\n'
            "Ha elfelejtette a jelszavát, kérjen újat.\n", "utf-8")
        library._last_check.clear()  # as if CHECK_SECONDS had passed
        other = await other_process(desk)  # another process's commit, seen through data_version
        try:
            await ingest_from_eva(other, "<kb-3@example.hu>", subject="Re: Belépés",
                                  text="A jelszó még mindig nem jó.", thread_refs=("<kb-1@example.hu>",))
        finally:
            await other.db.close()
        await until(pilot, lambda: len(screen.conversation.messages) == 2, "the new message shown")
        await until(pilot, lambda: screen.kb_suggestions[0].title == "Új jelszó kérése", "the edited article")
