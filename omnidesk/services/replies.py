"""Messages agents write: internal notes, queued replies (and their cancel/retry), logged calls.

A reply is a stored `out` message, its full-text row and an outbox row, all in
one transaction; the dispatcher (omnidesk/outbound/outbox.py) sends it once the undo
window has passed. Nothing here does network I/O.
"""

from __future__ import annotations

import contextlib
import mimetypes
import sqlite3
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import aiosqlite

from adapters.base import Address, Outbound
from omnidesk import blobs
from omnidesk.desk import Desk
from omnidesk.errors import NotFound, ReplyCollision, UserError, shown
from omnidesk.model import Channel, Identity
from omnidesk.outbound import outbound_payload, replyfmt
from omnidesk.services.actionresult import (
    ActionResult,
    EventKind,
    agent_id,
    agent_label,
    load_conversations,
    record_event,
    require_live,
)
from omnidesk.store import actions as store
from omnidesk.store import customers as store_customers
from omnidesk.store import reads as store_reads
from omnidesk.store.channels import get_channel, get_channel_by_id, list_channels
from omnidesk.timeutil import now_ms

#: Largest reply body accepted (characters); beyond this it is surely a mistake (a pasted log file).
MAX_TEXT = 1_000_000
PHONE_CHANNEL = "phone"


class ReplyRoute(NamedTuple):
    """Where a reply can go: a channel (name and kind) and the customer's address on it."""

    channel: str
    kind: str
    to: str


def sender_text(name: str, address: str) -> str:
    """What goes into the FTS `sender` column for messages we write (recomputable from the row)."""
    return f"{name} {address}".strip()


async def index_written(
    conn: aiosqlite.Connection, message_id: int, subject: str, text: str, sender: str
) -> None:
    """Add a message we wrote (note, reply, call) to the full-text index, in the caller's transaction."""
    from omnidesk.store.ingest import index_message

    await index_message(conn, message_id, subject, text, sender)


async def _unindex(conn: aiosqlite.Connection, row: sqlite3.Row) -> None:
    """Remove a message we wrote from the contentless FTS table (same values as indexed)."""
    from omnidesk.store.ingest import unindex_message

    sender = sender_text(row["author_name"], row["author_address"])
    await unindex_message(conn, row["id"], row["subject"], row["text"], sender)


def _check_text(text: str, what: str) -> str:
    if len(text) > MAX_TEXT:
        raise UserError(f"the {what} is too long ({len(text):,} characters; at most {MAX_TEXT:,})")
    return text


# -- notes ------------------------------------------------------------------------------


async def store_note(desk: Desk, conversation_id: int, text: str) -> ActionResult:
    """An internal note: a `note` message, never sent to the customer."""
    text = _check_text(text, "note")
    if not text.strip():
        raise UserError("the note is empty")
    now = now_ms()
    author = agent_label(desk)
    async with desk.db.write() as conn:
        row = (await load_conversations(conn, [conversation_id]))[conversation_id]
        require_live(row)
        mid = await store.insert_message(
            conn,
            conversation_id=conversation_id,
            channel_id=None,
            direction="note",
            author_agent_id=agent_id(desk),
            author_name=author,
            author_address="",
            text=text,
            sent_at=now,
            received_at=now,
        )
        await index_written(conn, mid, "", text, sender_text(author, ""))
        await store.bump_activity(conn, conversation_id, now=now, inbound=False)
        event = await record_event(
            conn, desk, EventKind.NOTE, now,
            conversation_id=conversation_id,
            after={"message_id": mid},
        )
    return ActionResult("note", (conversation_id,), (event,), f"Added a note to #{conversation_id}", mid)


