"""Notes, queued replies (Outbound payload, undo window, cancel, retry) and logged calls."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from omnidesk.conversations import reads
from omnidesk.desk import Desk
from omnidesk.errors import NotFound, ReplyCollision, UserError
from omnidesk.outbound import outbound_payload, replyfmt
from omnidesk.services import services
from omnidesk.settings import DeskSettings, Settings
from omnidesk.store.actions import set_read
from omnidesk.timeutil import now_ms
from tests.unit import factories


@pytest.fixture
async def adesk(desk: Desk) -> Desk:
    alice = await factories.agent(desk, "alice")
    settings = Settings(desk=DeskSettings(name="Acme Support", undo_seconds=5.0, quote_last_message=False))
    return dataclasses.replace(desk, settings=settings).as_agent(alice)


async def _fts(desk: Desk, word: str) -> list[int]:
    rows = await desk.db.fetchall(
        "SELECT rowid FROM message_fts WHERE message_fts MATCH ? ORDER BY rowid", (word,)
    )
    return [r[0] for r in rows]


async def _outbox(desk: Desk, message_id: int):
    row = await desk.db.fetchone("SELECT * FROM outbox WHERE message_id = ?", (message_id,))
    assert row is not None
    return row


# -- notes -------------------------------------------------------------------------------------


async def test_note_is_a_searchable_note_message_with_event(adesk: Desk) -> None:
    ch = await factories.email_channel(adesk)
    t = await factories.thread(adesk, ch)
    result = await services.add_note(adesk, t.conversation_id, "Customer is a reseller, check ügyfélszám")
    conv = await reads.get_conversation(adesk, t.conversation_id)
    note = conv.messages[-1]
    assert (note.id, note.direction, note.author_agent, note.channel_id) == (
        result.message_id,
        "note",
        "alice",
        None,
    )
    assert conv.summary.message_count == 2
    (event,) = [e for e in conv.events if e.kind == "note"]
    assert event.agent == "alice" and event.after == {"message_id": note.id}
    assert await _fts(adesk, "reseller") == [note.id]
    assert await _fts(adesk, "ugyfelszam") == [note.id]  # accents folded by the tokenizer
    assert not await adesk.db.fetchone("SELECT 1 FROM outbox")  # never sent


async def test_undo_note_removes_message_and_index_row(adesk: Desk) -> None:
    ch = await factories.email_channel(adesk)
    t = await factories.thread(adesk, ch)
    before = (await reads.get_conversation(adesk, t.conversation_id)).summary
    result = await services.add_note(adesk, t.conversation_id, "退款 already approved")
    await services.undo(adesk, result)
    conv = await reads.get_conversation(adesk, t.conversation_id)
    assert [m.id for m in conv.messages] == t.message_ids
    assert conv.summary.message_count == 1
    assert conv.summary.last_activity_at == before.last_activity_at
    assert await _fts(adesk, "approved") == []
    assert [e.kind for e in conv.events] == ["note", "note_removed"]
    # the index is still consistent: an integrity check passes
    await adesk.db.fetchall("INSERT INTO message_fts(message_fts, rank) VALUES ('integrity-check', 1)")


async def test_empty_note_and_missing_conversation(adesk: Desk) -> None:
    ch = await factories.email_channel(adesk)
    t = await factories.thread(adesk, ch)
    with pytest.raises(UserError, match="empty"):
        await services.add_note(adesk, t.conversation_id, "  \n ")
    with pytest.raises(NotFound, match="#31337"):
        await services.add_note(adesk, 31337, "hi")


# -- replies -----------------------------------------------------------------------------------


async def test_reply_builds_the_email_outbound(adesk: Desk) -> None:
    ch = await factories.email_channel(adesk, address="support@acme.example")
    t = await factories.thread(adesk, ch, subject="Re: Refund please", texts=("first", "second", "third"))
    start = now_ms()
    result = await services.queue_reply(adesk, t.conversation_id, "We refunded you.")
    message = (await reads.get_conversation(adesk, t.conversation_id)).messages[-1]
    assert message.id == result.message_id
    assert (message.direction, message.delivery, message.author_agent) == ("out", "queued", "alice")
    row = await _outbox(adesk, message.id)
    outbound, attachments = outbound_payload.load(row["payload"])
    assert outbound.message_ref == message.external_id
    assert outbound.message_ref.startswith("<") and outbound.message_ref.endswith("@acme.example>")
    assert outbound.to[0].address == "ann@example.com" and outbound.to[0].display_name == "Ann Lee"
    assert outbound.from_address is not None
    assert (outbound.from_address.address, outbound.from_address.display_name) == (
        "support@acme.example",
        "Acme Support",
    )
    assert outbound.subject == f"Re: Refund please [#{t.conversation_id}]"
    assert outbound.in_reply_to == t.external_ids[-1]
    assert outbound.references == tuple(t.external_ids)
    assert outbound.text == "We refunded you."
    assert attachments == []
    assert row["state"] == "queued" and row["channel_id"] == ch.id
    assert start + 5_000 <= row["not_before"] <= now_ms() + 5_000
    assert message.recipients == (
        {"kind": "email", "address": "ann@example.com", "display_name": "Ann Lee", "role": "to"},
    )
    (event,) = [e for e in (await reads.get_conversation(adesk, t.conversation_id)).events]
    assert event.kind == "reply_queued" and event.agent == "alice"
    assert event.after["message_id"] == message.id and event.after["to"] == "ann@example.com"
    assert await _fts(adesk, "refunded") == [message.id]


async def test_reply_subject_token_off_and_quote_on(adesk: Desk) -> None:
    settings = Settings(desk=DeskSettings(subject_token=False, quote_last_message=True))
    d = dataclasses.replace(adesk, settings=settings)
    ch = await factories.email_channel(d)
    t = await factories.thread(d, ch, subject="AW: RE: Számla", texts=("Hol a számlám?\n> old quote",))
    result = await services.queue_reply(d, t.conversation_id, "Itt van.")
    outbound, _ = outbound_payload.load((await _outbox(d, result.message_id))["payload"])
    assert outbound.subject == "Re: Számla"
    assert outbound.text.startswith("Itt van.\n\nOn ")
    assert "Ann Lee wrote:\n> Hol a számlám?\n>> old quote" in outbound.text
    message = (await reads.get_conversation(d, t.conversation_id)).messages[-1]
    assert message.display_text == "Itt van."  # the timeline shows what the agent wrote


async def test_references_skip_unsent_replies_and_keep_the_last_twenty(adesk: Desk) -> None:
    ch = await factories.email_channel(adesk)
    t = await factories.thread(adesk, ch, texts=tuple(f"message {i}" for i in range(25)))
    first = await services.queue_reply(adesk, t.conversation_id, "one")  # still queued: never left
    second = await services.queue_reply(adesk, t.conversation_id, "two")
    outbound, _ = outbound_payload.load((await _outbox(adesk, second.message_id))["payload"])
    assert outbound.references == tuple(t.external_ids[-20:])
    first_ref = (await reads.get_conversation(adesk, t.conversation_id)).messages[-2].external_id
    assert first_ref not in outbound.references
    del first


def test_reply_subject_rules() -> None:
    assert replyfmt.reply_subject("Re: Re: Hello [#12]", 12, token=True) == "Re: Hello [#12]"
    assert replyfmt.reply_subject("", 7, token=True) == "Re: [#7]"
    assert replyfmt.reply_subject("回复: 退款", 3, token=True) == "Re: 退款 [#3]"
    assert replyfmt.reply_subject("Vá: Rendelés", 3, token=False) == "Re: Rendelés"
    assert replyfmt.reply_subject("Reply needed", 3, token=False) == "Re: Reply needed"
    assert replyfmt.references(["a", "b", "a", "c"], "b") == ("a", "c", "b")
    assert len(replyfmt.references([str(i) for i in range(50)], None)) == replyfmt.MAX_REFERENCES
    assert replyfmt.message_id_domain(None) == "omnidesk.invalid"


async def test_reply_all_copies_the_other_recipients(adesk: Desk) -> None:
    ch = await factories.email_channel(adesk)
    recipients = [
        {"kind": "email", "address": "support@example.com", "display_name": "", "role": "to"},
        {"kind": "email", "address": "boss@example.com", "display_name": "Boss", "role": "cc"},
        {"kind": "email", "address": "ANN@example.com", "display_name": "", "role": "cc"},
    ]
    t = await factories.thread(adesk, ch, recipients=recipients)
    plain = await services.queue_reply(adesk, t.conversation_id, "hi")
    outbound, _ = outbound_payload.load((await _outbox(adesk, plain.message_id))["payload"])
    assert outbound.cc == ()
    everyone = await services.queue_reply(adesk, t.conversation_id, "hi all", reply_all=True)
    outbound, _ = outbound_payload.load((await _outbox(adesk, everyone.message_id))["payload"])
    assert [(a.address, a.display_name) for a in outbound.cc] == [("boss@example.com", "Boss")]


async def test_reply_to_and_channel_overrides_and_errors(adesk: Desk) -> None:
    support = await factories.email_channel(adesk)
    sales = await factories.email_channel(adesk, "sales", "sales@example.com")
    t = await factories.thread(adesk, support)
    result = await services.queue_reply(
        adesk, t.conversation_id, "hi", channel="sales", to=" Ann.Other@Example.com "
    )
    outbound, _ = outbound_payload.load((await _outbox(adesk, result.message_id))["payload"])
    assert outbound.to[0].address == "ann.other@example.com"
    assert outbound.from_address is not None and outbound.from_address.address == "sales@example.com"
    assert (await _outbox(adesk, result.message_id))["channel_id"] == sales.id
    with pytest.raises(NotFound, match="unknown channel 'nope'") as info:
        await services.queue_reply(adesk, t.conversation_id, "hi", channel="nope")
    assert info.value.hint == "known channels: sales, support"
    with pytest.raises(UserError, match="not an email address"):
        await services.queue_reply(adesk, t.conversation_id, "hi", to="not-an-address")
    with pytest.raises(UserError, match="empty"):
        await services.queue_reply(adesk, t.conversation_id, " ")
    with pytest.raises(NotFound):
        await services.queue_reply(adesk, 5555, "hi")


async def test_reply_without_any_channel_or_address(adesk: Desk) -> None:
    cust, _ = await factories.customer(adesk, kind="phone", address="+3612345678")
    call = await services.log_call(
        adesk, direction="in", duration_seconds=60, notes="called", customer_id=cust
    )
    with pytest.raises(UserError, match="no channel to reply on") as info:
        await services.queue_reply(adesk, call.conversation_ids[0], "hi")
    assert info.value.hint == "pass --via CHANNEL"
    await factories.email_channel(adesk)
    with pytest.raises(UserError, match="has no email address") as info:
        await services.queue_reply(adesk, call.conversation_ids[0], "hi", channel="support")
    assert info.value.hint == "pass --to ADDRESS"
    with pytest.raises(UserError, match="phone channel"):
        await services.queue_reply(adesk, call.conversation_ids[0], "hi", channel="phone")


async def test_reply_default_channel_skips_logged_calls(adesk: Desk) -> None:
    ch = await factories.email_channel(adesk)
    t = await factories.thread(adesk, ch)
    await services.log_call(
        adesk, direction="in", duration_seconds=30, notes="rang about it", conversation_id=t.conversation_id
    )
    result = await services.queue_reply(adesk, t.conversation_id, "as discussed on the phone")
    assert (await _outbox(adesk, result.message_id))["channel_id"] == ch.id


async def test_reply_routes_are_exactly_what_queue_reply_accepts(adesk: Desk) -> None:
    """Routes never include the phone channel of logged calls; the first is the default reply's."""
    support = await factories.email_channel(adesk)
    await factories.email_channel(adesk, "sales", "sales@example.com")
    t = await factories.thread(adesk, support, name="Nagy Éva", address="eva@example.hu")
    async with adesk.db.write() as conn:  # a second address, and a phone the calls know her by
        from omnidesk.store import customers

        for kind, address in (("email", "eva.nagy@example.hu"), ("phone", "+3612345678")):
            await customers.add_identity(conn, customer_id=t.customer_id, kind=kind, address=address,
                                         display_name="Nagy Éva", now=now_ms())
    await services.log_call(adesk, direction="in", duration_seconds=30, notes="hívott",
                            conversation_id=t.conversation_id)
    routes = await services.reply_routes(adesk, t.conversation_id)
    assert routes == [
        ("support", "email", "eva@example.hu", "email"),  # the latest inbound mail's channel and author
        ("support", "email", "eva.nagy@example.hu", "email"),
        ("sales", "email", "eva@example.hu", "email"),
        ("sales", "email", "eva.nagy@example.hu", "email"),
    ]
    default = await services.queue_reply(adesk, t.conversation_id, "alapértelmezett")
    assert default.description.endswith(f"via {routes[0].channel} to {routes[0].to}")
    for route in routes:
        result = await services.queue_reply(adesk, t.conversation_id, "köszönöm", channel=route.channel,
                                            to=route.to)
        assert result.description.endswith(f"via {route.channel} to {route.to}")
    with pytest.raises(NotFound):
        await services.reply_routes(adesk, 5555)


