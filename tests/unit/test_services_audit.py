"""Every action, done by one agent, leaves events naming that agent, the time and the change."""

from __future__ import annotations

import json

import pytest

from omnidesk.conversations import reads
from omnidesk.desk import Desk
from omnidesk.errors import UserError
from omnidesk.services import services
from omnidesk.services.replies import MAX_TEXT
from omnidesk.timeutil import now_ms
from tests.unit import factories


async def test_every_action_is_audited_with_the_acting_agent(desk: Desk) -> None:
    await factories.agent(desk, "alice")
    bob = await factories.agent(desk, "bob", teams=("tech",))
    d = desk.as_agent(bob)
    ch = await factories.email_channel(d)
    a = await factories.thread(d, ch, texts=("one", "two"))
    b = await factories.thread(d, ch, address="bo@example.com", name="Bo")
    start = now_ms()
    results = [
        await services.assign(d, [a.conversation_id, b.conversation_id], "alice", team="tech"),
        await services.tag(d, [a.conversation_id], add=["x"]),
        await services.set_status(d, [a.conversation_id], "pending"),
        await services.set_priority(d, [a.conversation_id], "high"),
        await services.add_note(d, a.conversation_id, "note"),
        await services.queue_reply(d, a.conversation_id, "reply"),
        await services.log_call(
            d, direction="out", duration_seconds=9, notes="call", customer_id=a.customer_id
        ),
        await services.move_message(d, a.message_ids[1], b.conversation_id),
        await services.merge_conversations(d, b.conversation_id, a.conversation_id),
        await services.merge_customers(d, b.customer_id, a.customer_id),
        await services.unmerge_customer(d, a.customer_id),
    ]
    results.append(await services.cancel_reply(d, results[5].message_id or 0))
    end = now_ms()
    rows = await d.db.fetchall("SELECT * FROM events ORDER BY id")
    assert {r["agent_id"] for r in rows} == {bob.id}
    assert all(start <= r["created_at"] <= end for r in rows)
    assert all(r["before"] is not None or r["after"] is not None for r in rows)
    for r in rows:  # both sides are JSON
        json.loads(r["before"] or "null")
        json.loads(r["after"] or "null")
    # each result names the events it wrote, and they exist
    ids = {r["id"] for r in rows}
    for result in results:
        assert result.event_ids and set(result.event_ids) <= ids, result
        assert result.description
    kinds = {r["kind"] for r in rows}
    assert kinds >= {
        "assigned",
        "tagged",
        "status",
        "priority",
        "note",
        "reply_queued",
        "call_logged",
        "message_moved",
        "merged",
        "merged_into",
        "customer_merged",
        "customer_changed",
        "customer_unmerged",
        "reply_cancelled",
    }
    timeline = await reads.get_conversation(d, a.conversation_id)
    assert all(e.agent == "bob" for e in timeline.events)


async def test_huge_texts(desk: Desk) -> None:
    ch = await factories.email_channel(desk)
    t = await factories.thread(desk, ch)
    big = "Hosszú válasz. " * 20_000  # 300,000 characters
    result = await services.queue_reply(desk, t.conversation_id, big)
    assert (await reads.get_conversation(desk, t.conversation_id)).messages[-1].display_text == big
    assert result.message_id
    with pytest.raises(UserError, match="too long"):
        await services.add_note(desk, t.conversation_id, "x" * (MAX_TEXT + 1))
