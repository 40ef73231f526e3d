"""Messages agents write: internal notes, queued replies (and their cancel/retry), logged calls.

A reply is a stored `out` message, its full-text row and an outbox row, all in
one transaction; the dispatcher (omnidesk/outbound/outbox.py) sends it once the undo
window has passed. Nothing here does network I/O.
"""

from __future__ import annotations

import contextlib
import mimetypes
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import aiosqlite

from adapters.base import FLAG_AUTO_REPLY, Address, Outbound, ReplyCheck
from omnidesk import blobs
from omnidesk.customers.consent import opted_out
from omnidesk.desk import Desk
from omnidesk.errors import ChannelRefusal, NotFound, ReplyCollision, UserError, shown
from omnidesk.model import Channel, Customer, Identity
from omnidesk.outbound import outbound_payload, replyfmt, signature
from omnidesk.registry import capabilities, reply_choices
from omnidesk.services.actionresult import (
    ActionResult,
    EventKind,
    agent_id,
    agent_label,
    load_conversations,
    record_event,
    require_live,
)
from omnidesk.services.sla import recomputes_sla
from omnidesk.store import actions as store
from omnidesk.store import customers as store_customers
from omnidesk.store import reads as store_reads
from omnidesk.store.channels import get_channel, get_channel_by_id, list_channels
from omnidesk.timeutil import now_ms

#: Largest reply body accepted (characters); beyond this it is surely a mistake (a pasted log file).
MAX_TEXT = 1_000_000


class ReplyRoute(NamedTuple):
    """Where a reply can go: a channel (name and kind) and the customer's address on it, of `address_kind`."""

    channel: str
    kind: str
    to: str
    address_kind: str


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


def _can_send(channel_kind: str | None) -> bool:
    return channel_kind is not None and capabilities(channel_kind).can_send


async def _reply_channel(
    desk: Desk, conv: sqlite3.Row, thread: Sequence[sqlite3.Row], name: str | None
) -> Channel:
    if name is not None:
        channel = await get_channel(desk.db, name)
        if channel is None:
            known = [c.name for c in await list_channels(desk.db) if _can_send(c.kind)]
            raise NotFound(
                f"unknown channel {name!r}",
                hint=f"known channels: {', '.join(known)}" if known else "no channels configured",
            )
        if not _can_send(channel.kind):
            able = [c.name for c in await list_channels(desk.db) if _can_send(c.kind)]
            raise UserError(
                f"replies cannot go out on the {name} channel: {channel.kind} channels send nothing",
                hint=f"channels that send: {', '.join(able)}" if able else "no channel can send",
            )
        return channel
    for cid in _default_channel_ids(conv, thread):
        channel = await get_channel_by_id(desk.db, cid)
        if channel is not None and _can_send(channel.kind):
            return channel
    raise UserError(f"#{conv['id']} has no channel to reply on", hint="pass --via CHANNEL")


def _default_channel_ids(conv: sqlite3.Row, thread: Sequence[sqlite3.Row]) -> list[int]:
    """Channels a reply goes out on by default, best first: the latest inbound message's first.

    Channels that cannot send (the phone channel of logged calls) are skipped.
    """
    sendable = [m for m in reversed(thread) if m["channel_id"] is not None and _can_send(m["channel_kind"])]
    candidates = [m["channel_id"] for m in sendable if m["direction"] == "in"]
    candidates += [conv["channel_id"]] if conv["channel_id"] is not None else []
    candidates += [m["channel_id"] for m in sendable if m["direction"] == "out"]
    return candidates