async def test_reply_routes_of_a_customer_known_only_by_phone_are_none(adesk: Desk) -> None:
    await factories.email_channel(adesk)
    cust, _ = await factories.customer(adesk, kind="phone", address="+3612345678")
    call = await services.log_call(adesk, direction="in", duration_seconds=6, notes="hívás", customer_id=cust)
    assert await services.reply_routes(adesk, call.conversation_ids[0]) == []


async def test_a_reply_after_another_agents_unread_reply_is_refused_unless_forced(adesk: Desk) -> None:
    ch = await factories.email_channel(adesk)
    t = await factories.thread(adesk, ch, name="王芳", address="wang@example.cn")
    bob = adesk.as_agent(await factories.agent(adesk, "bob"))
    async with adesk.db.write() as conn:  # alice read it a second ago ...
        await set_read(conn, adesk.agent.id, t.conversation_id, now_ms() - 1000)
    await services.queue_reply(bob, t.conversation_id, "已退款")  # ... then bob answered
    before = len((await reads.get_conversation(adesk, t.conversation_id)).messages)
    with pytest.raises(ReplyCollision, match=f"bob replied to #{t.conversation_id} after you last read it"):
        await services.queue_reply(adesk, t.conversation_id, "我们正在处理")
    assert len((await reads.get_conversation(adesk, t.conversation_id)).messages) == before  # nothing stored
    forced = await services.queue_reply(adesk, t.conversation_id, "我们正在处理", force=True)
    assert forced.message_id is not None
    # bob never read it since: alice's reply is one for him, his own is not
    with pytest.raises(ReplyCollision, match=r"^alice replied"):
        await services.queue_reply(bob, t.conversation_id, "again")


