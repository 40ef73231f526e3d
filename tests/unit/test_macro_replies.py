"""A macro's reply and its actions: rendered for the conversation, committed together, undone together."""

from __future__ import annotations

import dataclasses

import pytest

from omnidesk.conversations import reads
from omnidesk.desk import Desk
from omnidesk.errors import UserError
from omnidesk.macros.definition import Actions, MacroError, parse
from omnidesk.services import macro_replies, services
from omnidesk.settings import DeskSettings, Settings
from tests.unit import factories

ACTIONS = Actions(add_tags=("refund",), status="pending", priority="high", assign="me")


@pytest.fixture
async def adesk(desk: Desk) -> Desk:
    alice = await factories.agent(desk, "alice")
    settings = Settings(desk=DeskSettings(name="Acme Support", undo_seconds=5.0, language="en"))
    return dataclasses.replace(desk, settings=settings).as_agent(alice)


async def _thread(desk: Desk, **kw: object) -> int:
    channel = await factories.email_channel(desk)
    return (await factories.thread(desk, channel, **kw)).conversation_id  # type: ignore[arg-type]


async def _state(desk: Desk, cid: int) -> tuple[object, ...]:
    conv = await reads.get_conversation(desk, cid)
    out = [(m.text.split("\n")[0], m.delivery) for m in conv.messages if m.direction == "out"]
    s = conv.summary
    return s.status, s.priority, s.assignee, s.tags, out


async def test_prepare_renders_for_the_route_and_the_customers_language(adesk: Desk) -> None:
    cid = await _thread(adesk, name="Kovács Anna", subject="Számla")
    async with adesk.db.write() as conn:  # what language detection would store
        await conn.execute("UPDATE customers SET language = 'hu-HU'")
    macro = parse("m", {"text": {"email": {"en": "Hi {{ customer.first_name }}",
                                           "hu": "Kedves {{ customer.name }}! ({{ conversation.number }},"
                                                 " {{ desk.from_name }}, {{ agent.display_name }})"}}})
    p = await macro_replies.prepare(adesk, macro, cid)
    assert (p.variant, p.language, p.route.channel) == ("email", "hu", "support")
    assert p.text == f"Kedves Kovács Anna! (#{cid}, Acme Support, Alice)"


async def test_send_queues_the_reply_and_applies_the_actions_as_one_result(adesk: Desk) -> None:
    cid = await _thread(adesk)
    result = await macro_replies.send(adesk, cid, "We are on it.", ACTIONS)
    assert await _state(adesk, cid) == ("pending", "high", "alice", ("refund",),
                                        [("We are on it.", "queued")])
    assert result.message_id is not None and result.action == "reply"
    assert result.description.endswith("with +refund, status pending, priority high, assign me")
    rows = await adesk.db.fetchall(
        f"SELECT kind FROM events WHERE id IN ({','.join('?' * len(result.event_ids))}) ORDER BY id",
        result.event_ids)
    assert [r["kind"] for r in rows] == ["reply_queued", "tagged", "status", "priority", "assigned"]


async def test_a_failing_action_rolls_back_the_reply(adesk: Desk) -> None:
    cid = await _thread(adesk)
    before = await _state(adesk, cid)
    broken = Actions(add_tags=("refund",), status="pending", assign="nobody-here")
    with pytest.raises(UserError, match="unknown agent 'nobody-here'"):
        await macro_replies.send(adesk, cid, "We are on it.", broken)
    assert await _state(adesk, cid) == before  # no reply, no outbox row, no tag, same status
    assert await adesk.db.fetchone("SELECT * FROM outbox") is None
    bad_tag = Actions(add_tags=("two words",))
    with pytest.raises(UserError, match="bad tag name"):
        await macro_replies.send(adesk, cid, "We are on it.", bad_tag)
    assert await adesk.db.fetchone("SELECT * FROM outbox") is None