async def undo_note(desk: Desk, result: ActionResult, events: Sequence[sqlite3.Row]) -> ActionResult:
    """Delete the note(s) an add_note wrote; the conversation's activity time goes back."""
    import json

    now, written, convs = now_ms(), [], []
    async with desk.db.write() as conn:
        for ev in events:
            if ev["kind"] != EventKind.NOTE:
                continue
            after = json.loads(ev["after"])
            row = await store.message_row(conn, after["message_id"])
            if row is None:
                raise NotFound(f"the note (message {after['message_id']}) is gone already")
            cid = row["conversation_id"]
            await _unindex(conn, row)
            await store.delete_message(conn, row["id"])
            conv = (await load_conversations(conn, [cid]))[cid]
            if conv["last_activity_at"] == row["sent_at"]:  # nothing happened since: activity goes back
                await store.recompute_counters(conn, cid)
            else:
                await store.update_conversation(
                    conn, cid, {"message_count": max(0, conv["message_count"] - 1)}
                )
            written.append(
                await record_event(
                    conn, desk, EventKind.NOTE_REMOVED, now,
                    conversation_id=cid,
                    before={"message_id": row["id"]},
                    after={"undo_of": ev["id"]},
                )
            )
            convs.append(cid)
    return ActionResult("undo", tuple(dict.fromkeys(convs)), tuple(written), f"Undid: {result.description}")


# -- replies ----------------------------------------------------------------------------


async def _reply_channel(
    desk: Desk, conv: sqlite3.Row, thread: Sequence[sqlite3.Row], name: str | None
) -> Channel:
    if name is not None:
        channel = await get_channel(desk.db, name)
        if channel is None:
            known = [c.name for c in await list_channels(desk.db) if c.kind != PHONE_CHANNEL]
            raise NotFound(
                f"unknown channel {name!r}",
                hint=f"known channels: {', '.join(known)}" if known else "no channels configured",
            )
        if channel.kind == PHONE_CHANNEL:
            raise UserError("replies cannot go out on the phone channel", hint="log the call instead")
        return channel
    for cid in _default_channel_ids(conv, thread):
        channel = await get_channel_by_id(desk.db, cid)
        if channel is not None and channel.kind != PHONE_CHANNEL:
            return channel
    raise UserError(f"#{conv['id']} has no channel to reply on", hint="pass --channel NAME")


def _default_channel_ids(conv: sqlite3.Row, thread: Sequence[sqlite3.Row]) -> list[int]:
    """Channels a reply goes out on by default, best first (logged calls skipped: nothing sends on them)."""
    candidates = [
        m["channel_id"]
        for m in reversed(thread)
        if m["direction"] == "in" and m["channel_id"] is not None and m["channel_kind"] != PHONE_CHANNEL
    ]
    candidates += [conv["channel_id"]] if conv["channel_id"] is not None else []
    candidates += [
        m["channel_id"]
        for m in reversed(thread)
        if m["direction"] == "out" and m["channel_id"] is not None and m["channel_kind"] != PHONE_CHANNEL
    ]
    return candidates


async def reply_routes(desk: Desk, conversation_id: int) -> list[ReplyRoute]:
    """Every (channel, address) a reply to this conversation can take, the one `queue_reply` picks first.

    One route per identity of the customer on each channel that can send (not
    the phone channel of logged calls) and whose kind of address it is; on each
    channel the identity that wrote last comes first. `queue_reply` accepts each
    as `channel=`, `to=`, and with neither picks the first (when the default
    channel reaches the customer). The console offers exactly these.
    """
    conv = await store_reads.conversation_row(desk.db, conversation_id)
    if conv is None:
        raise NotFound(f"no such conversation: #{conversation_id}")
    thread = await store_reads.thread_messages(desk.db, conversation_id)
    customer = await store_customers.get_customer(desk.db, conv["customer_id"])
    assert customer is not None
    channels = [c for c in await list_channels(desk.db) if c.kind != PHONE_CHANNEL]
    ids = {c.id for c in channels}
    default = next((cid for cid in _default_channel_ids(conv, thread) if cid in ids), None)
    channels.sort(key=lambda c: c.id != default)  # stable: the others keep their order
    routes = []
    for channel in channels:
        kind = replyfmt.identity_kind(channel.kind)
        own = [i for i in customer.identities if i.kind == kind]
        first = _default_identity(own, _family(thread, kind))
        for ident in sorted(own, key=lambda i: i is not first):
            routes.append(ReplyRoute(channel.name, channel.kind, ident.address))
    return routes


def _family(thread: Sequence[sqlite3.Row], kind: str) -> list[sqlite3.Row]:
    """Messages of the thread on channels whose addresses are of identity kind `kind`."""
    return [m for m in thread if m["channel_kind"] and replyfmt.identity_kind(m["channel_kind"]) == kind]


