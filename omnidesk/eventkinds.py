"""Every `events.kind` omnidesk writes, in one list.

The one event writer (omnidesk/store/events.py `write_event`) refuses any other
kind, and omnidesk/conversations/eventtext.py words each of them for the
timeline, so a new kind is added here, worded there, and written through the
writer. Foundation, because the store (ingest, timers) and the services write them.
"""

from __future__ import annotations


class EventKind:
    """The `events.kind` values (the timeline shows them)."""

    # conversations and the customer's messages (ingest, the system)
    CREATED = "created"
    REOPENED = "reopened"  # a new message reopened a resolved/pending one
    LINKED = "linked"  # on the old conversation: a new one follows it
    CHANNEL_SWITCHED = "channel_switched"
    IDENTITY_LINKED = "identity_linked"
    IDENTITY_ADDED = "identity_added"
    DELIVERY_REPORT = "delivery_report"  # a mail server's report about our reply
    DELIVERY_CHANGED = "delivery_changed"  # a channel's delivery status of our reply
    MESSAGE_EDITED = "message_edited"
    MESSAGE_DELETED = "message_deleted"
    OPTED_OUT = "opted_out"  # the customer's message was an opt-out (SMS STOP): nothing is sent to them
    OPTED_IN = "opted_in"  # ... an opt-in (START) after one
    SURVEY_SENT = "survey_sent"  # a CSAT/NPS question queued (or skipped, and why) after a resolve
    SURVEY_ANSWERED = "survey_answered"  # the customer's rating: it never reopens
    SURVEY_COMMENTED = "survey_commented"  # their comment with it (one that asks something reopens)
    # agent actions (services)
    ASSIGNED = "assigned"
    TAGGED = "tagged"
    STATUS = "status"  # also the system's, when a snooze ends
    PRIORITY = "priority"
    NOTE = "note"
    NOTE_REMOVED = "note_removed"
    REPLY_QUEUED = "reply_queued"
    REPLY_CANCELLED = "reply_cancelled"
    REPLY_RETRIED = "reply_retried"
    CALL_LOGGED = "call_logged"
    MERGED = "merged"  # on the target: "#5 merged in"
    MERGED_INTO = "merged_into"  # on the source: "merged into #7"
    UNMERGED = "unmerged"
    MESSAGE_MOVED = "message_moved"
    CUSTOMER_MERGED = "customer_merged"
    CUSTOMER_UNMERGED = "customer_unmerged"
    CUSTOMER_CHANGED = "customer_changed"  # a conversation moved to another customer
    AGENT_ADDED = "agent_added"
    IDENTITY_REMOVED = "identity_removed"  # by hand (customer identity remove); added: IDENTITY_ADDED
    CUSTOMER_SET = "customer_set"  # language, timezone or tier by hand: one event per field
    # SLA escalations (the sync daemon's timers): after {"target", "policy", "due_at", "notify": [agents]}
    SLA_WARNING = "sla_warning"
    SLA_BREACHED = "sla_breached"
    # the desk answered a new conversation's first message by itself: after {"macro", "message_id", ...}
    AUTO_ACKNOWLEDGED = "auto_acknowledged"
    AGENT_DEACTIVATED = "agent_deactivated"
    AGENT_REACTIVATED = "agent_reactivated"
    ROLE_CHANGED = "role_changed"  # the config gave an agent another role
    CUSTOMER_EXPORTED = "customer_exported"  # everything held about them written to an archive
    CUSTOMER_ERASED = "customer_erased"  # their personal data removed; an anonymous shell stays
    RETENTION_APPLIED = "retention_applied"  # [retention]: raw bytes and old resolved conversations removed

    MERGE_KINDS = frozenset({MERGED, MERGED_INTO, MESSAGE_MOVED, CUSTOMER_MERGED, CUSTOMER_CHANGED})


#: Every kind above: what the writer accepts and the timeline words.
EVENT_KINDS = frozenset(v for k, v in vars(EventKind).items() if k.isupper() and isinstance(v, str))
