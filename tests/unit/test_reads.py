"""The read side owned by the service layer: timelines, customers, agents, channels, outbox."""

from __future__ import annotations

import pytest

from omnidesk.conversations import reads
from omnidesk.desk import Desk
from omnidesk.errors import NotFound, UserError
from omnidesk.services import services
from omnidesk.store import actions
from omnidesk.store.customers import add_identity
from omnidesk.timeutil import now_ms
from tests.unit import factories


@pytest.fixture
async def adesk(desk: Desk) -> Desk:
    alice = await factories.agent(desk, "alice")
    await factories.agent(desk, "bob")
    return desk.as_agent(alice)


async def test_get_conversation_has_the_whole_timeline(adesk: Desk, tmp_path) -> None:
    ch = await factories.email_channel(adesk)
    t = await factories.thread(adesk, ch, subject="Számla / 退款", texts=("first\nsecond line", "follow-up"))
    await services.assign(adesk, [t.conversation_id], "bob")
    await services.tag(adesk, [t.conversation_id], add=["billing"])
    await services.add_note(adesk, t.conversation_id, "internal")
    attachment = tmp_path / "a.txt"
    attachment.write_text("hello")
    reply = await services.queue_reply(adesk, t.conversation_id, "answer", attachments=[str(attachment)])
    cc_ident = None
    async with adesk.db.write() as conn:
        cc_ident = await add_identity(
            conn,
            customer_id=t.customer_id,
            kind="email",
            address="cc@example.com",
            display_name="Cc Person",
            now=now_ms(),
        )
        await actions.add_participant(conn, t.conversation_id, cc_ident, "cc")

    conv = await reads.get_conversation(adesk, t.conversation_id)
    s = conv.summary
    assert (s.id, s.subject, s.status, s.priority) == (t.conversation_id, "Számla / 退款", "open", "normal")
    assert (s.customer_name, s.customer_address) == ("Ann Lee", "ann@example.com")
    assert (s.channel_kind, s.channel_name, s.assignee, s.tags) == ("email", "support", "bob", ("billing",))
    assert s.message_count == 4 and s.unread
    assert s.preview == "answer"  # the latest customer-facing message, first line
    assert [m.direction for m in conv.messages] == ["in", "in", "note", "out"]
    out = conv.messages[-1]
    assert (out.id, out.delivery, out.channel_name, out.author_agent) == (
        reply.message_id,
        "queued",
        "support",
        "alice",
    )
    assert [a.filename for a in out.attachments] == ["a.txt"] and out.attachments[0].size == 5
    assert conv.messages[0].recipients[0]["address"] == "support@example.com"
    assert [e.kind for e in conv.events] == ["assigned", "tagged", "note", "reply_queued"]
    assert {e.agent for e in conv.events} == {"alice"}
    assert [p.address for p in conv.participants] == ["cc@example.com"]
    assert conv.customer.id == t.customer_id and conv.merged_into is None and conv.linked_to is None


async def test_get_conversation_missing_is_not_found(adesk: Desk) -> None:
    with pytest.raises(NotFound, match="no such conversation: #42"):
        await reads.get_conversation(adesk, 42)


async def test_unread_is_per_agent(adesk: Desk) -> None:
    ch = await factories.email_channel(adesk)
    t = await factories.thread(adesk, ch)
    bob = next(a for a in await reads.list_agents(adesk) if a.name == "bob")
    await services.mark_read(adesk, t.conversation_id)
    assert not (await reads.get_conversation(adesk, t.conversation_id)).summary.unread
    assert (await reads.get_conversation(adesk.as_agent(bob), t.conversation_id)).summary.unread
    await factories.add_inbound(adesk, t, ch, "one more thing", when=now_ms() + 1000)
    assert (await reads.get_conversation(adesk, t.conversation_id)).summary.unread
    assert not (await reads.get_conversation(adesk.as_agent(None), t.conversation_id)).summary.unread


