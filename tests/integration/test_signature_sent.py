"""A reply carries the channel's from name and signature, in the text and the HTML part, through real SMTP."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from omnidesk.desk import Desk
from omnidesk.outbound.outbox import Dispatcher
from omnidesk.services import services
from omnidesk.settings import AgentSettings, DeskSettings, Settings
from omnidesk.store.db import Database
from tests.fakes.smtp_server import FakeSMTPServer
from tests.integration.outbox_env import ADDRESS, channel_settings
from tests.unit import factories


@pytest.fixture
def smtp():  # type: ignore[no-untyped-def]
    with FakeSMTPServer() as server:
        yield server


def signed_settings(port: int) -> Settings:
    chan = replace(channel_settings(port), from_name="{agent} at Example Support",
                   signature=(("en", "{agent_signature}\nExample Support"),
                              ("hu", "{agent_signature}\nExample ügyfélszolgálat")),
                   signature_html=(("", "<p>{agent}<br>Example Support</p>"),))
    alice = AgentSettings(name="alice", display_name="Alice Kovács",
                          signature=(("en", "Alice, billing"), ("hu", "Kovács Alice, számlázás")))
    return Settings(desk=DeskSettings(name="Test Desk", undo_seconds=0), agents=(alice,), channels=(chan,))


@pytest.mark.parametrize(("language", "expected"), [
    ("hu", "Kovács Alice, számlázás\nExample ügyfélszolgálat"),
    (None, "Alice, billing\nExample Support"),
])
async def test_sent_mail_carries_from_name_and_signature(
    tmp_path: Path, smtp: FakeSMTPServer, language: str | None, expected: str
) -> None:
    db = await Database.open(tmp_path / "omnidesk.db")
    try:
        desk = Desk(db=db, settings=signed_settings(smtp.port), data_dir=tmp_path)
        agent = await factories.agent(desk, "alice")
        acting = replace(desk, agent=replace(agent, display_name="Alice Kovács"))
        channel = await factories.email_channel(desk, "support", ADDRESS)
        thread = await factories.thread(desk, channel, subject="Számla", texts=("Hol a számlám?",))
        if language:
            async with db.write() as conn:  # what language detection or `customer set` would store
                await conn.execute("UPDATE customers SET language = ? WHERE id = ?",
                                   (language, thread.customer_id))
        result = await services.queue_reply(acting, thread.conversation_id, "Kedves Ann,\n\nmellékeltem.")
        assert (await Dispatcher(desk).run_once()).sent == 1
        [got] = await smtp.wait_for(1)
        msg = got.message
        assert str(msg["From"]) == f"Alice Kovács at Example Support <{ADDRESS}>"
        text = msg.get_body(("plain",)).get_content().replace("\r\n", "\n")
        # The signature, then the quote.
        assert text.startswith(f"Kedves Ann,\n\nmellékeltem.\n\n-- \n{expected}\n\nOn ")
        html = msg.get_body(("html",)).get_content()
        assert "<p>Alice Kovács<br>Example Support</p>" in html and "mellékeltem." in html
        row = await db.fetchone("SELECT text, display_text FROM messages WHERE id = ?",
                                (result.message_id,))
        assert row is not None and f"-- \n{expected}" in row["text"]
        assert row["display_text"] == "Kedves Ann,\n\nmellékeltem."  # the timeline shows what was written
    finally:
        await db.close()