async def test_undo_cancels_the_reply_and_puts_the_fields_back(adesk: Desk) -> None:
    cid = await _thread(adesk)
    before = await _state(adesk, cid)
    result = await macro_replies.send(adesk, cid, "We are on it.", ACTIONS)
    await services.undo(adesk, result)
    status, priority, assignee, tags, out = await _state(adesk, cid)
    assert (status, priority, assignee, tags) == before[:4]
    assert out == [("We are on it.", "cancelled")]


async def test_snooze_and_removing_a_tag_it_does_not_have(adesk: Desk) -> None:
    cid = await _thread(adesk)
    await services.tag(adesk, [cid], add=["triage"])
    actions = Actions(remove_tags=("triage", "never-seen"), snooze_ms=3_600_000)
    await macro_replies.send(adesk, cid, "Later.", actions)
    status, _, _, tags, _ = await _state(adesk, cid)
    assert (status, tags) == ("snoozed", ())


async def test_bulk_renders_every_text_before_queueing_any(adesk: Desk) -> None:
    good = await _thread(adesk, name="Ann Lee", address="ann@example.com")
    odd = await _thread(adesk, name="Ben", address="ben@example.com")
    async with adesk.db.write() as conn:
        await conn.execute("UPDATE customers SET language = 'hu' WHERE name = 'Ben'")
    macro = parse("m", {"text": {"email": {"en": "Hi {{ customer.name }}",
                                           "hu": "Szia {{ customer.nick }}"}}})
    with pytest.raises(MacroError, match=rf"text.email.hu, #{odd}\): customer has no field 'nick'"):
        await macro_replies.render_all(adesk, macro, [good, odd])
    assert await adesk.db.fetchone("SELECT * FROM outbox") is None
    greeting = parse("m", {"text": {"chat": {"en": "Hi {{ customer }}"}}})
    prepared = await macro_replies.render_all(adesk, greeting, [good, odd])
    results = await macro_replies.send_all(adesk, prepared)
    assert [r.conversation_ids for r in results] == [(good,), (odd,)]
    assert [(await _state(adesk, c))[4] for c in (good, odd)] == [[("Hi Ann Lee", "queued")],
                                                                  [("Hi Ben", "queued")]]


async def test_bulk_is_all_or_nothing_when_one_conversation_refuses(adesk: Desk) -> None:
    from omnidesk.errors import ReplyCollision

    first = await _thread(adesk, name="Ann Lee", address="ann@example.com")
    second = await _thread(adesk, name="Ben", address="ben@example.com")
    bob = await factories.agent(adesk, "bob")
    await services.queue_reply(adesk.as_agent(bob), second, "Bob was here first.")
    macro = parse("m", {"text": {"email": {"en": "Hi {{ customer }}"}}, "actions": {"tags": ["bulk"]}})
    prepared = await macro_replies.render_all(adesk, macro, [first, second])
    with pytest.raises(ReplyCollision, match=f"bob replied to #{second}"):
        await macro_replies.send_all(adesk, prepared)
    assert (await _state(adesk, first))[3:] == ((), [])  # the first one's reply and tag rolled back
    results = await macro_replies.send_all(adesk, prepared, force=True)
    assert [r.conversation_ids for r in results] == [(first,), (second,)]
    assert (await _state(adesk, first))[3] == ("bulk",)


async def test_the_timeline_says_which_macro_did_it(adesk: Desk) -> None:
    from omnidesk.conversations.eventtext import describe

    cid = await _thread(adesk)
    await macro_replies.send(adesk, cid, "On it.", Actions(add_tags=("refund",)), macro="refund-received")
    conv = await reads.get_conversation(adesk, cid)
    lines = [describe(e) for e in conv.events if e.kind in ("tagged", "reply_queued")]
    assert lines[-1] == "alice tagged +refund by macro 'refund-received'"
    assert lines[-2].endswith("by macro 'refund-received'")