async def _recipient(
    desk: Desk, conv: sqlite3.Row, family: Sequence[sqlite3.Row], kind: str, to: str | None
) -> Address:
    customer = await store_customers.get_customer(desk.db, conv["customer_id"])
    assert customer is not None
    if to is not None:
        from omnidesk.customers.identity import normalise_typed

        address = normalise_typed(kind, to)
        known = next((i for i in customer.identities if i.kind == kind and i.address == address), None)
        return Address(kind, address, (known.display_name if known else "") or customer.name)
    ident = _default_identity([i for i in customer.identities if i.kind == kind], family)
    if ident is not None:
        return Address(kind, ident.address, ident.display_name or customer.name)
    raise UserError(f"the customer of #{conv['id']} has no {kind} address", hint="pass --to ADDRESS")


def _default_identity(own: Sequence[Identity], family: Sequence[sqlite3.Row]) -> Identity | None:
    """Of the customer's identities of one kind, whoever wrote last in `family`, else the first."""
    by_id = {i.id: i for i in own}
    for m in reversed(family):
        if m["direction"] == "in" and m["author_identity_id"] in by_id:
            return by_id[m["author_identity_id"]]
    return own[0] if own else None


async def _reply_all_cc(
    desk: Desk, parent: sqlite3.Row | None, to: Address, kind: str
) -> tuple[Address, ...]:
    """Everyone on the parent message except us and the main recipient."""
    if parent is None:
        return ()
    import json

    ours = {c.address or "" for c in await list_channels(desk.db)}
    people: list[dict[str, object]] = []
    with contextlib.suppress(ValueError):
        people = [r for r in json.loads(parent["recipients"] or "[]") if isinstance(r, dict)]
    return reply_all_cc(parent["author_address"], parent["author_name"], people, to.address, kind, ours)


def reply_all_cc(
    author_address: str,
    author_name: str,
    recipients: Sequence[Mapping[str, object]],
    to: str,
    kind: str,
    ours: Iterable[str],
) -> tuple[Address, ...]:
    """Who a reply-all copies: the parent's author and recipients of this kind, minus `to` and us."""
    seen = {to.lower()} | {address.lower() for address in ours}
    out: list[Address] = []
    people = [{"address": author_address, "display_name": author_name, "kind": kind}, *recipients]
    for person in people:
        address = str(person.get("address") or "").strip()
        if not address or person.get("kind", kind) != kind or address.lower() in seen:
            continue
        seen.add(address.lower())
        out.append(
            Address(
                kind, address.lower() if kind == "email" else address, str(person.get("display_name") or "")
            )
        )
    return tuple(out)


def copies(kind: str, given: Iterable[str], role: str, taken: Iterable[str]) -> tuple[Address, ...]:
    """Cc or Bcc addresses an agent typed (`a@x`, `Name <a@x>`, comma-separated lists), normalised.

    UserError naming the field and the first bad address. Addresses in `taken` (the To,
    earlier copies) are left out, so nobody gets two copies.
    """
    from email.utils import getaddresses

    from omnidesk.customers.identity import InvalidIdentity, display_name, normalise_typed

    # (what was typed, name, address): an error names the typed text, as getaddresses may cut it up.
    people = [(text, name, addr) for text in given if text.strip() for name, addr in getaddresses([text])
              if name.strip() or addr.strip()]
    if people and kind != "email":
        raise UserError(f"{role} is for email replies; this one goes out as {kind}")
    seen = {t.lower() for t in taken}
    out: list[Address] = []
    for text, name, raw in people:
        try:
            address = normalise_typed("email", raw or name)
        except InvalidIdentity as exc:
            cut = (raw or name).strip() not in [part.strip() for part in text.split(",")]
            raise UserError(f"{role}: {exc}" + (f" in {shown(text)}" if cut else "")) from None
        if address not in seen:
            seen.add(address)
            out.append(Address("email", address, display_name(name)))
    return tuple(out)


def address_text(address: str, name: str = "") -> str:
    """`Name <a@x>` as an agent reads and edits it (no RFC 2047 encoding); `copies` reads it back.

    The name is a stranger's text: control characters and bidi overrides are removed.
    """
    from omnidesk.textsafe import one_line

    name = one_line(name.replace('"', ""))
    if not name:
        return address
    return f'"{name}" <{address}>' if any(c in name for c in ',;:<>@()[]\\') else f"{name} <{address}>"


