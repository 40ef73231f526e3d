"""The stable machine-readable schema: read models -> plain dicts, in a fixed key order.

Times are ISO 8601 UTC strings (`2026-11-20T09:15:00Z`) or null; lists stay
lists; text is the stored text, unmodified (JSON escapes control characters;
tsv escapes them too). Adding a key is allowed; renaming or removing one is a
breaking change (docs/cli.md lists them; tests/cli/golden pins them).
"""

from __future__ import annotations

from typing import Any

from omnidesk.model import (
    Agent,
    Conversation,
    ConversationSummary,
    Customer,
    Event,
    Message,
    OutboxItem,
    SearchHit,
    TimelineEntry,
)
from omnidesk.timeutil import iso

CONVERSATION_FIELDS = (
    "id", "subject", "status", "priority", "customer_id", "customer_name", "customer_address",
    "channel", "channel_kind", "assignee", "team", "tags", "message_count", "unread",
    "last_activity_at", "last_inbound_at", "created_at", "snoozed_until", "sla_due_at", "preview",
    "sla_target", "sla_warn_at", "sla_left_seconds",
)


def conversation_summary(s: ConversationSummary) -> dict[str, Any]:
    return {
        "id": s.id,
        "subject": s.subject,
        "status": s.status,
        "priority": s.priority,
        "customer_id": s.customer_id,
        "customer_name": s.customer_name,
        "customer_address": s.customer_address,
        "channel": s.channel_name,
        "channel_kind": s.channel_kind,
        "assignee": s.assignee,
        "team": s.team,
        "tags": list(s.tags),
        "message_count": s.message_count,
        "unread": s.unread,
        "last_activity_at": iso(s.last_activity_at),
        "last_inbound_at": iso(s.last_inbound_at),
        "created_at": iso(s.created_at),
        "snoozed_until": iso(s.snoozed_until),
        "sla_due_at": iso(s.sla_due_at),
        "preview": s.preview,
        "sla_target": s.sla_target,
        "sla_warn_at": iso(s.sla_warn_at),
        "sla_left_seconds": None if s.sla_left_ms is None else s.sla_left_ms // 1000,
    }


MESSAGE_FIELDS = (
    "id", "conversation_id", "direction", "channel", "channel_kind", "external_id", "author_name",
    "author_address", "author_agent", "subject", "text", "sent_at", "received_at", "delivery",
    "delivery_error", "flags", "attachments", "edited_at", "deleted_at",
)


def message(m: Message) -> dict[str, Any]:
    return {
        "id": m.id,
        "conversation_id": m.conversation_id,
        "direction": m.direction,
        "channel": m.channel_name,
        "channel_kind": m.channel_kind,
        "external_id": m.external_id,
        "author_name": m.author_name,
        "author_address": m.author_address,
        "author_agent": m.author_agent,
        "subject": m.subject,
        "text": m.text,
        "display_text": m.display_text,
        "sent_at": iso(m.sent_at),
        "received_at": iso(m.received_at),
        "recipients": [dict(r) for r in m.recipients],
        "language": m.language,
        "flags": list(m.flags),
        "defects": list(m.defects),
        "meta": dict(m.meta),
        "delivery": m.delivery,
        "delivery_error": m.delivery_error,
        "attachments": [
            {"id": a.id, "filename": a.filename, "content_type": a.content_type, "size": a.size,
             "sha256": a.sha256, "inline": a.inline}
            for a in m.attachments
        ],
        "edited_at": iso(m.edited_at),
        "deleted_at": iso(m.deleted_at),
        "edits": [{"text": e.text, "html": e.html, "shown_from": iso(e.shown_from),
                   "replaced_at": iso(e.replaced_at)} for e in m.edits],
    }


EVENT_FIELDS = ("id", "conversation_id", "customer_id", "agent", "kind", "before", "after", "created_at")


def event(e: Event) -> dict[str, Any]:
    return {
        "id": e.id,
        "conversation_id": e.conversation_id,
        "customer_id": e.customer_id,
        "agent": e.agent,
        "via": e.via,
        "kind": e.kind,
        "before": e.before,
        "after": e.after,
        "created_at": iso(e.created_at),
    }


TIMELINE_FIELDS = (
    "key", "kind", "at", "conversation_id", "channel", "channel_kind", "switched", "switched_from",
    "author", "text", "event_kind",
)


