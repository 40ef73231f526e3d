"""Cross-channel continuity and the reply path of a chat channel (design rule 3).

A customer mails, then writes on a chat channel: the chat message joins the open
mail conversation, the timeline says the channel changed, and the reply goes back
on the chat channel in place (in_reply_to, scope, the message's stored meta),
while a reply switched to mail still has its subject, References and quote.
The chat channel is a test-only adapter class registered with the registry; the
dispatcher hands it what a real adapter would get.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from adapters.base import Address, Batch, Capabilities, Inbound, Outbound
from omnidesk import registry
from omnidesk.conversations import reads
from omnidesk.conversations.eventtext import channel_names, describe
from omnidesk.desk import Desk
from omnidesk.errors import UserError
from omnidesk.inbound.ingest import ingest_batch
from omnidesk.outbound import outbound_payload
from omnidesk.outbound.outbox import Dispatcher
from omnidesk.services import services
from omnidesk.settings import DeskSettings, Settings
from omnidesk.store import customers
from omnidesk.store.channels import ensure_channel
from omnidesk.timeutil import now_ms
from tests.fakes.recording_chat import CHAT_KIND, RecordingChat, RecordingMail
from tests.unit import factories

TG_META = {"telegram": {"chat_id": 5550001, "chat_type": "private", "message_id": 42}}


@pytest.fixture
def chat_kind() -> Any:
    registry.register(CHAT_KIND, RecordingChat)
    RecordingChat.sent.clear()
    RecordingMail.sent.clear()
    yield RecordingChat
    registry.unregister(CHAT_KIND)


@pytest.fixture
async def cdesk(desk: Desk, chat_kind: Any) -> Desk:
    alice = await factories.agent(desk, "alice")
    settings = Settings(desk=DeskSettings(name="Acme Support", undo_seconds=0.0, quote_last_message=True))
    return dataclasses.replace(desk, settings=settings).as_agent(alice)


def _mail(at: datetime) -> Inbound:
    return Inbound(external_id="<m1@example.hu>", sender=Address("email", "eva@example.hu", "Nagy Éva"),
                   sent_at=at, subject="Visszatérítés, rendelés 48213", text="Mikor jön a pénz?")


def _chat(at: datetime, text: str = "Szia! Megjött? سلام، پول رسید؟ 退款到了吗?") -> Inbound:
    return Inbound(external_id="42", scope="5550001", sender=Address("telegram", "5550001", "Éva"),
                   sent_at=at, text=text, chat_like=True, meta=TG_META)


async def _dispatch(desk: Desk) -> None:
    adapters = {"support": RecordingMail("support", {}, None), "tg": RecordingChat("tg", {}, None)}
    await Dispatcher(desk, adapter_for=adapters.__getitem__).run_once()


async def _mail_then_chat(desk: Desk) -> int:
    """Éva mails support, then writes to the bot an hour later; the conversation both land in."""
    support = await factories.email_channel(desk)
    tg = await ensure_channel(desk.db, "tg", CHAT_KIND, None)
    start = datetime.now(UTC) - timedelta(hours=2)
    first = await ingest_batch(desk, support, Batch([_mail(start)], None))
    (conversation_id,) = first.conversation_ids
    customer_id = (await reads.get_conversation(desk, conversation_id)).customer.id
    async with desk.db.write() as conn:  # known on Telegram too (linking is the identity rules' job)
        await customers.add_identity(conn, customer_id=customer_id, kind="telegram", address="5550001",
                                     display_name="Éva", now=now_ms())
    second = await ingest_batch(desk, tg, Batch([_chat(start + timedelta(hours=1))], None))
    assert second.conversation_ids == [conversation_id], "the chat message joined the open mail conversation"
    return conversation_id


async def test_a_chat_message_joins_the_open_mail_conversation_and_the_timeline_says_so(cdesk: Desk) -> None:
    cid = await _mail_then_chat(cdesk)
    conversation = await reads.get_conversation(cdesk, cid)
    assert [(m.channel_name, m.direction) for m in conversation.messages] == [("support", "in"), ("tg", "in")]
    names = channel_names(conversation.messages)
    said = [describe(e, channels=names) for e in conversation.events if e.kind == "channel_switched"]
    assert said == ["the customer continued via tg (was support)"]


async def test_the_reply_goes_back_in_place_on_the_chat_channel(cdesk: Desk) -> None:
    cid = await _mail_then_chat(cdesk)
    routes = await services.reply_routes(cdesk, cid)
    assert routes == [("tg", CHAT_KIND, "5550001", "telegram"),  # the latest inbound message's channel
                      ("support", "email", "eva@example.hu", "email")]
    result = await services.queue_reply(cdesk, cid, "Igen, ma utaltuk. 已经退款。")
    assert result.description == f"Reply to #{cid} queued via tg to 5550001"
    await _dispatch(cdesk)
    (sent,) = RecordingChat.sent
    assert sent.to == (Address("telegram", "5550001", "Éva"),)
    assert (sent.in_reply_to, sent.scope, dict(sent.context)) == ("42", "5550001", TG_META)
    assert sent.references == ("42",)  # the mail's Message-ID means nothing to the bot
    assert (sent.subject, sent.text) == ("", "Igen, ma utaltuk. 已经退款。")  # no subject, no quote
    assert not RecordingMail.sent
    reply = (await reads.get_conversation(cdesk, cid)).messages[-1]
    assert (reply.channel_name, reply.subject, reply.delivery) == ("tg", "", "sent")
    for route in routes:  # every route offered is one the service takes, to exactly that address
        taken = await services.queue_reply(cdesk, cid, "ok", channel=route.channel, to=route.to, force=True)
        assert taken.description == f"Reply to #{cid} queued via {route.channel} to {route.to}"


async def test_a_reply_switched_to_mail_keeps_subject_references_and_quote(cdesk: Desk) -> None:
    cid = await _mail_then_chat(cdesk)
    await services.queue_reply(cdesk, cid, "Részletek e-mailben.", channel="support")
    await _dispatch(cdesk)
    (sent,) = RecordingMail.sent
    assert sent.to[0].address == "eva@example.hu"
    assert sent.subject == f"Re: Visszatérítés, rendelés 48213 [#{cid}]"
    assert (sent.in_reply_to, sent.references, sent.scope) == ("<m1@example.hu>", ("<m1@example.hu>",), "")
    assert sent.text.startswith("Részletek e-mailben.\n\nOn ") and "> Mikor jön a pénz?" in sent.text
    assert sent.message_ref.endswith("@example.com>")


async def test_a_channel_that_cannot_reach_the_customer_says_which_and_why(cdesk: Desk) -> None:
    support = await factories.email_channel(cdesk)
    await ensure_channel(cdesk.db, "tg", CHAT_KIND, None)
    t = await factories.thread(cdesk, support, name="王芳", address="wang@example.cn")
    assert [r.channel for r in await services.reply_routes(cdesk, t.conversation_id)] == ["support"]
    with pytest.raises(UserError, match=f"^the tg channel cannot reach the customer of #{t.conversation_id}: "
                                        "it sends to telegram addresses") as info:
        await services.queue_reply(cdesk, t.conversation_id, "你好", channel="tg")
    assert info.value.hint == "pass --to ADDRESS"
    with pytest.raises(UserError, match=r"^not a Telegram user id: ' '"):  # typed, but not one it takes
        await services.queue_reply(cdesk, t.conversation_id, "你好", channel="tg", to=" ")


async def test_a_chat_message_after_the_continuity_window_starts_a_new_conversation(cdesk: Desk) -> None:
    support = await factories.email_channel(cdesk)
    tg = await ensure_channel(cdesk.db, "tg", CHAT_KIND, None)
    start = datetime.now(UTC) - timedelta(hours=30)
    (mail_cid,) = (await ingest_batch(cdesk, support, Batch([_mail(start)], None))).conversation_ids
    customer_id = (await reads.get_conversation(cdesk, mail_cid)).customer.id
    async with cdesk.db.write() as conn:
        await customers.add_identity(conn, customer_id=customer_id, kind="telegram", address="5550001",
                                     display_name="Éva", now=now_ms())
    late = await ingest_batch(cdesk, tg, Batch([_chat(start + timedelta(hours=25))], None))
    assert late.conversation_ids != [mail_cid] and late.rules == ["new"]
    events = (await reads.get_conversation(cdesk, late.conversation_ids[0])).events
    assert "channel_switched" not in [e.kind for e in events]


def test_long_chat_text_is_sent_in_parts_at_the_declared_length(chat_kind: Any) -> None:
    paragraph = "Kedves Éva, " + "a visszatérítést elindítottuk. " * 40
    parts = registry.reply_parts(CHAT_KIND, "\n\n".join([paragraph] * 6))
    assert len(parts) == 2 and all(len(p) <= 4096 for p in parts)
    assert registry.reply_parts("email", paragraph * 100) == [paragraph * 100]  # mail has no limit
    assert registry.capabilities("phone") == Capabilities()  # logged calls: no adapter, sends nothing


def test_outbox_payloads_round_trip_scope_and_context_and_old_ones_still_load() -> None:
    out = Outbound(message_ref="<r@x>", to=(Address("telegram", "5550001"),), text="szia", in_reply_to="42",
                   scope="5550001", context=TG_META, references=("42",))
    back, _ = outbound_payload.load(outbound_payload.dump(out))
    assert back == out
    old = ('{"message_ref":"<r@x>","to":[{"kind":"email","address":"a@x.hu","display_name":""}],'
           '"subject":"Re: x","text":"t","in_reply_to":"<p@x>","references":["<p@x>"],"meta":{}}')
    loaded, _ = outbound_payload.load(old)
    assert (loaded.scope, dict(loaded.context), loaded.in_reply_to) == ("", {}, "<p@x>")