async def test_reading_again_clears_the_collision_and_cancelled_replies_never_count(adesk: Desk) -> None:
    ch = await factories.email_channel(adesk)
    t = await factories.thread(adesk, ch)
    bob = adesk.as_agent(await factories.agent(adesk, "bob"))
    carol = adesk.as_agent(await factories.agent(adesk, "carol"))
    cancelled = await services.queue_reply(carol, t.conversation_id, "oops")
    await services.cancel_reply(carol, cancelled.message_id)
    await services.queue_reply(adesk, t.conversation_id, "first")  # never read: only carol's, cancelled
    await services.queue_reply(bob, t.conversation_id, "Üdv", force=True)
    await services.queue_reply(carol, t.conversation_id, "hello", force=True)
    with pytest.raises(ReplyCollision) as info:
        await services.queue_reply(adesk, t.conversation_id, "second")
    assert info.value.agents == ["bob", "carol"] and str(info.value).startswith("bob and carol replied")
    await services.mark_read(adesk, t.conversation_id)
    assert (await services.queue_reply(adesk, t.conversation_id, "second")).message_id is not None


async def test_two_agents_sending_at_once_one_of_them_is_asked(adesk: Desk) -> None:
    import asyncio

    from omnidesk.store.db import Database

    ch = await factories.email_channel(adesk)
    t = await factories.thread(adesk, ch)
    bob_agent = await factories.agent(adesk, "bob")
    other = await Database.open(adesk.db.path)  # bob's own process
    try:
        bob = dataclasses.replace(adesk, db=other).as_agent(bob_agent)
        async with adesk.db.write() as conn:  # both read it a second ago
            for agent in (adesk.agent, bob_agent):
                await set_read(conn, agent.id, t.conversation_id, now_ms() - 1000)
        outcomes = await asyncio.gather(services.queue_reply(adesk, t.conversation_id, "alice here"),
                                        services.queue_reply(bob, t.conversation_id, "bob here"),
                                        return_exceptions=True)
    finally:
        await other.close()
    assert sorted(type(o).__name__ for o in outcomes) == ["ActionResult", "ReplyCollision"], outcomes


