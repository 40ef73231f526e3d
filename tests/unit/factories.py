"""Test data for the service and read tests, written through the store helpers.

Conversations are built directly (customer, identity, conversation, inbound
messages) so each test states exactly the thread it needs, independent of the
threading rules that ingest applies.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from omnidesk.desk import Desk
from omnidesk.model import Agent, Channel
from omnidesk.store import actions, customers
from omnidesk.store.agents import insert_agent
from omnidesk.store.channels import ensure_channel
from omnidesk.timeutil import now_ms

_counter = itertools.count(1)


async def agent(desk: Desk, name: str, *, os_user: str | None = None, teams: tuple[str, ...] = (),
                role: str = "admin") -> Agent:
    """An agent; an admin unless `role` says otherwise, so tests of other things may do anything."""
    return await insert_agent(desk.db, name=name, display_name=name.title(), os_user=os_user, teams=teams,
                              role=role)


async def email_channel(desk: Desk, name: str = "support", address: str = "support@example.com") -> Channel:
    return await ensure_channel(desk.db, name, "email", address)


@dataclass
class Thread:
    conversation_id: int
    customer_id: int
    identity_id: int
    message_ids: list[int] = field(default_factory=list)
    external_ids: list[str] = field(default_factory=list)


async def customer(
    desk: Desk, *, name: str = "Ann Lee", kind: str = "email", address: str = "ann@example.com"
) -> tuple[int, int]:
    """(customer id, identity id)."""
    now = now_ms()
    async with desk.db.write() as conn:
        cid = await customers.create_customer(conn, name=name, now=now)
        iid = await customers.add_identity(
            conn, customer_id=cid, kind=kind, address=address, display_name=name, now=now
        )
    return cid, iid


async def thread(
    desk: Desk,
    channel: Channel,
    *,
    subject: str = "Refund please",
    name: str = "Ann Lee",
    address: str = "ann@example.com",
    texts: tuple[str, ...] = ("Hello, I want a refund.",),
    customer_id: int | None = None,
    identity_id: int | None = None,
    recipients: list[dict[str, str]] | None = None,
    start: int | None = None,
) -> Thread:
    """A conversation with one inbound message per text, a minute apart, on `channel`."""
    if customer_id is None or identity_id is None:
        customer_id, identity_id = await customer(desk, name=name, address=address)
    start = start if start is not None else now_ms() - 3_600_000
    result = Thread(0, customer_id, identity_id)
    async with desk.db.write() as conn:
        cid = await actions.create_conversation(
            conn, customer_id=customer_id, subject=subject, channel_id=channel.id, now=start
        )
        result.conversation_id = cid
        for i, text in enumerate(texts):
            ext = f"<m{next(_counter)}@customer.example>"
            when = start + i * 60_000
            mid = await actions.insert_message(
                conn,
                conversation_id=cid,
                channel_id=channel.id,
                direction="in",
                external_id=ext,
                author_identity_id=identity_id,
                author_name=name,
                author_address=address,
                recipients=recipients
                or [{"kind": "email", "address": channel.address or "", "display_name": "", "role": "to"}],
                subject=subject if i == 0 else f"Re: {subject}",
                text=text,
                display_text=text,
                thread_refs=result.external_ids[-1:],
                sent_at=when,
                received_at=when,
            )
            await actions.bump_activity(conn, cid, now=when, inbound=True, channel_id=channel.id)
            result.message_ids.append(mid)
            result.external_ids.append(ext)
    return result


async def add_inbound(
    desk: Desk,
    t: Thread,
    channel: Channel,
    text: str,
    *,
    address: str = "ann@example.com",
    name: str = "Ann Lee",
    when: int | None = None,
) -> int:
    """One more inbound message from the thread's identity, appended to its conversation."""
    when = when if when is not None else now_ms()
    ext = f"<m{next(_counter)}@customer.example>"
    async with desk.db.write() as conn:
        mid = await actions.insert_message(
            conn,
            conversation_id=t.conversation_id,
            channel_id=channel.id,
            direction="in",
            external_id=ext,
            author_identity_id=t.identity_id,
            author_name=name,
            author_address=address,
            text=text,
            display_text=text,
            thread_refs=t.external_ids[-1:],
            sent_at=when,
            received_at=when,
        )
        await actions.bump_activity(conn, t.conversation_id, now=when, inbound=True, channel_id=channel.id)
    t.message_ids.append(mid)
    t.external_ids.append(ext)
    return mid