def _read_attachments(desk: Desk, paths: Sequence[str]) -> list[dict[str, object]]:
    refs = []
    for p in paths:
        path = Path(p).expanduser()
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise UserError(f"cannot read attachment {p}: {exc.strerror or exc}") from exc
        sha = blobs.put(desk.blob_dir, data)
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        refs.append({"sha256": sha, "filename": path.name, "content_type": content_type, "size": len(data)})
    return refs


async def queue_reply(
    desk: Desk,
    conversation_id: int,
    text: str,
    *,
    channel: str | None = None,
    to: str | None = None,
    reply_all: bool = False,
    cc: Sequence[str] = (),
    bcc: Sequence[str] = (),
    html: str | None = None,
    attachments: Sequence[str] = (),
    force: bool = False,
) -> ActionResult:
    """Store an `out` message plus an outbox row (one transaction); the dispatcher sends it.

    By default it goes through the channel of the latest inbound message to the
    customer's identity on that channel; `channel`/`to` pick another. `reply_all`
    copies everyone on the last inbound message but us; `cc` and `bcc` add email
    addresses (Bcc ones go in the envelope only). Sending waits
    desk.settings.desk.undo_seconds, during which `cancel_reply` stops it.
    If another agent replied after the acting agent last read the conversation,
    `ReplyCollision` is raised and nothing is stored, unless `force`.
    """
    text = _check_text(text, "reply")
    if not text.strip() and not attachments:
        raise UserError("the reply is empty")
    conv = await store_reads.conversation_row(desk.db, conversation_id)
    if conv is None:
        raise NotFound(f"no such conversation: #{conversation_id}")
    require_live(conv)
    thread = await store_reads.thread_messages(desk.db, conversation_id)
    chan = await _reply_channel(desk, conv, thread, channel)
    kind = replyfmt.identity_kind(chan.kind)
    family = _family(thread, kind)
    recipient = await _recipient(desk, conv, family, kind, to)
    inbound = [m for m in family if m["direction"] == "in"]
    parent = inbound[-1] if inbound else None
    in_reply_to = parent["external_id"] if parent is not None else None
    # Only ids that really went out (or came in) belong in References.
    refs = [
        m["external_id"]
        for m in family
        if m["external_id"] and (m["direction"] == "in" or m["delivery"] == "sent")
    ]
    email = kind == "email"
    subject = (
        replyfmt.reply_subject(
            conv["subject"] or (parent["subject"] if parent is not None else ""),
            conversation_id,
            token=desk.settings.desk.subject_token,
        )
        if email
        else conv["subject"]
    )
    body = text
    if email and parent is not None and desk.settings.desk.quote_last_message:
        body = replyfmt.with_quote(
            text,
            replyfmt.quote(
                parent["display_text"] or parent["text"],
                author=parent["author_name"] or parent["author_address"],
                sent_at=parent["sent_at"],
                tz_offset=parent["sent_tz_offset"],
            ),
        )
    copied = await _reply_all_cc(desk, parent, recipient, kind) if reply_all else ()
    copied += copies(kind, cc, "Cc", [recipient.address, *(a.address for a in copied)])
    hidden = copies(kind, bcc, "Bcc", [recipient.address, *(a.address for a in copied)])
    refs_att = _read_attachments(desk, attachments)
    message_ref = replyfmt.new_message_ref(chan.address) if email else f"omnidesk:{uuid.uuid4().hex}"
    author = agent_label(desk)
    outbound = Outbound(
        message_ref=message_ref,
        to=(recipient,),
        text=body,
        subject=subject,
        from_address=Address(kind, chan.address, desk.settings.desk.name) if chan.address else None,
        cc=copied,
        bcc=hidden,
        html=html,
        in_reply_to=in_reply_to,
        references=replyfmt.references(refs, in_reply_to)
        if email
        else ((in_reply_to,) if in_reply_to else ()),
        meta={"conversation_id": conversation_id, "channel": chan.name},
    )
    recipients = [
        {"kind": a.kind, "address": a.address, "display_name": a.display_name, "role": role}
        for role, group in (("to", outbound.to), ("cc", outbound.cc), ("bcc", outbound.bcc))
        for a in group
    ]
    now = now_ms()
    not_before = now + int(desk.settings.desk.undo_seconds * 1000)
    async with desk.db.write() as conn:
        live = (await load_conversations(conn, [conversation_id]))[conversation_id]
        require_live(live)
        if not force and desk.agent is not None:  # checked in the transaction: two senders serialise
            others = await store.replies_after_read(conn, conversation_id, desk.agent.id)
            if others:
                raise ReplyCollision(conversation_id, others)
        mid = await store.insert_message(
            conn,
            conversation_id=conversation_id,
            channel_id=chan.id,
            direction="out",
            external_id=message_ref,
            author_agent_id=agent_id(desk),
            author_name=author,
            author_address=chan.address or "",
            recipients=recipients,
            subject=subject,
            text=body,
            display_text=text,
            html=html,
            thread_refs=list(outbound.references),
            sent_at=now,
            received_at=now,
            delivery="queued",
        )
        for ref in refs_att:
            await store.insert_attachment(
                conn,
                message_id=mid,
                filename=str(ref["filename"]),
                content_type=str(ref["content_type"]),
                size=int(ref["size"]),  # type: ignore[call-overload]
                sha256=str(ref["sha256"]),
            )
        await index_written(conn, mid, subject, body, sender_text(author, chan.address or ""))
        from omnidesk.store.outbox import enqueue

        payload = outbound_payload.dump(
            outbound, [{k: r[k] for k in ("sha256", "filename", "content_type")} for r in refs_att]
        )
        outbox_id = await enqueue(
            conn, message_id=mid, channel_id=chan.id, payload=payload, not_before=not_before, now=now
        )
        await store.bump_activity(conn, conversation_id, now=now, inbound=False)
        event = await record_event(
            conn, desk, EventKind.REPLY_QUEUED, now,
            conversation_id=conversation_id,
            after={"message_id": mid, "outbox_id": outbox_id, "channel": chan.name, "to": recipient.address},
        )
    desk.outbox_changed.notify()
    return ActionResult(
        "reply",
        (conversation_id,),
        (event,),
        f"Reply to #{conversation_id} queued via {chan.name} to {recipient.address}",
        mid,
    )


