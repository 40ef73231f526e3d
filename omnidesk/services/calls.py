"""Logged phone calls: a `phone` message on the customer's timeline.

The customer is found (or created) by the E.164 form of the number, and the
call joins their open conversation when there is a recent one, as the
continuity rule does for chat messages.
"""

from __future__ import annotations

import uuid

from omnidesk.desk import Desk
from omnidesk.errors import NotFound, UserError
from omnidesk.services.actionresult import (
    ActionResult,
    EventKind,
    agent_id,
    agent_label,
    load_conversations,
    record_event,
    require_live,
)
from omnidesk.services.replies import MAX_TEXT, index_written, sender_text
from omnidesk.services.sla import recomputes_sla
from omnidesk.store import actions as store
from omnidesk.store import customers as store_customers
from omnidesk.store.channels import get_channel
from omnidesk.timeutil import now_ms

#: The channel logged calls are filed under; its kind has no adapter, so nothing is sent on it.
CALLS_CHANNEL = "phone"


@recomputes_sla
async def log_call(
    desk: Desk,
    *,
    direction: str,
    duration_seconds: int,
    notes: str,
    phone: str | None = None,
    customer_id: int | None = None,
    conversation_id: int | None = None,
) -> ActionResult:
    """Record a phone call as a `phone` message on the customer's timeline.

    The customer is found by normalised phone number (created when new), or
    given; the call joins `conversation_id`, else the customer's open/pending
    conversation active within the continuity window, else a new one.
    """
    from omnidesk.customers.identity import normalise
    from omnidesk.store.channels import ensure_channel

    if direction not in ("in", "out"):
        raise UserError(f"call direction must be 'in' or 'out', not {direction!r}")
    if isinstance(duration_seconds, bool) or not isinstance(duration_seconds, int) or duration_seconds < 0:
        raise UserError(f"call duration must be a whole number of seconds >= 0, not {duration_seconds!r}")
    if len(notes) > MAX_TEXT:
        raise UserError(f"the call notes are too long (at most {MAX_TEXT:,} characters)")
    if phone is None and customer_id is None and conversation_id is None:
        raise UserError("say who called: a phone number, a customer or a conversation")
    number = normalise("phone", phone) if phone is not None else None
    chan = await get_channel(desk.db, CALLS_CHANNEL)
    if chan is None:
        chan = await ensure_channel(desk.db, CALLS_CHANNEL, "phone", None)
    elif chan.kind != "phone":
        raise UserError(f"the channel named {CALLS_CHANNEL!r} is of kind {chan.kind!r}, not phone")
    now = now_ms()
    window = int(desk.settings.desk.continuity_window_hours * 3_600_000)
    events: list[int] = []
    async with desk.db.write() as conn:
        conv = None
        if conversation_id is not None:
            conv = (await load_conversations(conn, [conversation_id]))[conversation_id]
            require_live(conv)
        if customer_id is not None:
            given = await store_customers.customer_row(conn, customer_id)
            if given is None:
                raise NotFound(f"no such customer: {customer_id}")
            if given["merged_into"] is not None:
                raise UserError(
                    f"customer {customer_id} was merged into {given['merged_into']}",
                    hint=f"use customer {given['merged_into']}",
                )
            if conv is not None and conv["customer_id"] != customer_id:
                raise UserError(f"#{conv['id']} belongs to customer {conv['customer_id']}, not {customer_id}")
        cust = customer_id if customer_id is not None else (conv["customer_id"] if conv is not None else None)
        identity = await store_customers.identity_by_address(conn, "phone", number) if number else None
        if identity is not None:
            if cust is not None and identity.customer_id != cust:
                raise UserError(
                    f"{number} belongs to customer {identity.customer_id}, not {cust}",
                    hint="merge the customers first, or leave out the phone number",
                )
            cust = identity.customer_id
            identity_id: int | None = identity.id
        else:
            if cust is None:
                cust = await store_customers.create_customer(conn, name="", now=now)
            identity_id = (
                await store_customers.add_identity(
                    conn, customer_id=cust, kind="phone", address=number, display_name="", now=now
                )
                if number
                else None
            )
        customer = await store_customers.customer_row(conn, cust)
        assert customer is not None
        if conv is None:
            found = await store.latest_open_conversation(conn, cust, now - window)
            if found is not None:
                conv = (await store.conversation_rows(conn, [found]))[found]
        if conv is None:
            new_id = await store.create_conversation(
                conn, customer_id=cust, subject="Phone call", channel_id=chan.id, now=now
            )
            conv = (await store.conversation_rows(conn, [new_id]))[new_id]
            events.append(
                await record_event(
                    conn, desk, EventKind.CREATED, now,
                    conversation_id=new_id,
                    customer_id=cust,
                    after={"channel": chan.name},
                )
            )
        cid = conv["id"]
        agent_name = agent_label(desk)
        caller = (customer["name"], number or "")
        author_name, author_address = caller if direction == "in" else (agent_name, "")
        recipients = (
            [{"kind": "phone", "address": number, "display_name": customer["name"], "role": "to"}]
            if direction == "out" and number
            else []
        )
        mid = await store.insert_message(
            conn,
            conversation_id=cid,
            channel_id=chan.id,
            direction=direction,
            external_id=f"call:{uuid.uuid4().hex}",
            author_identity_id=identity_id if direction == "in" else None,
            author_agent_id=agent_id(desk),
            author_name=author_name,
            author_address=author_address,
            recipients=recipients,
            text=notes,
            meta={"duration_seconds": duration_seconds},
            sent_at=now,
            received_at=now,
        )
        await index_written(conn, mid, "", notes, sender_text(author_name, author_address))
        await store.bump_activity(conn, cid, now=now, inbound=direction == "in", channel_id=chan.id)
        await store_customers.touch(conn, cust, now)
        events.append(
            await record_event(
                conn, desk, EventKind.CALL_LOGGED, now,
                conversation_id=cid,
                customer_id=cust,
                after={"message_id": mid, "direction": direction, "duration_seconds": duration_seconds},
            )
        )
    minutes = f"{duration_seconds // 60}:{duration_seconds % 60:02d}"
    return ActionResult(
        "call",
        (cid,),
        tuple(events),
        f"Logged an {'incoming' if direction == 'in' else 'outgoing'} call ({minutes}) on #{cid}",
        mid,
    )
