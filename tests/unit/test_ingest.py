"""The ingest pipeline through a real store: threading, safety rules, idempotency, cursors."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.base import (
    FLAG_AUTO_REPLY,
    FLAG_OWN_ECHO,
    FLAG_QUARANTINED,
    Address,
    Attachment,
    Batch,
    Inbound,
)
from omnidesk import blobs
from omnidesk.desk import Desk
from omnidesk.inbound.ingest import ingest_batch, ingest_records, prepare_batch, write_prepared
from omnidesk.model import Channel
from omnidesk.store import actions
from omnidesk.store import channels as store_channels
from omnidesk.store.identities import call_sync, create_identity
from omnidesk.store.rawmail import INLINE_MAX, read_raw
from omnidesk.timeutil import now_ms, to_ms

T = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
SUPPORT = "support@example.com"


def mail(ext: str, sender: str = "ann@example.com", *, name: str = "Ann Lee", subject: str = "Help",
         text: str = "hello", refs: tuple[str, ...] = (), at: datetime = T, kind: str = "email",
         chat: bool = False, raw: bytes | bool | None = True, flags: frozenset[str] = frozenset(),
         to: tuple[str, ...] = (SUPPORT,), attachments: tuple[Attachment, ...] = ()) -> Inbound:
    if raw is True:
        raw = f"Message-ID: {ext}\r\nFrom: {sender}\r\nSubject: {subject}\r\n\r\n{text}".encode()
    return Inbound(
        external_id=ext, sender=Address(kind, sender, name), sent_at=at, text=text, subject=subject,
        thread_refs=refs, chat_like=chat, raw=raw or None, flags=flags,
        recipients=tuple(Address("email", a) for a in to), attachments=attachments,
    )


@pytest.fixture
async def channel(desk: Desk) -> Channel:
    return await store_channels.ensure_channel(desk.db, "support", "email", SUPPORT)


async def one(desk: Desk, channel: Channel, *records: Inbound, cursor: str | None = None):
    return await ingest_batch(desk, channel, Batch(list(records), cursor))


async def conv_of(desk: Desk, external_id: str) -> int:
    row = await desk.db.fetchone("SELECT conversation_id FROM messages WHERE external_id = ?", (external_id,))
    assert row is not None, external_id
    return int(row[0])


async def conversation(desk: Desk, cid: int) -> dict:
    row = await desk.db.fetchone("SELECT * FROM conversations WHERE id = ?", (cid,))
    assert row is not None
    return dict(row)


async def counts(desk: Desk) -> dict[str, int]:
    tables = ["customers", "identities", "conversations", "messages", "attachments", "events",
              "participants", "message_fts"]
    out = {}
    for t in tables:
        row = await desk.db.fetchone(f"SELECT count(*) FROM {t}")
        out[t] = int(row[0])
    return out


async def fts(desk: Desk, match: str) -> list[int]:
    rows = await desk.db.fetchall("SELECT rowid FROM message_fts WHERE message_fts MATCH ? ORDER BY rowid",
                                  (match,))
    return [int(r[0]) for r in rows]


async def set_status(desk: Desk, cid: int, status: str, resolved_at: int | None = None) -> None:
    async with desk.db.write() as conn:
        await conn.execute("UPDATE conversations SET status = ?, resolved_at = ? WHERE id = ?",
                           (status, resolved_at, cid))


# -- the basic path ---------------------------------------------------------------------------------


async def test_first_mail_creates_customer_conversation_message_cursor(desk: Desk, channel: Channel) -> None:
    result = await one(desk, channel, mail("<a1@x>", "  Ann@Example.COM ", name='"Ann Lee"'), cursor="c1")
    assert (result.imported, result.duplicates, result.quarantined) == (1, 0, 0)
    assert result.rules == ["new"]
    cid = result.conversation_ids[0]
    c = await conversation(desk, cid)
    assert (c["status"], c["message_count"], c["subject"], c["channel_id"]) == ("open", 1, "Help", channel.id)
    assert c["last_activity_at"] == c["last_inbound_at"] == to_ms(T)
    ident = await desk.db.fetchone("SELECT i.address, c.name FROM identities i JOIN customers c"
                                   " ON c.id = i.customer_id WHERE i.customer_id = ?", (c["customer_id"],))
    assert tuple(ident) == ("ann@example.com", "Ann Lee")
    msg = await desk.db.fetchone("SELECT * FROM messages WHERE id = ?", (result.message_ids[0],))
    assert (msg["direction"], msg["author_address"], msg["text"]) == ("in", "ann@example.com", "hello")
    assert json.loads(msg["recipients"]) == [{"kind": "email", "address": SUPPORT, "display_name": "",
                                              "role": "to"}]
    assert (await read_raw(desk.db, desk.blob_dir, msg["raw_sha256"])).startswith(b"Message-ID: <a1@x>")
    assert await fts(desk, "hello") == [msg["id"]]
    assert await fts(desk, "sender:ann") == [msg["id"]]
    events = await desk.db.fetchall("SELECT kind, agent_id FROM events WHERE conversation_id = ?", (cid,))
    assert [tuple(e) for e in events] == [("created", None)]
    assert await store_channels.get_cursor(desk.db, channel.id) == "c1"


async def test_display_text_is_stored_only_when_folding_changed_it(desk: Desk, channel: Channel) -> None:
    from dataclasses import replace

    from omnidesk.conversations import reads

    quoted = "Még mindig várok.\n\nOn Mon, Ann wrote:\n> Hol a csomagom?\n"
    reply = replace(mail("<folded@x>", refs=("<plain@x>",), text=quoted), display_text="Még mindig várok.\n")
    await one(desk, channel, mail("<plain@x>", text="Hol a csomagom? 退款\n"), reply)
    stored = dict(await desk.db.fetchall("SELECT external_id, display_text FROM messages"))
    assert stored == {"<plain@x>": "", "<folded@x>": "Még mindig várok.\n"}
    conversation = await reads.get_conversation(desk, await conv_of(desk, "<plain@x>"))
    shown = [m.display_text for m in conversation.messages]
    assert shown == ["Hol a csomagom? 退款\n", "Még mindig várok.\n"]
    page = await reads.list_conversations(desk, "")
    assert page.items[0].preview.startswith("Még mindig várok.")
    await one(desk, channel, mail("<later@x>", refs=("<folded@x>",), text="Megjött, köszönöm!\n"))
    page = await reads.list_conversations(desk, "")
    assert page.items[0].preview.startswith("Megjött, köszönöm!")  # the text, where nothing was folded


async def test_same_batch_twice_changes_nothing(desk: Desk, channel: Channel) -> None:
    batch = [mail(f"<m{i}@x>", f"user{i % 3}@example.com", refs=(f"<m{i - 1}@x>",) if i else ())
             for i in range(20)]
    first = await one(desk, channel, *batch, cursor="c1")
    assert first.imported == 20
    before = await counts(desk)
    again = await one(desk, channel, *batch, cursor="c2")
    assert (again.imported, again.duplicates, again.message_ids) == (0, 20, [])
    assert await counts(desk) == before
    assert await store_channels.get_cursor(desk.db, channel.id) == "c2"


async def test_duplicate_within_one_batch(desk: Desk, channel: Channel) -> None:
    r = await one(desk, channel, mail("<d@x>"), mail("<d@x>"))
    assert (r.imported, r.duplicates) == (1, 1)


async def test_resync_with_new_ids_is_recognised_by_content(desk: Desk, channel: Channel) -> None:
    # An IMAP UIDVALIDITY change makes the adapter deliver the same raw mail again; if its
    # Message-ID was synthetic, only the bytes say it is the same message.
    raw = b"From: ann@example.com\r\nSubject: no id\r\n\r\nbody"
    await one(desk, channel, mail("synthetic-1", raw=raw))
    r = await one(desk, channel, mail("synthetic-2", raw=raw))
    assert (r.imported, r.duplicates) == (0, 1)


async def test_chat_messages_with_same_text_are_two_messages(desk: Desk, channel: Channel) -> None:
    tg = await store_channels.ensure_channel(desk.db, "tg", "telegram", None)
    r = await one(desk, tg, mail("1", "42", kind="telegram", subject="", text="ok", chat=True, raw=None),
                  mail("2", "42", kind="telegram", subject="", text="ok", chat=True, raw=None))
    assert (r.imported, r.duplicates) == (2, 0)
    assert len(r.conversation_ids) == 1  # continuity joined the second to the first


async def test_empty_batches(desk: Desk, channel: Channel) -> None:
    r = await one(desk, channel)
    assert (r.imported, r.duplicates, r.conversation_ids) == (0, 0, [])
    assert await store_channels.get_cursor(desk.db, channel.id) is None
    await one(desk, channel, cursor="only-cursor")
    assert await store_channels.get_cursor(desk.db, channel.id) == "only-cursor"


# -- threading rules through the store -----------------------------------------------------------------


async def test_rule1_reply_joins_even_in_the_same_batch(desk: Desk, channel: Channel) -> None:
    r = await one(desk, channel, mail("<q@x>"), mail("<r@x>", subject="Re: Help", refs=("<q@x>",)))
    assert r.rules == ["new", "reference"]
    assert len(r.conversation_ids) == 1
    later = await one(desk, channel, mail("<s@x>", subject="other subject", refs=("<unknown@x>", "<r@x>")))
    assert later.rules == ["reference"]
    assert await conv_of(desk, "<s@x>") == r.conversation_ids[0]
    c = await conversation(desk, r.conversation_ids[0])
    assert c["message_count"] == 3


async def test_rule2_customer_token_joins(desk: Desk, channel: Channel) -> None:
    cid = (await one(desk, channel, mail("<t1@x>"))).conversation_ids[0]
    r = await one(desk, channel, mail("<t2@x>", "ANN@example.com", subject=f"Re: Help [#{cid}]"))
    assert r.rules == ["token"] and r.conversation_ids == [cid]


async def test_stranger_with_copied_token_cannot_enter(desk: Desk, channel: Channel) -> None:
    cid = (await one(desk, channel, mail("<t1@x>", text="my card number is private"))).conversation_ids[0]
    victim = await conversation(desk, cid)
    r = await one(desk, channel, mail("<evil@x>", "mallory@evil.example", name="Mallory",
                                      subject=f"Re: Help [#{cid}]", text="let me in"))
    assert r.rules == ["token-stranger"]
    new_id = r.conversation_ids[0]
    assert new_id != cid
    new = await conversation(desk, new_id)
    assert new["linked_to"] == cid and new["customer_id"] != victim["customer_id"]
    assert new["subject"] == "Re: Help"  # our token is not carried over
    # #N is untouched: same customer, same messages, no participant added.
    after = await conversation(desk, cid)
    assert after["customer_id"] == victim["customer_id"] and after["message_count"] == 1
    assert await desk.db.fetchall("SELECT * FROM participants WHERE conversation_id = ?", (cid,)) == []
    texts = [r[0] for r in await desk.db.fetchall("SELECT text FROM messages WHERE conversation_id = ?",
                                                    (new_id,))]
    assert texts == ["let me in"]
    linked = await desk.db.fetchall("SELECT kind, after FROM events WHERE conversation_id = ?", (cid,))
    assert [(k, json.loads(a)["conversation_id"]) for k, a in linked if k == "linked"] == [("linked", new_id)]


async def test_cc_colleague_becomes_participant_and_then_may_use_token(desk: Desk, channel: Channel) -> None:
    cid = (await one(desk, channel, mail("<c1@x>"))).conversation_ids[0]
    customer = (await conversation(desk, cid))["customer_id"]
    r = await one(desk, channel, mail("<c2@x>", "bob@example.com", name="Bob", subject="Re: Help",
                                      refs=("<c1@x>",)))
    assert r.conversation_ids == [cid]
    assert (await conversation(desk, cid))["customer_id"] == customer  # never replaced
    parts = await desk.db.fetchall(
        "SELECT i.address, p.role FROM participants p JOIN identities i ON i.id = p.identity_id"
        " WHERE p.conversation_id = ?", (cid,))
    assert [tuple(p) for p in parts] == [("bob@example.com", "participant")]
    r2 = await one(desk, channel, mail("<c3@x>", "bob@example.com", subject=f"Help [#{cid}]"))
    assert r2.conversation_ids == [cid] and r2.rules == ["token"]


async def test_list_relay_keeps_customer(desk: Desk, channel: Channel) -> None:
    cid = (await one(desk, channel, mail("<l1@x>"))).conversation_ids[0]
    customer = (await conversation(desk, cid))["customer_id"]
    await one(desk, channel, mail("<l2@x>", "users@lists.example.org", name="users list",
                                  refs=("<l1@x>",), flags=frozenset({"list"})))
    assert (await conversation(desk, cid))["customer_id"] == customer


async def test_bcc_copy_of_our_reply_is_ours_not_the_customers(desk: Desk, channel: Channel) -> None:
    cid = (await one(desk, channel, mail("<b1@x>"))).conversation_ids[0]
    before = await conversation(desk, cid)
    await set_status(desk, cid, "pending")
    # An agent answered from a mail client and BCC'd the support address.
    r = await one(desk, channel, mail("<b2@x>", "Support@Example.com", name="Support", subject="Re: Help",
                                      refs=("<b1@x>",), to=("ann@example.com",),
                                      at=T + timedelta(minutes=5)))
    assert r.conversation_ids == [cid]
    after = await conversation(desk, cid)
    assert after["customer_id"] == before["customer_id"]
    assert after["status"] == "pending"  # our own message does not reopen
    assert after["last_inbound_at"] == before["last_inbound_at"]
    assert after["first_response_at"] == to_ms(T + timedelta(minutes=5))
    msg = await desk.db.fetchone("SELECT direction FROM messages WHERE external_id = '<b2@x>'")
    assert msg[0] == "out"
    assert await desk.db.fetchall("SELECT * FROM participants") == []
    ids = await desk.db.fetchall("SELECT address FROM identities")
    assert [r[0] for r in ids] == ["ann@example.com"]  # our address never becomes a customer


async def test_bcc_copy_without_thread_is_the_recipients(desk: Desk, channel: Channel) -> None:
    r = await one(desk, channel, mail("<o1@x>", SUPPORT, subject="Proactive note", to=("zoe@example.com",)))
    c = await conversation(desk, r.conversation_ids[0])
    row = await desk.db.fetchone("SELECT address FROM identities WHERE customer_id = ?", (c["customer_id"],))
    assert row[0] == "zoe@example.com"


async def test_own_outgoing_mail_coming_back_is_not_ingested(desk: Desk, channel: Channel) -> None:
    cid = (await one(desk, channel, mail("<e1@x>"))).conversation_ids[0]
    async with desk.db.write() as conn:  # what services.queue_reply stores
        await actions.insert_message(conn, conversation_id=cid, channel_id=channel.id, direction="out",
                                     external_id="<ours-1@example.com>", text="answer", sent_at=now_ms(),
                                     received_at=now_ms(), delivery="sent")
    sent_folder = await store_channels.ensure_channel(desk.db, "sent-copy", "maildir", SUPPORT)
    before = await counts(desk)
    r = await one(desk, sent_folder, mail("<ours-1@example.com>", SUPPORT, subject=f"Re: Help [#{cid}]"))
    r2 = await one(desk, channel, mail("<ours-1@example.com>", SUPPORT, subject=f"Re: Help [#{cid}]"))
    r3 = await one(desk, channel, mail("<echo@x>", SUPPORT, flags=frozenset({FLAG_OWN_ECHO})))
    assert (r.imported, r2.imported, r3.imported) == (0, 0, 0)
    assert r.duplicates + r2.duplicates + r3.duplicates == 3
    assert await counts(desk) == before


async def test_rule3_chat_continuity_across_channels(desk: Desk, channel: Channel) -> None:
    cid = (await one(desk, channel, mail("<x1@x>"))).conversation_ids[0]
    customer = (await conversation(desk, cid))["customer_id"]
    async with desk.db.write() as conn:  # Ann's Telegram account, known as hers
        await call_sync(conn, create_identity, customer, "telegram", "4242", "Ann", now_ms())
    tg = await store_channels.ensure_channel(desk.db, "tg", "telegram", None)
    r = await one(desk, tg, mail("900", "4242", kind="telegram", subject="", text="any news?", chat=True,
                                 raw=None, at=T + timedelta(hours=23)))
    assert r.rules == ["continuity"] and r.conversation_ids == [cid]
    assert (await conversation(desk, cid))["channel_id"] == tg.id  # replies go where she wrote last
    late = await one(desk, tg, mail("901", "4242", kind="telegram", subject="", text="hello again",
                                    chat=True, raw=None, at=T + timedelta(hours=23 + 25)))
    assert late.rules == ["new"] and late.conversation_ids != [cid]


async def test_reopen_window(desk: Desk, channel: Channel) -> None:
    cid = (await one(desk, channel, mail("<w1@x>"))).conversation_ids[0]
    await set_status(desk, cid, "resolved", resolved_at=to_ms(T))
    r = await one(desk, channel, mail("<w2@x>", refs=("<w1@x>",), at=T + timedelta(days=6)))
    assert r.conversation_ids == [cid]
    c = await conversation(desk, cid)
    assert (c["status"], c["resolved_at"]) == ("open", None)
    ev = await desk.db.fetchall(
        "SELECT before, after FROM events WHERE conversation_id = ? AND kind = 'reopened'", (cid,))
    assert [json.loads(e[0]) for e in ev] == [{"status": "resolved"}]
    await set_status(desk, cid, "resolved", resolved_at=to_ms(T + timedelta(days=6)))
    late = await one(desk, channel, mail("<w3@x>", refs=("<w2@x>",), at=T + timedelta(days=14)))
    new_id = late.conversation_ids[0]
    assert new_id != cid and (await conversation(desk, new_id))["linked_to"] == cid
    assert (await conversation(desk, cid))["status"] == "resolved"


@pytest.mark.parametrize("status", ["pending", "snoozed"])
async def test_inbound_reopens_pending_and_snoozed(desk: Desk, channel: Channel, status: str) -> None:
    cid = (await one(desk, channel, mail("<p1@x>"))).conversation_ids[0]
    async with desk.db.write() as conn:
        await conn.execute("UPDATE conversations SET status = ?, snoozed_until = ? WHERE id = ?",
                           (status, now_ms() + 10**9, cid))
    await one(desk, channel, mail("<p2@x>", refs=("<p1@x>",)))
    c = await conversation(desk, cid)
    assert (c["status"], c["snoozed_until"]) == ("open", None)


async def test_reply_to_merged_conversation_lands_in_the_target(desk: Desk, channel: Channel) -> None:
    a = (await one(desk, channel, mail("<g1@x>"))).conversation_ids[0]
    b = (await one(desk, channel, mail("<g2@x>", subject="second"))).conversation_ids[0]
    async with desk.db.write() as conn:
        await conn.execute("UPDATE conversations SET merged_into = ? WHERE id = ?", (a, b))
    r = await one(desk, channel, mail("<g3@x>", refs=("<g2@x>",)))
    assert r.conversation_ids == [a]


# -- odd input ---------------------------------------------------------------------------------------


async def test_quarantined_record_kept_raw_in_its_own_conversation(desk: Desk, channel: Channel) -> None:
    cid = (await one(desk, channel, mail("<ok@x>"))).conversation_ids[0]
    garbage = b"\x00\xff not mail at all \x1b[31m"
    r = await one(desk, channel, mail("<bad@x>", "", name="", subject=f"[#{cid}]", text="", raw=garbage,
                                      refs=("<ok@x>",), flags=frozenset({FLAG_QUARANTINED})))
    assert (r.imported, r.quarantined) == (1, 1)
    q = await conversation(desk, r.conversation_ids[0])
    assert q["quarantined"] == 1 and q["id"] != cid
    msg = await desk.db.fetchone(
        "SELECT raw_sha256, author_identity_id FROM messages WHERE external_id = '<bad@x>'")
    assert await read_raw(desk.db, desk.blob_dir, msg[0]) == garbage
    assert msg[1] is None


async def test_raw_bytes_stored_compressed_in_the_database_once(desk: Desk, channel: Channel) -> None:
    other = await store_channels.ensure_channel(desk.db, "other", "email", "other@example.com")
    raw = b"Message-ID: <r1@x>\r\nFrom: ann@example.com\r\n\r\n" + "ügyfél 退款\r\n".encode() * 200
    await one(desk, channel, mail("<r1@x>", raw=raw))
    await one(desk, other, mail("<r1@x>", raw=raw))  # the same bytes on another channel
    shas = await desk.db.fetchall("SELECT DISTINCT raw_sha256 FROM messages")
    assert [r[0] for r in shas] == [blobs.sha256_hex(raw)]
    rows = await desk.db.fetchall("SELECT sha256, size, length(data) FROM raw_messages")
    assert [(r[0], r[1]) for r in rows] == [(blobs.sha256_hex(raw), len(raw))]
    assert rows[0][2] < len(raw) // 4  # compressed
    assert await read_raw(desk.db, desk.blob_dir, shas[0][0]) == raw
    assert not Path(desk.blob_dir).exists() or not any(p.is_file() for p in Path(desk.blob_dir).rglob("*"))


async def test_very_large_raw_message_stays_a_blob_file(desk: Desk, channel: Channel) -> None:
    raw = b"Message-ID: <big@x>\r\n\r\n" + bytes(range(256)) * (INLINE_MAX // 256 + 1)
    await one(desk, channel, mail("<big@x>", raw=raw))
    sha = (await desk.db.fetchone("SELECT raw_sha256 FROM messages"))[0]
    assert (await desk.db.fetchall("SELECT sha256 FROM raw_messages")) == []
    assert blobs.path_for(desk.blob_dir, sha).read_bytes() == raw
    assert await read_raw(desk.db, desk.blob_dir, sha) == raw


async def test_raw_blob_files_of_older_desks_are_still_read(desk: Desk) -> None:
    raw = b"Message-ID: <old@x>\r\n\r\nstored as a file before schema version 2"
    sha = blobs.put(desk.blob_dir, raw)
    assert await read_raw(desk.db, desk.blob_dir, sha) == raw
    assert await read_raw(desk.db, desk.blob_dir, blobs.sha256_hex(b"never stored")) is None


async def test_invalid_sender_address_still_ingested(desk: Desk, channel: Channel) -> None:
    r = await one(desk, channel, mail("<n@x>", "not an address", name="Someone"))
    assert r.imported == 1
    c = await conversation(desk, r.conversation_ids[0])
    row = await desk.db.fetchone("SELECT name FROM customers WHERE id = ?", (c["customer_id"],))
    assert row[0] == "Someone"


async def test_attachments_are_blobs_and_deduplicated(desk: Desk, channel: Channel) -> None:
    pdf = b"%PDF-1.7 " + bytes(range(256)) * 100
    att = (Attachment("számla.pdf", "application/pdf", pdf), Attachment("logo.png", "image/png", b"\x89PNG",
                                                                       content_id="<logo>", inline=True))
    await one(desk, channel, mail("<at1@x>", attachments=att), mail("<at2@x>", attachments=att[:1]))
    rows = await desk.db.fetchall("SELECT filename, size, sha256, inline FROM attachments ORDER BY id")
    assert [(r[0], r[1], r[3]) for r in rows] == [("számla.pdf", len(pdf), 0), ("logo.png", 4, 1),
                                                  ("számla.pdf", len(pdf), 0)]
    assert blobs.read(desk.blob_dir, rows[0][2]) == pdf
    pdf_files = [p for p in Path(desk.blob_dir).rglob(rows[0][2])]
    assert len(pdf_files) == 1


async def test_multilingual_and_searchable(desk: Desk, channel: Channel) -> None:
    r = await one(
        desk, channel,
        mail("<zh@x>", "wang@example.cn", name="王小明", subject="退款申请", text="我想申请退款，谢谢"),
        mail("<fa@x>", "zahra@example.ir", name="زهرا احمدی", subject="بازپرداخت",
             text="سلام، لطفا کمک کنید"),
        mail("<hu@x>", "daniel@example.hu", name="Kovács Dániel", subject="Ügyfélszolgálat",
             text="A számlám hibás."),
    )
    zh, fa, hu = r.message_ids
    assert await fts(desk, '"退款"') == [zh]
    assert await fts(desk, "ugyfelszolgalat") == [hu]
    assert await fts(desk, "szamlam") == [hu]
    assert await fts(desk, "بازپرداخت") == [fa]
    assert await fts(desk, 'sender:"小明"') == [zh]
    names = [r[0] for r in await desk.db.fetchall("SELECT name FROM customers ORDER BY id")]
    assert names == ["王小明", "زهرا احمدی", "Kovács Dániel"]


async def test_huge_message(desk: Desk, channel: Channel) -> None:
    text = ("Lorem ipsum ügyfél 退款 " * 100_000)[:2_000_000]
    r = await one(desk, channel, mail("<huge@x>", text=text))
    row = await desk.db.fetchone("SELECT length(text) FROM messages WHERE id = ?", (r.message_ids[0],))
    assert row[0] == len(text)


async def test_future_date_does_not_pin_conversation(desk: Desk, channel: Channel) -> None:
    r = await one(desk, channel, mail("<future@x>", at=datetime(2099, 1, 1, tzinfo=UTC)))
    c = await conversation(desk, r.conversation_ids[0])
    assert c["last_activity_at"] <= now_ms()
    msg = await desk.db.fetchone("SELECT sent_at FROM messages WHERE id = ?", (r.message_ids[0],))
    assert msg[0] == to_ms(datetime(2099, 1, 1, tzinfo=UTC))  # what the sender said is kept


async def test_auto_reply_flag_marks_new_conversation(desk: Desk, channel: Channel) -> None:
    r = await one(desk, channel, mail("<ar@x>", flags=frozenset({FLAG_AUTO_REPLY})))
    c = await conversation(desk, r.conversation_ids[0])
    assert json.loads(c["flags"]) == ["auto-reply"]


async def test_ingest_records_batches_and_stores_cursor_last(desk: Desk, channel: Channel) -> None:
    records = (mail(f"<many{i}@x>", f"u{i % 50}@example.com") for i in range(1234))
    r = await ingest_records(desk, channel, records, cursor="end", batch_size=100)
    assert (r.imported, len(r.message_ids)) == (1234, 1234)
    assert await store_channels.get_cursor(desk.db, channel.id) == "end"
    again = await ingest_records(desk, channel, [mail(f"<many{i}@x>") for i in range(1234)], batch_size=500)
    assert (again.imported, again.duplicates) == (0, 1234)


# -- channels store ----------------------------------------------------------------------------------


async def test_ensure_channel_idempotent_and_updates(desk: Desk) -> None:
    a = await store_channels.ensure_channel(desk.db, "support", "email", SUPPORT)
    assert await store_channels.ensure_channel(desk.db, "support", "email", SUPPORT) == a
    b = await store_channels.ensure_channel(desk.db, "support", "maildir", "help@example.com")
    assert (b.id, b.kind, b.address) == (a.id, "maildir", "help@example.com")
    assert await store_channels.get_channel(desk.db, "nope") is None
    assert await store_channels.get_cursor(desk.db, a.id) is None


async def test_channel_health(desk: Desk) -> None:
    a = await store_channels.ensure_channel(desk.db, "a", "email", None)
    await store_channels.ensure_channel(desk.db, "b", "maildir", None)
    await store_channels.record_heartbeat(desk.db, a.id, "host:1")
    await store_channels.record_error(desk.db, a.id, "IMAP login failed: bad password")
    health = {h.name: h for h in await store_channels.channel_health(desk.db)}
    assert health["a"].failing and health["a"].runner == "host:1"
    assert health["a"].last_error == "IMAP login failed: bad password"
    assert health["b"].heartbeat_at is None and not health["b"].failing
    await store_channels.record_success(desk.db, a.id)
    health = {h.name: h for h in await store_channels.channel_health(desk.db)}
    assert not health["a"].failing and health["a"].last_success_at is not None


async def test_our_address_writing_only_to_itself_is_still_ingested(desk: Desk, channel: Channel) -> None:
    r = await one(desk, channel, mail("<self@x>", SUPPORT, subject="cron report", to=(SUPPORT,)))
    assert r.imported == 1
    msg = await desk.db.fetchone("SELECT direction FROM messages WHERE id = ?", (r.message_ids[0],))
    assert msg[0] == "in"


async def test_rerun_skips_known_records_before_any_blob_work(desk: Desk, channel: Channel) -> None:
    await one(desk, channel, mail("<k1@x>"), mail("<k2@x>"))
    again = Batch([mail("<k1@x>"), mail("<k2@x>"), mail("<k3@x>")], None)
    prepared = await prepare_batch(desk, again, channel)
    assert ([r.external_id for r in prepared.records], prepared.skipped) == (["<k3@x>"], 2)
    r = await write_prepared(desk, channel, prepared)
    assert (r.imported, r.duplicates) == (1, 2)
    rows = await desk.db.fetchall("SELECT count(*) FROM raw_messages")
    assert rows[0][0] == 3