async def reply_routes(desk: Desk, conversation_id: int) -> list[ReplyRoute]:
    """Every (channel, address) a reply to this conversation can take, the one `queue_reply` picks first.

    One route per identity of the customer on each channel that can send, whose
    declared `addresses` include the identity's kind; on each channel the identity
    that wrote last comes first, and the channel of the latest inbound message
    leads. `queue_reply` accepts each as `channel=`, `to=`, and with neither
    picks the first (when the default channel reaches the customer). The console
    offers exactly these; `omnidesk reply --via` picks among them by channel.
    """
    conv, thread, customer = await _conversation(desk, conversation_id)
    channels = [c for c in await list_channels(desk.db) if _can_send(c.kind)]
    ids = {c.id for c in channels}
    default = next((cid for cid in _default_channel_ids(conv, thread) if cid in ids), None)
    channels.sort(key=lambda c: c.id != default)  # stable: the others keep their order
    routes = []
    for channel in channels:
        kinds = capabilities(channel.kind).addresses
        own = [i for i in customer.identities if i.kind in kinds]
        first = _default_identity(own, _family(thread, kinds))
        for ident in sorted(own, key=lambda i: i is not first):
            routes.append(ReplyRoute(channel.name, channel.kind, ident.address, ident.kind))
    return routes


async def _conversation(desk: Desk, conversation_id: int) -> tuple[sqlite3.Row, list[sqlite3.Row], Customer]:
    conv = await store_reads.conversation_row(desk.db, conversation_id)
    if conv is None:
        raise NotFound(f"no such conversation: #{conversation_id}")
    thread = await store_reads.thread_messages(desk.db, conversation_id)
    customer = await store_customers.get_customer(desk.db, conv["customer_id"])
    assert customer is not None
    return conv, thread, customer


def _counterpart_kind(m: sqlite3.Row) -> str | None:
    """The identity kind of the customer's side of a message: its author's, or its first recipient's."""
    if m["direction"] == "in":
        return m["author_kind"]
    import json

    with contextlib.suppress(ValueError, TypeError, IndexError, KeyError):
        return str(json.loads(m["recipients"] or "[]")[0]["kind"])
    return None


def _family(thread: Sequence[sqlite3.Row], kinds: frozenset[str]) -> list[sqlite3.Row]:
    """Messages of the thread with the customer on an identity of one of `kinds`."""
    return [m for m in thread if m["direction"] != "note" and _counterpart_kind(m) in kinds]


def _in_place(family: Sequence[sqlite3.Row], channel_id: int) -> list[sqlite3.Row]:
    """Messages whose ids mean something to `channel_id`: unscoped ids, or ids of that channel."""
    return [m for m in family if not m["scope"] or m["channel_id"] == channel_id]


async def _recipient(
    desk: Desk, conv: sqlite3.Row, family: Sequence[sqlite3.Row], chan: Channel, to: str | None
) -> Address:
    """Whom the reply on `chan` goes to: `to` (read as each kind the channel addresses), else the
    customer's identity of such a kind that wrote last; UserError naming the channel when none."""
    kinds = capabilities(chan.kind).addresses
    customer = await store_customers.get_customer(desk.db, conv["customer_id"])
    assert customer is not None
    own = [i for i in customer.identities if i.kind in kinds]
    if to is not None:
        from omnidesk.customers.identity import InvalidIdentity, normalise_typed

        problem: InvalidIdentity | None = None
        for kind in sorted(kinds, key=lambda k: not any(i.kind == k for i in own)):
            try:
                address = normalise_typed(kind, to)
            except InvalidIdentity as exc:
                problem = problem or exc
                continue
            known = next((i for i in own if i.kind == kind and i.address == address), None)
            return Address(kind, address, (known.display_name if known else "") or customer.name)
        raise problem or UserError(f"{shown(to)} is no address the {chan.name} channel sends to")
    ident = _default_identity(own, family)
    if ident is not None:
        return Address(ident.kind, ident.address, ident.display_name or customer.name)
    names = " or ".join(sorted(kinds))
    raise UserError(
        f"the {chan.name} channel cannot reach the customer of #{conv['id']}: it sends to"
        f" {names} addresses and the customer has no {names} address",
        hint="pass --to ADDRESS",
    )


def _default_identity(own: Sequence[Identity], family: Sequence[sqlite3.Row]) -> Identity | None:
    """Of the customer's identities of one kind, whoever wrote last in `family`, else the first."""
    by_id = {i.id: i for i in own}
    for m in reversed(family):
        if m["direction"] == "in" and m["author_identity_id"] in by_id:
            return by_id[m["author_identity_id"]]
    return own[0] if own else None