def timeline_entry(e: TimelineEntry, sentence: str = "") -> dict[str, Any]:
    """One entry of a customer's timeline; `sentence` words an event (eventtext.describe).

    Machine formats get the message's text or the event's sentence in `text`; json/nl also
    the whole `message` or `event` object.
    """
    m = e.message
    if m is not None:
        author = m.author_agent or m.author_name or m.author_address
        text = m.display_text
    else:
        author = e.event.agent if e.event is not None else None
        text = sentence
    row: dict[str, Any] = {
        "key": e.key,
        "kind": e.kind,
        "at": iso(e.at),
        "conversation_id": e.conversation_id,
        "channel": e.channel_name,
        "channel_kind": e.channel_kind,
        "switched": e.switched,
        "switched_from": e.switched_from,
        "author": author,
        "text": text,
        "event_kind": e.event.kind if e.event is not None else None,
    }
    if m is not None:
        row["message"] = message(m)
    elif e.event is not None:
        row["event"] = event(e.event)
    return row


def identity_list(c: Customer) -> list[dict[str, Any]]:
    return [{"id": i.id, "kind": i.kind, "address": i.address, "display_name": i.display_name,
             "opted_out_at": iso(i.opted_out_at)} for i in c.identities]


CUSTOMER_FIELDS = ("id", "name", "language", "timezone", "tier", "merged_into", "identities", "created_at")


def customer(c: Customer) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "language": c.language,
        "timezone": c.timezone,
        "tier": c.tier,
        "notes": c.notes,
        "merged_into": c.merged_into,
        "identities": identity_list(c),
        "created_at": iso(c.created_at),
    }


def customer_flat(c: Customer) -> dict[str, Any]:
    """For tsv/csv: identities as `kind:address` strings."""
    row = customer(c)
    row["identities"] = [f"{i.kind}:{i.address}" for i in c.identities]
    return row


def conversation(c: Conversation) -> dict[str, Any]:
    """`show --json`: the summary fields plus the customer, timeline and participants."""
    row = conversation_summary(c.summary)
    row["linked_to"] = c.linked_to
    row["merged_into"] = c.merged_into
    row["customer"] = customer(c.customer)
    row["participants"] = [{"id": i.id, "kind": i.kind, "address": i.address,
                            "display_name": i.display_name} for i in c.participants]
    row["messages"] = [message(m) for m in c.messages]
    row["events"] = [event(e) for e in c.events]
    return row


AGENT_FIELDS = ("id", "name", "display_name", "email", "os_user", "role", "skills", "teams", "active",
                "identities", "capacity", "away_since")


def agent(a: Agent) -> dict[str, Any]:
    return {
        "id": a.id,
        "name": a.name,
        "display_name": a.display_name,
        "email": a.email,
        "os_user": a.os_user,
        "role": a.role,
        "skills": list(a.skills),
        "teams": list(a.teams),
        "active": a.active,
        "identities": [f"{kind}:{address}" for kind, address in a.identities],
        "capacity": a.capacity,
        "away_since": iso(a.away_since),
    }


OUTBOX_FIELDS = ("id", "message_id", "conversation_id", "channel", "to", "state", "attempts",
                 "not_before", "next_attempt_at", "last_error", "created_at")


def outbox_item(o: OutboxItem) -> dict[str, Any]:
    return {
        "id": o.id,
        "message_id": o.message_id,
        "conversation_id": o.conversation_id,
        "channel": o.channel_name,
        "to": o.to,
        "state": o.state,
        "attempts": o.attempts,
        "not_before": iso(o.not_before),
        "next_attempt_at": iso(o.next_attempt_at),
        "last_error": o.last_error,
        "created_at": iso(o.created_at),
    }


HIT_FIELDS = ("message_id", "conversation_id", "subject", "author", "sent_at", "snippet", "rank")


def search_hit(h: SearchHit) -> dict[str, Any]:
    return {
        "message_id": h.message_id,
        "conversation_id": h.conversation_id,
        "subject": h.subject,
        "author": h.author,
        "sent_at": iso(h.sent_at),
        "snippet": h.snippet,
        "highlights": [list(span) for span in h.highlights],
        "rank": h.rank,
    }


ACTION_FIELDS = ("action", "conversation_ids", "event_ids", "message_id", "description")


def action_result(r: Any) -> dict[str, Any]:
    return {
        "action": r.action,
        "conversation_ids": list(r.conversation_ids),
        "event_ids": list(r.event_ids),
        "message_id": r.message_id,
        "description": r.description,
    }
