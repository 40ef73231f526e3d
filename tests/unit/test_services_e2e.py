"""Services over conversations built by the real ingest path (ingest_batch)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.base import Address, Batch, Inbound
from omnidesk.conversations import reads
from omnidesk.desk import Desk
from omnidesk.outbound import outbound_payload
from omnidesk.services import services
from tests.unit import factories

ingest = pytest.importorskip("omnidesk.inbound.ingest")

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _mail(
    ext: str,
    sender: str,
    subject: str,
    text: str,
    *,
    refs: tuple[str, ...] = (),
    minutes: int = 0,
    name: str = "Ann Lee",
    to: str = "support@acme.example",
) -> Inbound:
    return Inbound(
        external_id=ext,
        sender=Address("email", sender, name),
        sent_at=T0 + timedelta(minutes=minutes),
        subject=subject,
        text=text,
        thread_refs=refs,
        recipients=(Address("email", to),),
    )


async def test_reply_threads_back_and_its_echo_is_skipped(desk: Desk) -> None:
    alice = await factories.agent(desk, "alice")
    d = desk.as_agent(alice)
    ch = await factories.email_channel(d, address="support@acme.example")
    first = await ingest.ingest_batch(
        d,
        ch,
        Batch([_mail("<a1@cust.example>", "Ann@Cust.example", "Refund", "Where is my refund?")], cursor=None),
    )
    (cid,) = first.conversation_ids
    reply = await services.queue_reply(d, cid, "It is on its way.")
    payload = await d.db.fetchone("SELECT payload FROM outbox WHERE message_id = ?", (reply.message_id,))
    outbound, _ = outbound_payload.load(payload[0])
    assert outbound.to[0].address == "ann@cust.example"
    assert outbound.in_reply_to == "<a1@cust.example>" and outbound.subject == f"Re: Refund [#{cid}]"
    async with d.db.write() as conn:  # what the dispatcher records after a successful send
        await conn.execute("UPDATE outbox SET state = 'sent' WHERE message_id = ?", (reply.message_id,))
        await conn.execute("UPDATE messages SET delivery = 'sent' WHERE id = ?", (reply.message_id,))

    # our own reply comes back (Sent folder / BCC): skipped; the customer's answer threads by reference
    echo = Inbound(
        external_id=outbound.message_ref,
        sender=Address("email", "support@acme.example"),
        sent_at=T0 + timedelta(minutes=5),
        subject=outbound.subject,
        text=outbound.text,
        recipients=(Address("email", "ann@cust.example"),),
    )
    answer = _mail(
        "<a2@cust.example>",
        "ann@cust.example",
        f"Re: Refund [#{cid}]",
        "Thanks!",
        refs=("<a1@cust.example>", outbound.message_ref),
        minutes=10,
    )
    second = await ingest.ingest_batch(d, ch, Batch([echo, answer], cursor=None))
    assert (second.imported, second.duplicates, second.conversation_ids) == (1, 1, [cid])
    assert (await reads.get_conversation(d, cid)).summary.unread

    again = await services.queue_reply(d, cid, "You're welcome.")
    payload = await d.db.fetchone("SELECT payload FROM outbox WHERE message_id = ?", (again.message_id,))
    outbound2, _ = outbound_payload.load(payload[0])
    assert outbound2.in_reply_to == "<a2@cust.example>"
    assert outbound2.references == ("<a1@cust.example>", outbound.message_ref, "<a2@cust.example>")
    assert outbound2.subject == f"Re: Refund [#{cid}]"  # no "Re: Re:", one token


async def test_unmerged_identity_gets_its_own_new_mail_again(desk: Desk) -> None:
    ch = await factories.email_channel(desk, address="support@acme.example")
    a = await ingest.ingest_batch(
        desk,
        ch,
        Batch([_mail("<h1@x>", "dani@home.example", "Kérdés", "Szia", name="Kovács Dániel")], cursor=None),
    )
    b = await ingest.ingest_batch(
        desk,
        ch,
        Batch(
            [
                _mail(
                    "<w1@x>",
                    "daniel.kovacs@work.example",
                    "Számla",
                    "Jó napot",
                    name="Kovács Dániel",
                    minutes=1,
                )
            ],
            cursor=None,
        ),
    )
    home = (await reads.get_conversation(desk, a.conversation_ids[0])).customer.id
    work = (await reads.get_conversation(desk, b.conversation_ids[0])).customer.id
    await services.merge_customers(desk, work, home)
    merged_mail = await ingest.ingest_batch(
        desk,
        ch,
        Batch(
            [_mail("<w2@x>", "daniel.kovacs@work.example", "Új kérdés", "Még egy", minutes=2)], cursor=None
        ),
    )
    assert (await reads.get_conversation(desk, merged_mail.conversation_ids[0])).customer.id == home
    await services.unmerge_customer(desk, home)
    # the conversation the work address started while merged goes back with it
    assert (await reads.get_conversation(desk, merged_mail.conversation_ids[0])).customer.id == work
    later = await ingest.ingest_batch(
        desk,
        ch,
        Batch([_mail("<w3@x>", "daniel.kovacs@work.example", "Harmadik", "Újra", minutes=3)], cursor=None),
    )
    assert (await reads.get_conversation(desk, later.conversation_ids[0])).customer.id == work
