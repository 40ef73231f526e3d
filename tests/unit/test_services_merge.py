"""Merging conversations and customers, moving messages, and undoing all three."""

from __future__ import annotations

import pytest

from omnidesk.conversations import reads
from omnidesk.desk import Desk
from omnidesk.errors import NotFound, UserError
from omnidesk.permissions import PermissionDenied
from omnidesk.services import services
from omnidesk.store import actions
from tests.unit import factories


@pytest.fixture
async def adesk(desk: Desk) -> Desk:
    alice = await factories.agent(desk, "alice")
    return desk.as_agent(alice)


async def _ids(desk: Desk, cid: int) -> list[int]:
    return [m.id for m in (await reads.get_conversation(desk, cid)).messages]


# -- conversations -------------------------------------------------------------------------------


async def test_merge_conversations_moves_messages_tags_and_records_events(adesk: Desk) -> None:
    ch = await factories.email_channel(adesk)
    a = await factories.thread(adesk, ch, subject="Order 1", texts=("one", "two"))
    b = await factories.thread(
        adesk,
        ch,
        subject="Order 1 again",
        texts=("three",),
        customer_id=a.customer_id,
        identity_id=a.identity_id,
        start=1_000,
    )
    await services.tag(adesk, [b.conversation_id], add=["shipping"])
    await services.tag(adesk, [a.conversation_id], add=["Shipping", "vip"])
    await services.tag(adesk, [b.conversation_id], add=["late"])
    result = await services.merge_conversations(adesk, b.conversation_id, a.conversation_id)
    assert result.description == f"Merged #{b.conversation_id} into #{a.conversation_id} (1 message)"
    target = await reads.get_conversation(adesk, a.conversation_id)
    source = await reads.get_conversation(adesk, b.conversation_id)
    assert [m.text for m in target.messages] == ["three", "one", "two"]  # by time: b's is oldest
    assert target.summary.message_count == 3 and source.summary.message_count == 0
    assert set(target.summary.tags) == {"shipping", "vip", "late"}  # one tag, first spelling wins
    assert source.merged_into == a.conversation_id
    (merged,) = [e for e in target.events if e.kind == "merged"]
    assert merged.after["source"] == b.conversation_id and merged.after["message_ids"] == b.message_ids
    assert merged.agent == "alice"
    (merged_into,) = [e for e in source.events if e.kind == "merged_into"]
    assert merged_into.after == {"merged_into": a.conversation_id}

    await services.undo(adesk, result)
    target = await reads.get_conversation(adesk, a.conversation_id)
    source = await reads.get_conversation(adesk, b.conversation_id)
    assert [m.text for m in target.messages] == ["one", "two"]
    assert [m.text for m in source.messages] == ["three"]
    assert source.merged_into is None
    assert set(target.summary.tags) == {"shipping", "vip"}
    assert target.summary.message_count == 2 and source.summary.message_count == 1
    assert [e.kind for e in source.events][-1] == "unmerged"


async def test_merge_conversation_errors(adesk: Desk) -> None:
    ch = await factories.email_channel(adesk)
    a = await factories.thread(adesk, ch)
    b = await factories.thread(adesk, ch, address="bo@example.com")
    c = await factories.thread(adesk, ch, address="cy@example.com")
    with pytest.raises(UserError, match="into itself"):
        await services.merge_conversations(adesk, a.conversation_id, a.conversation_id)
    with pytest.raises(NotFound, match="#777"):
        await services.merge_conversations(adesk, a.conversation_id, 777)
    await services.merge_conversations(adesk, b.conversation_id, a.conversation_id)
    with pytest.raises(UserError, match="merged into"):
        await services.merge_conversations(adesk, b.conversation_id, c.conversation_id)
    with pytest.raises(UserError, match=f"#{b.conversation_id} was merged into #{a.conversation_id}") as info:
        await services.merge_conversations(adesk, c.conversation_id, b.conversation_id)
    assert info.value.hint == f"use #{a.conversation_id} instead"


async def test_undo_merge_moves_back_only_the_merged_messages(adesk: Desk) -> None:
    """Undo moves back exactly the merged messages; a later message stays in the target."""
    ch = await factories.email_channel(adesk)
    a = await factories.thread(adesk, ch, texts=("a1",))
    b = await factories.thread(adesk, ch, texts=("b1",), customer_id=a.customer_id, identity_id=a.identity_id)
    result = await services.merge_conversations(adesk, b.conversation_id, a.conversation_id)
    late = await factories.add_inbound(adesk, a, ch, "arrived after the merge")
    await services.undo(adesk, result)
    assert await _ids(adesk, b.conversation_id) == b.message_ids
    assert await _ids(adesk, a.conversation_id) == a.message_ids
    assert late in a.message_ids