async def test_reply_with_attachments_and_multilingual_text(adesk: Desk, tmp_path: Path) -> None:
    ch = await factories.email_channel(adesk)
    t = await factories.thread(adesk, ch)
    invoice = tmp_path / "számla.pdf"
    invoice.write_bytes(b"%PDF-1.4 fake")
    text = "سلام! 退款已处理。 Üdv, Ági"
    result = await services.queue_reply(adesk, t.conversation_id, text, attachments=[str(invoice)])
    message = (await reads.get_conversation(adesk, t.conversation_id)).messages[-1]
    assert message.text == text
    (att,) = message.attachments
    assert (att.filename, att.content_type, att.size) == ("számla.pdf", "application/pdf", 13)
    assert (adesk.blob_dir / att.sha256[:2] / att.sha256).read_bytes() == b"%PDF-1.4 fake"
    _, refs = outbound_payload.load((await _outbox(adesk, result.message_id))["payload"])
    assert refs == [{"sha256": att.sha256, "filename": "számla.pdf", "content_type": "application/pdf"}]
    assert await _fts(adesk, '"退款"') == [message.id]
    with pytest.raises(UserError, match="cannot read attachment"):
        await services.queue_reply(adesk, t.conversation_id, "x", attachments=[str(tmp_path / "missing.txt")])


