"""References through the real ingest path: scoped threading, receipts, own echoes, batch updates.

The records are Telegram-shaped (a chat id as scope, message ids that repeat in every chat)
of a test channel kind; no network is involved.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from adapters.base import Address, Batch, Deletion, DeliveryChange, Edit, Inbound
from omnidesk.conversations.eventtext import describe
from omnidesk.desk import Desk
from omnidesk.inbound.ingest import ingest_batch
from omnidesk.model import Channel
from omnidesk.store import actions, outbox
from omnidesk.store import channels as store_channels
from omnidesk.store.reads import timeline
from omnidesk.timeutil import now_ms, to_ms

T = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
CHAT, OTHER_CHAT = "5550001", "-1001234567890"


def chat(message_id: str, *, scope: str = CHAT, user: str = "5550001", name: str = "Shirin",
         text: str = "سلام، سفارشم کجاست؟", reply_to: str | None = None, at: datetime = T) -> Inbound:
    return Inbound(external_id=message_id, scope=scope, sender=Address("telegram", user, name), sent_at=at,
                   text=text, thread_refs=(reply_to,) if reply_to else (), chat_like=True,
                   meta={"telegram": {"chat_id": int(scope), "message_id": message_id}})


@pytest.fixture
async def bot(desk: Desk) -> Channel:
    return await store_channels.ensure_channel(desk.db, "bot", "telegram-test", "omnidesk_bot")


async def put(desk: Desk, channel: Channel, *records: Inbound, updates: list | None = None,
              cursor: str | None = None):  # type: ignore[no-untyped-def]
    return await ingest_batch(desk, channel, Batch(list(records), cursor, updates=updates or []))


async def message(desk: Desk, channel: Channel, external_id: str, scope: str = CHAT) -> dict:
    row = await desk.db.fetchone(
        "SELECT * FROM messages WHERE id = (SELECT message_id FROM message_refs"
        " WHERE channel_id = ? AND scope = ? AND ref = ?)", (channel.id, scope, external_id))
    assert row is not None, (scope, external_id)
    return dict(row)


async def count(desk: Desk, table: str) -> int:
    row = await desk.db.fetchone(f"SELECT count(*) FROM {table}")
    return int(row[0])


async def send_reply(desk: Desk, channel: Channel, conversation_id: int, *, receipt_ids: tuple[str, ...],
                     state: str = "sent") -> int:
    """Our reply stored, queued, claimed and settled with a receipt naming `receipt_ids` in CHAT."""
    now = now_ms()
    async with desk.db.write() as conn:
        mid = await actions.insert_message(
            conn, conversation_id=conversation_id, channel_id=channel.id, direction="out",
            external_id="omnidesk-ref-1", author_name="alice", text="Küldjük holnap.", sent_at=now,
            received_at=now, delivery="queued", scope=CHAT)
        await outbox.enqueue(conn, message_id=mid, channel_id=channel.id, payload="{}", not_before=now,
                             now=now)
    (claimed,) = await outbox.claim_due(desk.db, owner="me", now=now + 1, lease_ms=60_000)
    assert await outbox.mark_sent(desk.db, claimed.id, owner="me", sent_at=now, now=now, receipt={},
                                  refs=receipt_ids, scope=CHAT, state=state)
    return mid


# -- references and threading -----------------------------------------------------------------


async def test_the_same_message_id_in_two_chats_is_two_messages_and_replies_stay_in_their_chat(
        desk: Desk, bot: Channel) -> None:
    first = await put(desk, bot, chat("42"), chat("42", scope=OTHER_CHAT, user="5550002", name="王伟",
                                                  text="我的订单在哪里？"))
    assert first.imported == 2 and first.duplicates == 0
    a, b = await message(desk, bot, "42"), await message(desk, bot, "42", OTHER_CHAT)
    assert a["conversation_id"] != b["conversation_id"]
    # A reply to 42 in the other chat joins that chat's conversation, never the first one's.
    reply = await put(desk, bot, chat("43", scope=OTHER_CHAT, user="5550002", reply_to="42", text="还在等"))
    assert reply.rules == ["reference"]
    assert (await message(desk, bot, "43", OTHER_CHAT))["conversation_id"] == b["conversation_id"]
    # Re-delivery is recognised per chat.
    again = await put(desk, bot, chat("42"), chat("42", scope=OTHER_CHAT, user="5550002"))
    assert (again.imported, again.duplicates) == (0, 2)


async def test_a_scoped_reference_never_matches_another_channel(desk: Desk, bot: Channel) -> None:
    other_bot = await store_channels.ensure_channel(desk.db, "bot2", "telegram-test", "second_bot")
    await put(desk, bot, chat("7"))
    result = await put(desk, other_bot, chat("8", reply_to="7", user="5550009", text="Hello"))
    assert result.rules == ["new"]


async def test_an_unscoped_reference_matches_across_channels(desk: Desk, bot: Channel) -> None:
    mail = await store_channels.ensure_channel(desk.db, "support", "email", "support@example.com")
    sender = Address("email", "kovacs@example.hu", "Kovács Dániel")
    first = Inbound(external_id="<a@example.hu>", sender=sender, sent_at=T, text="Számla", subject="Számla")
    await put(desk, mail, first)
    copy = Inbound(external_id="<b@example.hu>", sender=sender, sent_at=T + timedelta(minutes=1), text="Még",
                   subject="Re: Számla", thread_refs=("<a@example.hu>",))
    second_mailbox = await store_channels.ensure_channel(desk.db, "sales", "email", "sales@example.com")
    result = await put(desk, second_mailbox, copy)
    assert result.rules == ["reference"]


async def test_also_ids_are_references(desk: Desk, bot: Channel) -> None:
    rec = chat("50")
    rec.also_ids = ("client-uuid-1",)
    await put(desk, bot, rec)
    assert (await put(desk, bot, chat("51", reply_to="client-uuid-1"))).rules == ["reference"]
    again = chat("client-uuid-1")  # the same message under its other id
    assert (await put(desk, bot, again)).duplicates == 1


async def test_a_reply_to_our_sent_message_threads_through_the_receipts_ids(desk: Desk, bot: Channel) -> None:
    await put(desk, bot, chat("41"))
    conversation_id = (await message(desk, bot, "41"))["conversation_id"]
    # Continuity would also join the conversation; a different customer's reply shows the reference.
    mid = await send_reply(desk, bot, conversation_id, receipt_ids=("42", "43"))
    row = await desk.db.fetchone("SELECT delivery FROM messages WHERE id = ?", (mid,))
    assert row["delivery"] == "sent"
    result = await put(desk, bot, chat("44", user="5550003", name="Guest", reply_to="43", text="thanks"))
    assert result.rules == ["reference"]
    assert (await message(desk, bot, "44"))["conversation_id"] == conversation_id


async def test_our_own_message_read_back_is_not_a_new_message(desk: Desk, bot: Channel) -> None:
    await put(desk, bot, chat("41"))
    conversation_id = (await message(desk, bot, "41"))["conversation_id"]
    await send_reply(desk, bot, conversation_id, receipt_ids=("42",))
    before = await count(desk, "messages")
    echo = chat("42", user="9990001", name="omnidesk_bot", text="Küldjük holnap.")
    result = await put(desk, bot, echo)
    assert (result.imported, result.duplicates) == (0, 1)
    assert await count(desk, "messages") == before
    # The same id in another chat is somebody else's message.
    assert (await put(desk, bot, chat("42", scope=OTHER_CHAT, user="5550002"))).imported == 1


async def test_a_receipt_may_say_delivered(desk: Desk, bot: Channel) -> None:
    await put(desk, bot, chat("41"))
    conversation_id = (await message(desk, bot, "41"))["conversation_id"]
    mid = await send_reply(desk, bot, conversation_id, receipt_ids=("42",), state="delivered")
    row = await desk.db.fetchone("SELECT delivery FROM messages WHERE id = ?", (mid,))
    assert row["delivery"] == "delivered"


# -- updates ----------------------------------------------------------------------------------


async def fts(desk: Desk, word: str) -> list[int]:
    rows = await desk.db.fetchall("SELECT rowid FROM message_fts WHERE message_fts MATCH ?", (word,))
    return [r[0] for r in rows]


async def test_an_edit_shows_the_new_text_keeps_the_old_and_is_applied_once(desk: Desk, bot: Channel) -> None:
    await put(desk, bot, chat("41", text="rendelés kesik"))
    mid = (await message(desk, bot, "41"))["id"]
    edit = Edit("41", "rendelés megérkezett", T + timedelta(minutes=2), scope=CHAT)
    first = await put(desk, bot, updates=[edit], cursor="c1")
    assert first.updated == 1
    row = await message(desk, bot, "41")
    assert row["text"] == "rendelés megérkezett" and row["edited_at"] == to_ms(edit.edited_at)
    assert await fts(desk, "megerkezett") == [mid] and await fts(desk, "kesik") == []
    history = await desk.db.fetchall("SELECT text FROM message_edits WHERE message_id = ?", (mid,))
    assert [h[0] for h in history] == ["rendelés kesik"]
    # Again, and an older edit arriving late: nothing changes.
    older = Edit("41", "régi", T + timedelta(minutes=1), scope=CHAT)
    second = await put(desk, bot, updates=[edit, older], cursor="c2")
    assert second.updated == 0
    assert (await message(desk, bot, "41"))["text"] == "rendelés megérkezett"
    assert await count(desk, "message_edits") == 1
    conv = await timeline(desk.db, row["conversation_id"], None)
    assert conv is not None
    (shown,) = [m for m in conv.messages if m.id == mid]
    assert [e.text for e in shown.edits] == ["rendelés kesik"]
    edited = [e for e in conv.events if e.kind == "message_edited"]
    assert len(edited) == 1 and "edited" in describe(edited[0])


async def test_a_deletion_marks_the_message_once_and_keeps_its_text(desk: Desk, bot: Channel) -> None:
    await put(desk, bot, chat("41", text="秘密"))
    gone = Deletion("41", T + timedelta(minutes=5), scope=CHAT)
    assert (await put(desk, bot, updates=[gone])).updated == 1
    assert (await put(desk, bot, updates=[gone])).updated == 0
    row = await message(desk, bot, "41")
    assert row["deleted_at"] == to_ms(gone.deleted_at) and row["text"] == "秘密"
    conv = await timeline(desk.db, row["conversation_id"], None)
    assert conv is not None
    assert [e.kind for e in conv.events].count("message_deleted") == 1
    assert conv.messages[0].deleted_at == row["deleted_at"]


async def test_delivery_moves_forward_only_and_a_failure_names_the_code(desk: Desk, bot: Channel) -> None:
    await put(desk, bot, chat("41"))
    conversation_id = (await message(desk, bot, "41"))["conversation_id"]
    mid = await send_reply(desk, bot, conversation_id, receipt_ids=("42",))

    def change(state: str, minute: int, **words: str) -> DeliveryChange:
        return DeliveryChange("42", state, T + timedelta(minutes=minute), scope=CHAT, **words)

    async def delivery() -> tuple[str, str | None]:
        row = await desk.db.fetchone("SELECT delivery, delivery_error FROM messages WHERE id = ?", (mid,))
        return row[0], row[1]

    assert (await put(desk, bot, updates=[change("read", 3)])).updated == 1
    # Out of order: the older "delivered" comes after "read", and "read" is re-delivered.
    assert (await put(desk, bot, updates=[change("delivered", 2), change("read", 3)])).updated == 0
    assert await delivery() == ("read", None)
    assert (await put(desk, bot, updates=[change("failed", 4, code="403", detail="bot was blocked")])).updated
    assert await delivery() == ("failed", "403 bot was blocked")
    row = await outbox.delivery_of(desk.db, mid)
    assert row is not None and row["state"] == "failed"
    events = [e for e in (await timeline(desk.db, conversation_id, None)).events  # type: ignore[union-attr]
              if e.kind == "delivery_changed"]
    assert [e.after["delivery"] for e in events] == ["read", "failed"]  # type: ignore[index]
    assert "403 bot was blocked" in describe(events[-1])


async def test_an_update_before_its_message_waits_and_applies_when_it_arrives(desk: Desk,
                                                                              bot: Channel) -> None:
    edit = Edit("60", "javított szöveg", T + timedelta(minutes=1), scope=CHAT)
    early = await put(desk, bot, updates=[edit, edit])
    assert (early.updated, early.pending_updates) == (0, 1)
    assert await count(desk, "pending_updates") == 1
    await put(desk, bot, chat("60", text="első szöveg"))
    row = await message(desk, bot, "60")
    assert row["text"] == "javított szöveg"
    assert await count(desk, "pending_updates") == 0
    # A delivery change that beats our receipt is applied when the receipt is stored.
    await put(desk, bot, updates=[DeliveryChange("99", "delivered", T, scope=CHAT)])
    mid = await send_reply(desk, bot, row["conversation_id"], receipt_ids=("99",))
    settled = await desk.db.fetchone("SELECT delivery FROM messages WHERE id = ?", (mid,))
    assert settled["delivery"] == "delivered"


async def test_updates_and_the_cursor_commit_together(desk: Desk, bot: Channel) -> None:
    """A batch whose commit fails leaves neither its edit nor its cursor; the re-delivery lands both."""
    await put(desk, bot, chat("41", text="before"))
    edit = Edit("41", "after", T + timedelta(minutes=1), scope=CHAT)
    async with desk.db.write() as conn:  # the cursor write fails, as a crash before COMMIT would
        await conn.execute("CREATE TRIGGER no_cursor BEFORE INSERT ON cursors BEGIN"
                           " SELECT RAISE(ABORT, 'disk gone'); END")
    with pytest.raises(sqlite3.IntegrityError):
        await put(desk, bot, updates=[edit], cursor="offset-2")
    assert (await message(desk, bot, "41"))["text"] == "before"
    assert await store_channels.get_cursor(desk.db, bot.id) is None
    async with desk.db.write() as conn:
        await conn.execute("DROP TRIGGER no_cursor")
    assert (await put(desk, bot, updates=[edit], cursor="offset-2")).updated == 1
    assert (await message(desk, bot, "41"))["text"] == "after"
    assert await store_channels.get_cursor(desk.db, bot.id) == "offset-2"