async def test_move_message_and_undo(adesk: Desk) -> None:
    ch = await factories.email_channel(adesk)
    a = await factories.thread(adesk, ch, texts=("a1", "misthreaded"))
    b = await factories.thread(adesk, ch, texts=("b1",), address="bo@example.com")
    moved = a.message_ids[1]
    result = await services.move_message(adesk, moved, b.conversation_id)
    assert result.message_id == moved
    assert await _ids(adesk, a.conversation_id) == a.message_ids[:1]
    assert set(await _ids(adesk, b.conversation_id)) == {b.message_ids[0], moved}
    for cid in (a.conversation_id, b.conversation_id):
        conv = await reads.get_conversation(adesk, cid)
        (event,) = [e for e in conv.events if e.kind == "message_moved"]
        assert event.before == {"conversation_id": a.conversation_id}
        assert event.after == {"conversation_id": b.conversation_id, "message_id": moved}
    assert (await reads.get_conversation(adesk, a.conversation_id)).summary.message_count == 1
    await services.undo(adesk, result)
    assert await _ids(adesk, a.conversation_id) == a.message_ids
    assert await _ids(adesk, b.conversation_id) == b.message_ids
    with pytest.raises(UserError, match="already"):
        await services.move_message(adesk, moved, a.conversation_id)
    with pytest.raises(NotFound, match="no such message"):
        await services.move_message(adesk, 99999, a.conversation_id)


# -- customers ----------------------------------------------------------------------------------


async def test_merge_then_unmerge_customers_restores_identities_and_conversations(adesk: Desk) -> None:
    ch = await factories.email_channel(adesk)
    ann = await factories.thread(adesk, ch, name="Ann Lee", address="ann@example.com")
    ann_work = await factories.thread(adesk, ch, name="", address="ann.lee@work.example")
    phone_cust, phone_ident = await factories.customer(adesk, name="", kind="phone", address="+36301234567")
    del phone_ident
    result = await services.merge_customers(adesk, ann_work.customer_id, ann.customer_id)
    await services.merge_customers(adesk, phone_cust, ann.customer_id)
    merged = await reads.get_customer(adesk, ann.customer_id)
    assert {i.address for i in merged.identities} == {
        "ann@example.com",
        "ann.lee@work.example",
        "+36301234567",
    }
    convs = await reads.customer_conversations(adesk, ann.customer_id)
    assert {c.id for c in convs} == {ann.conversation_id, ann_work.conversation_id}
    source = await reads.get_customer(adesk, ann_work.customer_id)
    assert source.merged_into == ann.customer_id and source.identities == ()
    assert [c.id for c in await reads.find_customers(adesk, "ann")] == [ann.customer_id]
    events = (await reads.get_conversation(adesk, ann_work.conversation_id)).events
    assert [(e.kind, e.before, e.after) for e in events] == [
        ("customer_changed", {"customer_id": ann_work.customer_id}, {"customer_id": ann.customer_id})
    ]
    assert len(result.event_ids) == 2  # the customer event and one per conversation

    # unmerge by the target undoes the latest merge (the phone customer), then the work address
    first = await services.unmerge_customer(adesk, ann.customer_id)
    assert first.description == f"Unmerged customer {phone_cust} from {ann.customer_id}"
    second = await services.unmerge_customer(adesk, ann.customer_id)
    assert second.conversation_ids == (ann_work.conversation_id,)
    back = await reads.get_customer(adesk, ann_work.customer_id)
    assert back.merged_into is None and [i.address for i in back.identities] == ["ann.lee@work.example"]
    assert [c.id for c in await reads.customer_conversations(adesk, ann_work.customer_id)] == [
        ann_work.conversation_id
    ]
    assert [i.address for i in (await reads.get_customer(adesk, ann.customer_id)).identities] == [
        "ann@example.com"
    ]
    assert [i.address for i in (await reads.get_customer(adesk, phone_cust)).identities] == ["+36301234567"]
    with pytest.raises(UserError, match="has no merge to undo"):
        await services.unmerge_customer(adesk, ann.customer_id)


async def test_unmerge_takes_back_conversations_started_after_the_merge(adesk: Desk) -> None:
    ch = await factories.email_channel(adesk)
    ann = await factories.thread(adesk, ch, name="Ann", address="ann@example.com")
    other = await factories.thread(adesk, ch, name="Ann?", address="ann@other.example")
    await services.merge_customers(adesk, other.customer_id, ann.customer_id)
    # after the merge, the moved identity writes a new conversation (now owned by the target)
    later = await factories.thread(
        adesk,
        ch,
        name="Ann?",
        address="ann@other.example",
        customer_id=ann.customer_id,
        identity_id=other.identity_id,
    )
    result = await services.unmerge_customer(adesk, other.customer_id)  # by the merged-away customer
    assert set(result.conversation_ids) == {other.conversation_id, later.conversation_id}
    assert {c.id for c in await reads.customer_conversations(adesk, other.customer_id)} == {
        other.conversation_id,
        later.conversation_id,
    }


