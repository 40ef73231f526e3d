"""One customer across channels: an identity the sender also showed links them to its customer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from adapters.base import Address, Batch, Inbound
from omnidesk.desk import Desk
from omnidesk.inbound.ingest import ingest_batch
from omnidesk.model import Channel
from omnidesk.store import channels as store_channels

T = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def mail(ext: str, sender: str, text: str = "hello") -> Inbound:
    return Inbound(external_id=ext, sender=Address("email", sender, "Zahra Ahmadi"), sent_at=T, text=text,
                   subject="Order 4242", recipients=(Address("email", "support@example.com"),))


def tg(ext: str, user: str, *known: Address, text: str = "سلام",
       at: datetime = T + timedelta(hours=1)) -> Inbound:
    return Inbound(external_id=ext, sender=Address("telegram", user, "زهرا"), sent_at=at, text=text,
                   chat_like=True, also_known_as=known)


async def ingest(desk: Desk, channel: Channel, *records: Inbound):
    return await ingest_batch(desk, channel, Batch(list(records), None))


async def customer_of(desk: Desk, kind: str, address: str) -> int | None:
    row = await desk.db.fetchone("SELECT customer_id FROM identities WHERE kind = ? AND address = ?",
                                 (kind, address))
    return None if row is None else int(row[0])


async def events(desk: Desk, kind: str) -> list[dict]:
    rows = await desk.db.fetchall("SELECT * FROM events WHERE kind = ? ORDER BY id", (kind,))
    return [dict(r) for r in rows]


async def channels(desk: Desk) -> tuple[Channel, Channel]:
    email = await store_channels.ensure_channel(desk.db, "support", "email", "support@example.com")
    return email, await store_channels.ensure_channel(desk.db, "tg", "telegram", None)


async def test_a_new_sender_whose_profile_email_is_known_joins_that_customer(desk: Desk) -> None:
    email, telegram = await channels(desk)
    first = await ingest(desk, email, mail("<1@x>", "zahra@example.ir"))
    zahra = await customer_of(desk, "email", "zahra@example.ir")
    later = await ingest(desk, telegram, tg("77", "5550001", Address("email", "Zahra@Example.IR")))
    assert await customer_of(desk, "telegram", "5550001") == zahra
    assert later.conversation_ids == first.conversation_ids  # continuity: her open email conversation
    [linked] = await events(desk, "identity_linked")
    assert linked["customer_id"] == zahra and linked["conversation_id"] == first.conversation_ids[0]
    assert '"by_kind":"email"' in linked["after"] and '"address":"5550001"' in linked["after"]
    assert (await desk.db.fetchone("SELECT count(*) FROM customers"))[0] == 1


async def test_a_phone_shared_on_telegram_moves_the_senders_identity_to_the_phones_customer(
        desk: Desk) -> None:
    _, telegram = await channels(desk)
    await ingest(desk, telegram, tg("1", "5550001", text="first, before sharing"))
    stranger = await customer_of(desk, "telegram", "5550001")
    await ingest(desk, telegram, tg("2", "7770002", Address("phone", "+36 30 123 4567"),
                                    text="Kovács Dániel"))
    daniel = await customer_of(desk, "phone", "+36301234567")
    assert daniel is not None and daniel != stranger  # nobody had it: added to the sender's customer
    assert [e["after"] for e in await events(desk, "identity_added")] == [
        '{"kind":"phone","address":"+36301234567","channel_kind":"telegram"}']

    await ingest(desk, telegram, tg("3", "5550001", Address("phone", "+36-30-123-4567"),
                                    Address("phone", "+1")))
    assert await customer_of(desk, "phone", "+36301234567") == daniel  # "+1" is no number: dropped
    [linked] = await events(desk, "identity_linked")
    assert await customer_of(desk, "telegram", "5550001") == daniel
    assert linked["before"] == f'{{"customer_id":{stranger}}}'


async def test_an_identity_already_the_senders_changes_nothing(desk: Desk) -> None:
    _, telegram = await channels(desk)
    await ingest(desk, telegram, tg("1", "5550001", Address("phone", "+36301234567")))
    before = await desk.db.fetchone("SELECT count(*) FROM events")
    await ingest(desk, telegram, tg("2", "5550001", Address("phone", "+36301234567"), text="again"))
    assert (await desk.db.fetchone("SELECT count(*) FROM events"))[0] == before[0]
    assert await events(desk, "identity_linked") == []


async def test_an_agent_sharing_a_phone_links_nobody(desk: Desk) -> None:
    from omnidesk.services import services

    email, telegram = await channels(desk)
    await ingest(desk, email, mail("<1@x>", "zahra@example.ir"))
    await services.add_agent(desk, "alice", identities=[("telegram", "5550009")])
    first = await ingest(desk, telegram, tg("1", "7770001"))
    await ingest(desk, telegram, Inbound(external_id="2", sender=Address("telegram", "5550009", "Alice"),
                                         sent_at=T + timedelta(hours=2), text="on it", chat_like=True,
                                         thread_refs=("1",),
                                         also_known_as=(Address("email", "zahra@example.ir"),)))
    assert await customer_of(desk, "telegram", "5550009") is None
    assert await events(desk, "identity_linked") == [] and first.imported == 1
