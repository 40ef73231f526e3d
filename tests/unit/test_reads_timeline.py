"""The batched timeline read gives exactly what the piecewise reads give (its speed: bench/tui.py)."""

from __future__ import annotations

from omnidesk.desk import Desk
from omnidesk.services import services
from omnidesk.store import reads as store_reads
from omnidesk.store.customers import get_customer
from tests.unit import factories


async def test_timeline_equals_the_piecewise_reads(desk: Desk, tmp_path) -> None:
    alice = await factories.agent(desk, "alice")
    desk = desk.as_agent(alice)
    ch = await factories.email_channel(desk)
    t = await factories.thread(desk, ch, subject="Szia 你好 سلام", texts=("one", "two", "three"))
    await services.add_note(desk, t.conversation_id, "internal")
    attachment = tmp_path / "a.txt"
    attachment.write_text("hello")
    await services.queue_reply(desk, t.conversation_id, "answer", attachments=[str(attachment)])
    other = await factories.thread(
        desk, ch, subject="other", texts=("x",), name="Zed", address="zed@example.com"
    )

    conv = await store_reads.timeline(desk.db, t.conversation_id, alice.id)
    assert conv is not None
    assert conv.summary == (await store_reads.summaries(desk.db, [t.conversation_id], alice.id))[0]
    assert conv.customer == await get_customer(desk.db, t.customer_id)
    assert list(conv.messages) == await store_reads.messages(desk.db, t.conversation_id)
    assert list(conv.events) == await store_reads.events(desk.db, conversation_id=t.conversation_id)
    assert list(conv.participants) == await store_reads.participants(desk.db, t.conversation_id)
    assert [len(m.attachments) for m in conv.messages] == [0, 0, 0, 0, 1]
    # nothing of the other conversation leaks in
    assert {m.conversation_id for m in conv.messages} == {t.conversation_id}
    assert other.customer_id not in {i.customer_id for i in conv.customer.identities}
    assert await store_reads.timeline(desk.db, 10_000, alice.id) is None


async def test_notes_and_calls_store_no_copy_of_their_text_but_read_it_back(desk: Desk) -> None:
    ch = await factories.email_channel(desk)
    t = await factories.thread(desk, ch, subject="Számla", texts=("hol a számla?",))
    await services.add_note(desk, t.conversation_id, "Pénzügy már küldi.")
    await services.log_call(desk, direction="in", duration_seconds=60, notes="Visszahívtam, 退款 ok",
                            phone="+36301234567")
    stored = [r[0] for r in await desk.db.fetchall(
        "SELECT display_text FROM messages WHERE direction = 'note' OR external_id LIKE 'call:%'")]
    assert stored == ["", ""]
    texts = {m.text: m.display_text for m in await store_reads.messages(desk.db, t.conversation_id)}
    assert texts["Pénzügy már küldi."] == "Pénzügy már küldi."