async def test_merge_customers_adopts_a_name_and_undo_gives_it_back(adesk: Desk) -> None:
    ch = await factories.email_channel(adesk)
    named = await factories.thread(adesk, ch, name="Kovács Dániel", address="dani@example.hu")
    unnamed, _ = await factories.customer(adesk, name="", kind="phone", address="+3612345678")
    result = await services.merge_customers(adesk, named.customer_id, unnamed)
    assert (await reads.get_customer(adesk, unnamed)).name == "Kovács Dániel"
    await services.undo(adesk, result)
    assert (await reads.get_customer(adesk, unnamed)).name == ""
    assert (await reads.get_customer(adesk, named.customer_id)).merged_into is None
    assert [c.id for c in await reads.customer_conversations(adesk, named.customer_id)] == [
        named.conversation_id
    ]


async def test_merge_customer_errors(adesk: Desk) -> None:
    a, _ = await factories.customer(adesk, address="a@example.com")
    b, _ = await factories.customer(adesk, address="b@example.com")
    c, _ = await factories.customer(adesk, address="c@example.com")
    with pytest.raises(UserError, match="into itself"):
        await services.merge_customers(adesk, a, a)
    with pytest.raises(NotFound, match="no such customer: 404"):
        await services.merge_customers(adesk, a, 404)
    await services.merge_customers(adesk, a, b)
    with pytest.raises(UserError, match="merged into 2 already"):
        await services.merge_customers(adesk, a, c)
    with pytest.raises(UserError, match="customer 1 was merged into 2") as info:
        await services.merge_customers(adesk, c, a)
    assert info.value.hint == "merge into 2 instead"
    with pytest.raises(NotFound):
        await services.unmerge_customer(adesk, 404)


async def test_chained_customer_merges_unwind(adesk: Desk) -> None:
    a, _ = await factories.customer(adesk, name="A", address="a@example.com")
    b, _ = await factories.customer(adesk, name="B", address="b@example.com")
    c, _ = await factories.customer(adesk, name="C", address="c@example.com")
    await services.merge_customers(adesk, a, b)
    await services.merge_customers(adesk, b, c)
    assert len((await reads.get_customer(adesk, c)).identities) == 3
    await services.unmerge_customer(adesk, c)
    assert {i.address for i in (await reads.get_customer(adesk, b)).identities} == {
        "a@example.com",
        "b@example.com",
    }
    await services.unmerge_customer(adesk, b)
    for cust, addr in ((a, "a@example.com"), (b, "b@example.com"), (c, "c@example.com")):
        assert [i.address for i in (await reads.get_customer(adesk, cust)).identities] == [addr]


async def test_customer_merge_events_are_on_the_customer(adesk: Desk) -> None:
    a, _ = await factories.customer(adesk, address="a@example.com")
    b, _ = await factories.customer(adesk, address="b@example.com")
    await services.merge_customers(adesk, a, b)
    async with adesk.db.write() as conn:
        (ev,) = await actions.customer_events(conn, kind="customer_merged", customer_id=b)
    assert ev["agent_id"] is not None


async def test_undoing_an_unmerge_merges_again(adesk: Desk) -> None:
    ch = await factories.email_channel(adesk)
    a = await factories.thread(adesk, ch, address="a@example.com")
    b = await factories.thread(adesk, ch, address="b@example.com")
    await services.merge_customers(adesk, a.customer_id, b.customer_id)
    unmerged = await services.unmerge_customer(adesk, b.customer_id)
    await services.undo(adesk, unmerged)
    assert (await reads.get_customer(adesk, a.customer_id)).merged_into == b.customer_id
    assert {c.id for c in await reads.customer_conversations(adesk, b.customer_id)} == {
        a.conversation_id,
        b.conversation_id,
    }
    # and conversations: merge, undo (unmerge), undo again (merge)
    c = await factories.thread(adesk, ch, address="c@example.com")
    merged = await services.merge_conversations(adesk, c.conversation_id, b.conversation_id)
    undone = await services.undo(adesk, merged)
    assert (await reads.get_conversation(adesk, c.conversation_id)).merged_into is None
    await services.undo(adesk, undone)
    assert (await reads.get_conversation(adesk, c.conversation_id)).merged_into == b.conversation_id


async def test_undoing_a_customer_merge_needs_the_right_to_merge(adesk: Desk) -> None:
    """Undo of a customer merge is an unmerge: an agent without the right may not do it that way."""
    a, _ = await factories.customer(adesk, address="a@example.com")
    b, _ = await factories.customer(adesk, address="b@example.com")
    merged = await services.merge_customers(adesk, a, b)
    plain = adesk.as_agent(await factories.agent(adesk, "bob", role="agent"))
    with pytest.raises(PermissionDenied, match="merging customers"):
        await services.undo(plain, merged)
    assert (await reads.get_customer(adesk, a)).merged_into == b
    await services.undo(adesk, merged)
    assert (await reads.get_customer(adesk, a)).merged_into is None