async def test_customers_find_and_get(adesk: Desk) -> None:
    ch = await factories.email_channel(adesk)
    ann = await factories.thread(adesk, ch, name="Ann Lee", address="ann@example.com")
    dani = await factories.thread(adesk, ch, name="Kovács Dániel", address="dani@example.hu")
    zahra = await factories.thread(adesk, ch, name="زهرا احمدی", address="zahra_100%@example.ir")
    assert (await reads.get_customer(adesk, dani.customer_id)).name == "Kovács Dániel"
    with pytest.raises(NotFound, match="no such customer: 999"):
        await reads.get_customer(adesk, 999)
    assert [c.id for c in await reads.find_customers(adesk, "Kovács")] == [dani.customer_id]
    assert [c.id for c in await reads.find_customers(adesk, "EXAMPLE.HU")] == [dani.customer_id]
    assert [c.id for c in await reads.find_customers(adesk, "زهرا")] == [zahra.customer_id]
    assert [c.id for c in await reads.find_customers(adesk, "100%")] == [zahra.customer_id]  # % is literal
    assert [c.id for c in await reads.find_customers(adesk, "_")] == [zahra.customer_id]  # _ is literal
    assert len(await reads.find_customers(adesk)) == 3
    assert len(await reads.find_customers(adesk, limit=2)) == 2
    assert await reads.find_customers(adesk, "nobody") == []
    await services.merge_customers(adesk, ann.customer_id, dani.customer_id)
    assert ann.customer_id not in [c.id for c in await reads.find_customers(adesk)]
    # the merged-away customer is still readable, and says where it went
    assert (await reads.get_customer(adesk, ann.customer_id)).merged_into == dani.customer_id


async def test_customer_conversations_include_every_status(adesk: Desk) -> None:
    ch = await factories.email_channel(adesk)
    a = await factories.thread(adesk, ch, start=now_ms() - 10_000_000)
    b = await factories.thread(adesk, ch, customer_id=a.customer_id, identity_id=a.identity_id)
    await services.set_status(adesk, [a.conversation_id], "spam")
    convs = await reads.customer_conversations(adesk, a.customer_id)
    assert [(c.id, c.status) for c in convs] == [(b.conversation_id, "open"), (a.conversation_id, "spam")]
    with pytest.raises(NotFound):
        await reads.customer_conversations(adesk, 999)


async def test_agents_channels_outbox(adesk: Desk) -> None:
    assert [a.name for a in await reads.list_agents(adesk)] == ["alice", "bob"]
    ch = await factories.email_channel(adesk)
    await factories.email_channel(adesk, "another", "another@example.com")
    assert [c.name for c in await reads.list_channels(adesk)] == ["another", "support"]
    t = await factories.thread(adesk, ch)
    first = await services.queue_reply(adesk, t.conversation_id, "one")
    second = await services.queue_reply(adesk, t.conversation_id, "two")
    await services.cancel_reply(adesk, first.message_id)
    items = await reads.list_outbox(adesk)
    assert [i.message_id for i in items] == [second.message_id, first.message_id]
    assert items[0].to == "ann@example.com" and items[0].channel_name == "support"
    assert items[0].conversation_id == t.conversation_id and items[0].not_before > items[0].created_at
    assert [i.message_id for i in await reads.list_outbox(adesk, states=["cancelled"])] == [first.message_id]
    assert await reads.list_outbox(adesk, states=["failed"]) == []
    with pytest.raises(UserError, match="unknown outbox state 'lost'"):
        await reads.list_outbox(adesk, states=["lost"])


async def test_empty_desk_reads(desk: Desk) -> None:
    assert await reads.list_agents(desk) == []
    assert await reads.list_channels(desk) == []
    assert await reads.list_outbox(desk) == []
    assert await reads.find_customers(desk, "x") == []


async def test_huge_timeline_reads_back_whole(adesk: Desk) -> None:
    ch = await factories.email_channel(adesk)
    big = "ü" * 200_000
    t = await factories.thread(adesk, ch, texts=(*tuple(f"message {i}" for i in range(300)), big))
    conv = await reads.get_conversation(adesk, t.conversation_id)
    assert len(conv.messages) == 301 and conv.messages[-1].text == big
    assert conv.summary.message_count == 301