async def cancel_reply(desk: Desk, message_id: int) -> ActionResult:
    """Cancel a queued reply still in its undo window (or failed); error if it already left."""
    now = now_ms()
    async with desk.db.write() as conn:
        row = await store.outbox_row(conn, message_id)
        if row is None:
            raise NotFound(f"no queued reply with message id {message_id}")
        if not await store.cancel_outbox(conn, message_id, now):
            state = row["state"]
            reason = {
                "sending": "it is being sent right now",
                "sent": "it has been sent",
                "cancelled": "it was cancelled already",
            }.get(state, f"it is {state}")
            raise UserError(f"cannot cancel reply {message_id}: {reason}")
        message = await store.message_row(conn, message_id)
        assert message is not None
        cid = message["conversation_id"]
        event = await record_event(
            conn, desk, EventKind.REPLY_CANCELLED, now,
            conversation_id=cid,
            before={"delivery": row["state"]},
            after={"delivery": "cancelled", "message_id": message_id},
        )
    desk.outbox_changed.notify()
    return ActionResult("cancel", (cid,), (event,), f"Cancelled the reply to #{cid}", message_id)


async def retry_reply(desk: Desk, message_id: int) -> ActionResult:
    """Queue a failed reply again, now."""
    now = now_ms()
    async with desk.db.write() as conn:
        row = await store.outbox_row(conn, message_id)
        if row is None:
            raise NotFound(f"no reply with message id {message_id} in the outbox")
        if not await store.requeue_outbox(conn, message_id, now):
            raise UserError(f"cannot retry reply {message_id}: it is {row['state']}, not failed")
        message = await store.message_row(conn, message_id)
        assert message is not None
        cid = message["conversation_id"]
        event = await record_event(
            conn, desk, EventKind.REPLY_RETRIED, now,
            conversation_id=cid,
            before={"delivery": "failed", "error": row["last_error"]},
            after={"delivery": "queued", "message_id": message_id},
        )
    desk.outbox_changed.notify()
    return ActionResult("retry", (cid,), (event,), f"Queued the reply to #{cid} again", message_id)