async def _reply_all_cc(desk: Desk, parent: sqlite3.Row | None, to: Address) -> tuple[Address, ...]:
    """Everyone on the parent message except us and the main recipient."""
    if parent is None:
        return ()
    import json

    ours = {c.address or "" for c in await list_channels(desk.db)}
    people: list[dict[str, object]] = []
    with contextlib.suppress(ValueError):
        people = [r for r in json.loads(parent["recipients"] or "[]") if isinstance(r, dict)]
    return reply_all_cc(parent["author_address"], parent["author_name"], people, to.address, to.kind, ours)


def reply_all_cc(
    author_address: str,
    author_name: str,
    recipients: Sequence[Mapping[str, object]],
    to: str,
    kind: str,
    ours: Iterable[str],
) -> tuple[Address, ...]:
    """Who a reply-all copies: the parent's author and recipients of this kind, minus `to` and us."""
    from omnidesk.customers.identity import try_normalise

    seen = {to.lower()} | {address.lower() for address in ours}
    out: list[Address] = []
    people = [{"address": author_address, "display_name": author_name, "kind": kind}, *recipients]
    for person in people:
        address = str(person.get("address") or "").strip()
        if not address or person.get("kind", kind) != kind or address.lower() in seen:
            continue
        seen.add(address.lower())
        name = str(person.get("display_name") or "")
        out.append(Address(kind, try_normalise(kind, address) or address, name))
    return tuple(out)


def copies(kind: str, given: Iterable[str], role: str, taken: Iterable[str]) -> tuple[Address, ...]:
    """Cc or Bcc addresses an agent typed (`a@x`, `Name <a@x>`, comma-separated lists), normalised.

    UserError naming the field and the first bad address. Addresses in `taken` (the To,
    earlier copies) are left out, so nobody gets two copies.
    """
    from email.utils import getaddresses

    from omnidesk.customers.identity import (
        COPY_KIND,
        InvalidIdentity,
        can_copy,
        display_name,
        normalise_typed,
    )

    # (what was typed, name, address): an error names the typed text, as getaddresses may cut it up.
    people = [(text, name, addr) for text in given if text.strip() for name, addr in getaddresses([text])
              if name.strip() or addr.strip()]
    if people and not can_copy(kind):
        raise UserError(f"{role} is for email replies; this one goes out as {kind}")
    seen = {t.lower() for t in taken}
    out: list[Address] = []
    for text, name, raw in people:
        try:
            address = normalise_typed(COPY_KIND, raw or name)
        except InvalidIdentity as exc:
            cut = (raw or name).strip() not in [part.strip() for part in text.split(",")]
            raise UserError(f"{role}: {exc}" + (f" in {shown(text)}" if cut else "")) from None
        if address not in seen:
            seen.add(address)
            out.append(Address(COPY_KIND, address, display_name(name)))
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


def reply_quote(desk: Desk, channel_kind: str, parent: Mapping[str, object] | None) -> str | None:
    """The `On ..., X wrote:` block a reply on `channel_kind` carries under its text, if any.

    Only channels with subjects (mail) quote, and only when the desk quotes
    (`quote_last_message`); `parent` is the answered message, as a row or a mapping.
    """
    if parent is None or not capabilities(channel_kind).subject or not desk.settings.desk.quote_last_message:
        return None
    return replyfmt.quote(
        str(parent["display_text"] or parent["text"]),
        author=str(parent["author_name"] or parent["author_address"]),
        sent_at=int(parent["sent_at"]),  # type: ignore[call-overload]
        tz_offset=parent["sent_tz_offset"],  # type: ignore[arg-type]
    )


def reply_sender(
    desk: Desk, channel: str, channel_kind: str, language: str | None
) -> signature.Sender:
    """The from name and signature of the acting agent's reply on `channel` (the composer shows them)."""
    caps = capabilities(channel_kind)
    return signature.sender(desk.settings, channel, agent=desk.agent, language=language,
                            has_subject=caps.subject, sends_html=caps.html)