async def test_reply_to_merged_conversation_points_to_target(adesk: Desk) -> None:
    ch = await factories.email_channel(adesk)
    a = await factories.thread(adesk, ch)
    b = await factories.thread(adesk, ch, customer_id=a.customer_id, identity_id=a.identity_id)
    await services.merge_conversations(adesk, b.conversation_id, a.conversation_id)
    with pytest.raises(UserError, match=f"merged into #{a.conversation_id}"):
        await services.queue_reply(adesk, b.conversation_id, "hi")


# -- cancel / retry ---------------------------------------------------------------------------------


async def test_cancel_in_the_undo_window(adesk: Desk) -> None:
    ch = await factories.email_channel(adesk)
    t = await factories.thread(adesk, ch)
    result = await services.queue_reply(adesk, t.conversation_id, "oops, wrong customer")
    cancelled = await services.cancel_reply(adesk, result.message_id)
    assert cancelled.description == f"Cancelled the reply to #{t.conversation_id}"
    assert (await _outbox(adesk, result.message_id))["state"] == "cancelled"
    conv = await reads.get_conversation(adesk, t.conversation_id)
    assert conv.messages[-1].delivery == "cancelled"
    assert [e.kind for e in conv.events] == ["reply_queued", "reply_cancelled"]
    with pytest.raises(UserError, match="cancelled already"):
        await services.cancel_reply(adesk, result.message_id)
    with pytest.raises(NotFound):
        await services.cancel_reply(adesk, 999)


async def test_undo_of_a_reply_cancels_it(adesk: Desk) -> None:
    ch = await factories.email_channel(adesk)
    t = await factories.thread(adesk, ch)
    result = await services.queue_reply(adesk, t.conversation_id, "hello")
    await services.undo(adesk, result)
    assert (await _outbox(adesk, result.message_id))["state"] == "cancelled"
    assert [m.delivery for m in (await reads.get_conversation(adesk, t.conversation_id)).messages] == [
        None,
        "cancelled",
    ]


