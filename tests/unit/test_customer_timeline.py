"""A customer's whole story: one keyset-paged timeline across conversations and channels."""

from __future__ import annotations

import sqlite3

import pytest

from omnidesk.conversations import reads
from omnidesk.conversations.eventtext import switch_line
from omnidesk.desk import Desk
from omnidesk.errors import NotFound, UserError
from omnidesk.services import services
from omnidesk.store import customer_timeline
from omnidesk.store.channels import ensure_channel
from tests.unit import factories

T0 = 1_764_000_000_000


async def _three_channels(desk: Desk) -> tuple[int, dict[str, int]]:
    """Ann mails, then writes on Telegram, then on Slack (three conversations), with a note and a call."""
    alice = await factories.agent(desk, "alice")
    desk = desk.as_agent(alice)
    mail = await factories.email_channel(desk)
    tg = await ensure_channel(desk.db, "tg", "telegram", None)
    slack = await ensure_channel(desk.db, "acme-slack", "slack", None)
    first = await factories.thread(desk, mail, subject="Számla", texts=("Hol a számla?", "Még mindig?"),
                                   start=T0)
    cid, iid = first.customer_id, first.identity_id
    second = await factories.thread(desk, tg, subject="", texts=("Szia, itt vagyok Telegramon", "退款?"),
                                    customer_id=cid, identity_id=iid, start=T0 + 600_000)
    third = await factories.thread(desk, slack, subject="", texts=("سلام from Slack",),
                                   customer_id=cid, identity_id=iid, start=T0 + 1_200_000)
    await services.add_note(desk, second.conversation_id, "internal: <b>not markup</b>")
    await factories.thread(desk, mail, subject="someone else", texts=("not Ann's",), name="Zed",
                           address="zed@example.com", start=T0 + 60_000)
    return cid, {"mail": first.conversation_id, "tg": second.conversation_id, "slack": third.conversation_id}


async def _all_pages(desk: Desk, cid: int, limit: int, *, backwards: bool) -> list[str]:
    keys: list[str] = []
    if backwards:
        page = await reads.customer_timeline(desk, cid, limit=limit)
        while True:
            keys[:0] = [e.key for e in page.entries]
            if page.older is None:
                return keys
            page = await reads.customer_timeline(desk, cid, limit=limit, before=page.older)
    page = await reads.customer_timeline(desk, cid, limit=limit, after=reads.TIMELINE_START)
    assert page.older is None
    while True:
        keys += [e.key for e in page.entries]
        if page.newer is None:
            return keys
        page = await reads.customer_timeline(desk, cid, limit=limit, after=page.newer)


async def test_email_telegram_and_slack_are_one_story_with_the_switches_marked(desk: Desk) -> None:
    cid, convs = await _three_channels(desk)
    page = await reads.customer_timeline(desk, cid, limit=100)
    assert page.older is None and page.newer is None
    messages = [e for e in page.entries if e.kind == "message"]
    assert [m.message.text for m in messages] == [
        "Hol a számla?", "Még mindig?", "Szia, itt vagyok Telegramon", "退款?", "سلام from Slack"]
    assert [m.channel_name for m in messages] == ["support", "support", "tg", "tg", "acme-slack"]
    assert [(m.switched, m.switched_from) for m in messages] == [
        (False, None), (False, None), (True, "support"), (False, None), (True, "tg")]
    assert {e.conversation_id for e in page.entries} == set(convs.values())  # never Zed's
    assert switch_line("tg", "telegram", "support") == "→ now on Telegram (tg), was support"
    note = next(e for e in page.entries if e.kind == "note")
    assert note.conversation_id == convs["tg"] and note.channel_name is None and not note.switched
    times = [(e.at, e.key) for e in page.entries]
    assert [t for t, _ in times] == sorted(t for t, _ in times)  # newest last


async def test_a_switch_is_seen_across_a_page_boundary(desk: Desk) -> None:
    cid, _ = await _three_channels(desk)
    entries = (await reads.customer_timeline(desk, cid, limit=100)).entries
    first_tg = next(i for i, e in enumerate(entries) if e.channel_name == "tg")
    page = await reads.customer_timeline(desk, cid, limit=100, after=entries[first_tg - 1].key)
    assert page.entries[0].key == entries[first_tg].key
    assert page.entries[0].switched and page.entries[0].switched_from == "support"


async def test_a_call_and_customer_events_are_entries(desk: Desk) -> None:
    alice = await factories.agent(desk, "alice")
    desk = desk.as_agent(alice)
    result = await services.log_call(desk, direction="in", duration_seconds=90, notes="visszahívás",
                                     phone="+36301234567")
    cid = (await reads.get_conversation(desk, result.conversation_ids[0])).customer.id
    entries = (await reads.customer_timeline(desk, cid)).entries
    call = next(e for e in entries if e.kind == "call")
    assert call.message.text == "visszahívás" and call.channel_kind == "phone"
    # the call's own event would say it twice: the entry is the call
    assert not any(e.kind == "event" and e.event.kind == "call_logged" for e in entries)


@pytest.mark.parametrize("limit", [1, 2, 3, 7])
async def test_pages_have_no_gaps_or_doubles_with_identical_times(desk: Desk, limit: int) -> None:
    mail = await factories.email_channel(desk)
    t = await factories.thread(desk, mail, texts=tuple(f"same ms {i}" for i in range(9)), start=T0)
    async with desk.db.write() as conn:  # every message and event at one millisecond
        await conn.execute("UPDATE messages SET sent_at = ?", (T0,))
        await conn.execute("UPDATE events SET created_at = ?", (T0,))
    for i in range(4):
        await factories.thread(desk, mail, subject=f"also at T0 {i}", texts=("x", "y"),
                               customer_id=t.customer_id, identity_id=t.identity_id, start=T0)
    whole = [e.key for e in (await reads.customer_timeline(desk, t.customer_id, limit=1000)).entries]
    assert len(whole) == len(set(whole)) >= 17
    assert await _all_pages(desk, t.customer_id, limit, backwards=True) == whole
    assert await _all_pages(desk, t.customer_id, limit, backwards=False) == whole


async def test_an_empty_or_unknown_customer_and_a_bad_token(desk: Desk) -> None:
    assert reads.TIMELINE_START == customer_timeline.START
    cid, _ = await factories.customer(desk)
    assert (await reads.customer_timeline(desk, cid)).entries == ()
    with pytest.raises(NotFound):
        await reads.customer_timeline(desk, 999)
    with pytest.raises(UserError, match="not a timeline page token"):
        await reads.customer_timeline(desk, cid, before="1:2:x")


@pytest.mark.parametrize("older", [True, False])
async def test_the_page_query_walks_indexes_never_all_messages(desk: Desk, older: bool) -> None:
    cid, _ = await _three_channels(desk)
    conn = sqlite3.connect(desk.db.path)
    try:
        conn.execute("ANALYZE")
        steps = customer_timeline.plan(conn, cid, older)
    finally:
        conn.close()
    text = "\n".join(steps).replace("COVERING INDEX", "INDEX")
    assert "SEARCH m USING INDEX messages_conversation (conversation_id=? AND sent_at" in text, text
    assert "SEARCH e USING INDEX events_conversation (conversation_id=? AND created_at" in text, text
    assert "SEARCH e USING INDEX events_customer (customer_id=? AND created_at" in text, text
    assert not any(s.startswith("SCAN m") or s.startswith("SCAN e") for s in steps), text