def _stored_meta(parent: sqlite3.Row | None) -> dict[str, object]:
    """The answered message's stored inbound meta (thread, chat, visibility): the reply's context."""
    import json

    if parent is None:
        return {}
    with contextlib.suppress(ValueError, TypeError):
        meta = json.loads(parent["meta"] or "{}")
        if isinstance(meta, dict):
            return meta
    return {}


async def _channel_refusal(desk: Desk, chan: Channel, to: Address, text: str,
                           context: Mapping[str, object], template: str) -> str | None:
    """The channel's reason to refuse this reply before it is queued (adapters/base.py ReplyCheck)."""
    import json
    from datetime import UTC, datetime

    from omnidesk.registry import reply_refusal
    from omnidesk.timeutil import from_ms

    refusal = reply_refusal(chan.kind)
    if refusal is None:  # most channels refuse nothing in advance: no need to read the history
        return None
    settings = desk.settings.channel(chan.name)
    recent = []
    for sent_at, meta in await store_customers.recent_inbound(desk.db, chan.id, to.kind, to.address):
        with contextlib.suppress(ValueError):
            loaded = json.loads(meta)
            recent.append((from_ms(sent_at), loaded if isinstance(loaded, dict) else {}))
    check = ReplyCheck(text=text, to=to, context=context, recent_inbound=tuple(recent),
                       options=settings.options if settings is not None else {}, now=datetime.now(UTC),
                       template=template)
    return refusal(check)


def reply_templates(desk: Desk, channel: str) -> tuple[str, ...]:
    """The approved templates a reply on the configured `channel` may be sent as (WhatsApp's), by
    name, as its adapter reads them from the channel's options; empty when it has none."""
    from omnidesk.registry import reply_templates as declared

    settings = desk.settings.channel(channel)
    return declared(settings.kind, settings.options) if settings is not None else ()


def template_variables(given: Sequence[str], option: str = "") -> dict[str, str]:
    """`KEY=VALUE` items (a template's variables) as a mapping; UserError naming one without `=`.
    `option` is how they were given (`--var `), for the message."""
    out: dict[str, str] = {}
    for item in given:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"{option}{item!r} is not KEY=VALUE (for example {option}1=Anna)")
        out[key.strip()] = value
    return out


def _checked_choices(chan: Channel, choices: Mapping[str, str]) -> dict[str, str]:
    """`choices` if the channel's adapter declares each key and value; else UserError naming it."""
    allowed = reply_choices(chan.kind)
    for key, value in choices.items():
        if key not in allowed:
            raise UserError(f"the {chan.name} channel ({chan.kind}) has no {key} to choose for a reply")
        if value not in allowed[key]:
            raise UserError(f"{key} {shown(value)} is not one of {', '.join(allowed[key])}")
    return dict(choices)


