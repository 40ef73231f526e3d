"""Edits and replies in place through the real sync of a Telegram channel (FakeTelegram over HTTP)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from omnidesk.demo.fakes.telegram import FakeTelegram
from omnidesk.services.sync import run_sync
from omnidesk.store.reads import timeline
from tests.integration.sync_env import open_desk_with
from tests.integration.test_telegram_sync import PEOPLE, rows, telegram_channel, tg  # noqa: F401 (fixture)


async def test_an_edited_message_shows_its_new_text_and_keeps_the_old_one(tmp_path: Path,
                                                                          tg: FakeTelegram) -> None:  # noqa: F811
    said = tg.say(PEOPLE[1], "سفارشم کجاست؟")
    desk = await open_desk_with(tmp_path, telegram_channel(tg))
    try:
        first = await run_sync(desk, once=True, stop=asyncio.Event(), dispatch=False)
        assert first.channels["bot"].imported == 1
        tg.edit(said, "سفارشم رسید، ممنون")
        report = await run_sync(desk, once=True, stop=asyncio.Event(), dispatch=False)
        assert report.ok and report.channels["bot"].imported == 0, report
        (conversation_id, text), = await rows(desk, "SELECT conversation_id, text FROM messages")
        assert text == "سفارشم رسید، ممنون"
        conv = await timeline(desk.db, conversation_id, None)
        assert conv is not None
        assert [e.text for e in conv.messages[0].edits] == ["سفارشم کجاست؟"]
        assert [e.kind for e in conv.events].count("message_edited") == 1
    finally:
        await desk.db.close()


async def test_a_reply_threads_in_its_own_chat_when_message_ids_repeat(tmp_path: Path,
                                                                       tg: FakeTelegram) -> None:  # noqa: F811
    first = tg.say(PEOPLE[0], "first words of Anna")
    other = tg.say(PEOPLE[2], "王伟的第一句话")  # message_id 1 as well, in another chat
    assert first["message_id"] == other["message_id"]
    desk = await open_desk_with(tmp_path, telegram_channel(tg))
    try:
        await run_sync(desk, once=True, stop=asyncio.Event(), dispatch=False)
        tg.say(PEOPLE[2], "还在等", reply_to=other)
        await run_sync(desk, once=True, stop=asyncio.Event(), dispatch=False)
        stored = await rows(desk, "SELECT scope, external_id, conversation_id FROM messages ORDER BY id")
        assert len(stored) == 3 and len({r[2] for r in stored}) == 2
        assert stored[2][2] == stored[1][2] != stored[0][2]  # the reply is in 王伟's conversation
    finally:
        await desk.db.close()