async def test_cannot_cancel_once_the_dispatcher_has_it(adesk: Desk) -> None:
    ch = await factories.email_channel(adesk)
    t = await factories.thread(adesk, ch)
    result = await services.queue_reply(adesk, t.conversation_id, "hello")
    async with adesk.db.write() as conn:  # what a dispatcher's claim does
        await conn.execute(
            "UPDATE outbox SET state = 'sending', lease_owner = 'x' WHERE message_id = ?",
            (result.message_id,),
        )
    with pytest.raises(UserError, match="being sent right now"):
        await services.cancel_reply(adesk, result.message_id)
    async with adesk.db.write() as conn:
        await conn.execute("UPDATE outbox SET state = 'sent' WHERE message_id = ?", (result.message_id,))
    with pytest.raises(UserError, match="has been sent"):
        await services.undo(adesk, result)


async def test_retry_a_failed_reply(adesk: Desk) -> None:
    ch = await factories.email_channel(adesk)
    t = await factories.thread(adesk, ch)
    result = await services.queue_reply(adesk, t.conversation_id, "hello")
    with pytest.raises(UserError, match="not failed"):
        await services.retry_reply(adesk, result.message_id)
    async with adesk.db.write() as conn:
        await conn.execute(
            "UPDATE outbox SET state = 'failed', last_error = '550 no such user', attempts = 3"
            " WHERE message_id = ?",
            (result.message_id,),
        )
        await conn.execute(
            "UPDATE messages SET delivery = 'failed', delivery_error = '550 no such user' WHERE id = ?",
            (result.message_id,),
        )
    before = now_ms()
    retried = await services.retry_reply(adesk, result.message_id)
    row = await _outbox(adesk, result.message_id)
    assert (
        row["state"] == "queued"
        and row["last_error"] is None
        and before <= row["next_attempt_at"] <= now_ms()
    )
    message = (await reads.get_conversation(adesk, t.conversation_id)).messages[-1]
    assert (message.delivery, message.delivery_error) == ("queued", None)
    event = (await reads.get_conversation(adesk, t.conversation_id)).events[-1]
    assert event.id == retried.event_ids[0] and event.before["error"] == "550 no such user"


# -- calls --------------------------------------------------------------------------------------------


async def test_log_call_creates_customer_phone_channel_and_conversation(adesk: Desk) -> None:
    result = await services.log_call(
        adesk, direction="in", duration_seconds=185, notes="Wants a callback", phone="+36 30 123 4567"
    )
    assert result.description.startswith("Logged an incoming call (3:05)")
    conv = await reads.get_conversation(adesk, result.conversation_ids[0])
    (message,) = conv.messages
    assert (message.direction, message.channel_kind, message.channel_name) == ("in", "phone", "phone")
    assert message.meta == {"duration_seconds": 185}
    assert message.author_address == "+36301234567"
    assert [i.address for i in conv.customer.identities] == ["+36301234567"]
    assert [e.kind for e in conv.events] == ["created", "call_logged"]
    assert all(e.agent == "alice" for e in conv.events)
    assert conv.summary.channel_kind == "phone"
    assert [c.kind for c in await reads.list_channels(adesk)] == ["phone"]
    assert await _fts(adesk, "callback") == [message.id]

    # a second call from the same number (another spelling) joins the open conversation
    again = await services.log_call(
        adesk, direction="out", duration_seconds=0, notes="No answer", phone="tel:+36-30-123-4567"
    )
    assert again.conversation_ids == result.conversation_ids
    conv = await reads.get_conversation(adesk, result.conversation_ids[0])
    assert [m.direction for m in conv.messages] == ["in", "out"]
    assert conv.messages[1].author_agent == "alice"


async def test_log_call_on_an_existing_customer_adds_the_phone(adesk: Desk) -> None:
    ch = await factories.email_channel(adesk)
    t = await factories.thread(adesk, ch, name="زهرا احمدی", address="zahra@example.ir")
    result = await services.log_call(
        adesk,
        direction="in",
        duration_seconds=60,
        notes="تماس گرفت",
        phone="+98 912 345 6789",
        customer_id=t.customer_id,
    )
    assert result.conversation_ids == (t.conversation_id,)  # open and recent: same conversation
    customer = await reads.get_customer(adesk, t.customer_id)
    assert {i.address for i in customer.identities} == {"zahra@example.ir", "+989123456789"}
    other, _ = await factories.customer(adesk, address="other@example.com")
    with pytest.raises(UserError, match="belongs to customer"):
        await services.log_call(
            adesk, direction="in", duration_seconds=1, notes="", phone="+989123456789", customer_id=other
        )