@recomputes_sla
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
    template: str = "",
    template_variables: Mapping[str, str] | None = None,
    choices: Mapping[str, str] | None = None,
    automatic: bool = False,
) -> ActionResult:
    """Store an `out` message plus an outbox row (one transaction); the dispatcher sends it.

    By default it goes through the channel of the latest inbound message to the
    customer's identity on that channel; `channel`/`to` pick another. `reply_all`
    copies everyone on the last inbound message but us; `cc` and `bcc` add email
    addresses (Bcc ones go in the envelope only). Sending waits
    desk.settings.desk.undo_seconds, during which `cancel_reply` stops it.
    If another agent replied after the acting agent last read the conversation,
    `ReplyCollision` is raised and nothing is stored, unless `force`.
    `template` names an approved template of the channel (WhatsApp) sent instead of the text,
    with `template_variables`. Nothing is stored, and UserError says why, when the customer
    opted out on that address or the channel says it would refuse the reply (`reply_refusal`).
    `choices` are what the agent chose for this reply among the channel's declared
    `reply_choices` (Mastodon's visibility); they reach the adapter in `Outbound.meta`.
    `automatic` marks a message the desk wrote by itself (an automatic acknowledgement): flagged
    `auto-reply`, it is no response to the customer (SLA, first response), and the channel says so.
    """
    text = _check_text(text, "reply")
    variables = dict(template_variables or {})
    if template and not text.strip():
        text = f"[template {template}" + "".join(f" {k}={v}" for k, v in variables.items()) + "]"
    if not text.strip() and not attachments:
        raise UserError("the reply is empty")
    conv = await store_reads.conversation_row(desk.db, conversation_id)
    if conv is None:
        raise NotFound(f"no such conversation: #{conversation_id}")
    require_live(conv)
    thread = await store_reads.thread_messages(desk.db, conversation_id)
    chan = await _reply_channel(desk, conv, thread, channel)
    caps = capabilities(chan.kind)
    chosen = _checked_choices(chan, choices or {})
    family = _family(thread, caps.addresses)
    recipient = await _recipient(desk, conv, family, chan, to)
    # Ids the channel can answer: unscoped ones (Message-IDs) from anywhere, scoped ones of its own.
    here = _in_place(family, chan.id)
    inbound = [m for m in here if m["direction"] == "in"]
    parent = inbound[-1] if inbound else None
    in_reply_to = parent["external_id"] if parent is not None else None
    refusal = await opted_out(desk, [recipient])
    if refusal is not None:
        raise UserError(f"the reply is not queued: {refusal}")
    refusal = await _channel_refusal(desk, chan, recipient, text, _stored_meta(parent), template)
    if refusal is not None:
        raise ChannelRefusal(f"the reply is not queued: {refusal}",
                             () if template else reply_templates(desk, chan.name))
    # Only ids that really went out (or came in) belong in References.
    refs = [m["external_id"] for m in here
            if m["external_id"] and (m["direction"] == "in" or m["delivery"] == "sent")]
    subject = (
        replyfmt.reply_subject(
            conv["subject"] or (parent["subject"] if parent is not None else ""),
            conversation_id,
            token=desk.settings.desk.subject_token,
        )
        if caps.subject
        else ""  # a chat message has no subject: none is sent, none is shown on its timeline entry
    )
    quoted = reply_quote(desk, chan.kind, parent)
    customer = await store_customers.get_customer(desk.db, conv["customer_id"])
    signer = reply_sender(desk, chan.name, chan.kind, customer.language if customer is not None else None)
    body = replyfmt.with_quote(signature.signed(text, signer.signature, signer.separator), quoted)
    html = signature.signed_html(text, html, signer.signature_html, quoted)
    copied = await _reply_all_cc(desk, parent, recipient) if reply_all else ()
    copied += copies(recipient.kind, cc, "Cc", [recipient.address, *(a.address for a in copied)])
    hidden = copies(recipient.kind, bcc, "Bcc", [recipient.address, *(a.address for a in copied)])
    refs_att = _read_attachments(desk, attachments)
    message_ref = replyfmt.new_message_ref(chan.address)
    author = agent_label(desk)
    outbound = Outbound(
        message_ref=message_ref,
        to=(recipient,),
        text=body,
        subject=subject,
        from_address=Address(recipient.kind, chan.address, signer.from_name) if chan.address else None,
        cc=copied,
        bcc=hidden,
        html=html,
        in_reply_to=in_reply_to,
        references=replyfmt.references(refs, in_reply_to),
        meta={**chosen, "conversation_id": conversation_id, "channel": chan.name},
        scope=parent["scope"] if parent is not None else "",
        context=_stored_meta(parent),
        template=template,
        template_variables=variables,
        automatic=automatic,
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
            flags=[FLAG_AUTO_REPLY] if automatic else [],
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
    desk.db.after_commit(desk.outbox_changed.notify)  # inside a unit of work: once it commits
    return ActionResult(
        "reply",
        (conversation_id,),
        (event,),
        f"Reply to #{conversation_id} queued via {chan.name} to {recipient.address}",
        mid,
    )


@recomputes_sla
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
    desk.db.after_commit(desk.outbox_changed.notify)
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
    desk.db.after_commit(desk.outbox_changed.notify)
    return ActionResult("retry", (cid,), (event,), f"Queued the reply to #{cid} again", message_id)