async def test_log_call_checks_its_input(adesk: Desk) -> None:
    with pytest.raises(UserError, match="direction"):
        await services.log_call(
            adesk, direction="sideways", duration_seconds=1, notes="", phone="+3612345678"
        )
    with pytest.raises(UserError, match="duration"):
        await services.log_call(adesk, direction="in", duration_seconds=-1, notes="", phone="+3612345678")
    with pytest.raises(UserError, match="say who called"):
        await services.log_call(adesk, direction="in", duration_seconds=1, notes="")
    with pytest.raises(UserError, match="phone number"):
        await services.log_call(adesk, direction="in", duration_seconds=1, notes="", phone="12")
    with pytest.raises(NotFound):
        await services.log_call(adesk, direction="in", duration_seconds=1, notes="", customer_id=12345)
    result = await services.log_call(
        adesk, direction="in", duration_seconds=1, notes="x", phone="+3612345678"
    )
    with pytest.raises(UserError, match="cannot be undone"):
        await services.undo(adesk, result)


async def test_old_conversation_is_not_joined_by_a_call(adesk: Desk) -> None:
    ch = await factories.email_channel(adesk)
    t = await factories.thread(adesk, ch, start=now_ms() - 3 * 86_400_000)  # quiet for three days
    result = await services.log_call(
        adesk, direction="in", duration_seconds=5, notes="new issue", customer_id=t.customer_id
    )
    assert result.conversation_ids != (t.conversation_id,)
    assert json.loads(json.dumps(result.conversation_ids))  # plain ints


async def test_cancel_and_note_removal_cannot_be_undone(adesk: Desk) -> None:
    ch = await factories.email_channel(adesk)
    t = await factories.thread(adesk, ch)
    reply = await services.queue_reply(adesk, t.conversation_id, "hello")
    cancelled = await services.undo(adesk, reply)
    with pytest.raises(UserError, match="cannot be undone"):
        await services.undo(adesk, cancelled)
    note = await services.add_note(adesk, t.conversation_id, "n")
    removed = await services.undo(adesk, note)
    with pytest.raises(UserError, match="cannot be undone"):
        await services.undo(adesk, removed)


async def test_a_reply_failing_half_way_leaves_nothing_behind(adesk: Desk) -> None:
    """The message, its index row, the outbox row and the event commit together or not at all."""
    ch = await factories.email_channel(adesk)
    t = await factories.thread(adesk, ch)
    before = (await reads.get_conversation(adesk, t.conversation_id)).summary
    async with adesk.db.write() as conn:  # the outbox insert, the last write but one, fails
        await conn.execute(
            "CREATE TRIGGER fail_outbox BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'disk full'); END"
        )
    with pytest.raises(Exception, match="disk full"):
        await services.queue_reply(adesk, t.conversation_id, "zebra crossing")
    conv = await reads.get_conversation(adesk, t.conversation_id)
    assert [m.id for m in conv.messages] == t.message_ids
    assert conv.events == () and conv.summary == before
    assert await _fts(adesk, "zebra") == []
    async with adesk.db.write() as conn:
        await conn.execute("DROP TRIGGER fail_outbox")
    result = await services.queue_reply(adesk, t.conversation_id, "zebra crossing")
    assert await _fts(adesk, "zebra") == [result.message_id]


async def test_log_call_on_a_merged_away_customer_points_to_the_target(adesk: Desk) -> None:
    a, _ = await factories.customer(adesk, address="a@example.com")
    b, _ = await factories.customer(adesk, address="b@example.com")
    await services.merge_customers(adesk, a, b)
    with pytest.raises(UserError, match=f"customer {a} was merged into {b}"):
        await services.log_call(adesk, direction="in", duration_seconds=3, notes="", customer_id=a)
    result = await services.log_call(adesk, direction="in", duration_seconds=3, notes="", customer_id=b)
    assert (await reads.get_conversation(adesk, result.conversation_ids[0])).customer.id == b
