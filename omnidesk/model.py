"""Domain records as the rest of omnidesk sees them (read models of the store).

Plain dataclasses, no I/O. Times are epoch milliseconds (UTC), as in the
store; `omnidesk/timeutil.py` converts. Treat records as values: build a new
one with `dataclasses.replace`, never assign to a field. They are not declared
`frozen` (nor are query.py's and settings.py's) because every command defines
them at start-up, and `frozen` doubles what a definition costs: dropping it
took a tenth off `omnidesk list` as a whole process (bench/store.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Status = Literal["open", "pending", "snoozed", "resolved", "spam"]
Priority = Literal["low", "normal", "high", "urgent"]
Direction = Literal["in", "out", "note"]
Delivery = Literal["queued", "sending", "sent", "delivered", "read", "undelivered", "failed", "cancelled"]

STATUSES: tuple[Status, ...] = ("open", "pending", "snoozed", "resolved", "spam")
PRIORITIES: tuple[Priority, ...] = ("low", "normal", "high", "urgent")


@dataclass(slots=True)
class Agent:
    """A person who answers customers (a row of `agents`)."""

    id: int
    name: str
    display_name: str
    email: str | None = None
    os_user: str | None = None
    skills: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    active: bool = True
    #: (kind, address) of every identity that is this agent (its email included), sorted.
    identities: tuple[tuple[str, str], ...] = ()
    capacity: int | None = None  # most open conversations the assignment strategies give it
    away_since: int | None = None  # epoch ms; None: here
    role: str = "agent"  # agent | lead | admin (omnidesk/permissions.py)


@dataclass(slots=True)
class Identity:
    """One address of a customer on one kind of channel (email, phone, ...)."""

    id: int
    customer_id: int
    kind: str
    address: str
    display_name: str = ""
    opted_out_at: int | None = None  # epoch ms the customer opted out here (SMS STOP); None: subscribed


@dataclass(slots=True)
class Customer:
    """A person or company writing in, with every identity they use."""

    id: int
    name: str
    language: str | None = None
    timezone: str | None = None
    tier: str | None = None
    notes: str = ""
    merged_into: int | None = None
    identities: tuple[Identity, ...] = ()
    created_at: int = 0
    language_manual: bool = False  # set by an agent: detection leaves it alone


@dataclass(slots=True)
class Channel:
    """A configured inbound/outbound channel as stored."""

    id: int
    name: str
    kind: str
    address: str | None = None


@dataclass(slots=True)
class ConversationSummary:
    """One row of the inbox: everything the list shows, nothing more."""

    id: int
    subject: str
    status: Status
    priority: Priority
    customer_id: int
    customer_name: str
    customer_address: str
    channel_kind: str | None
    channel_name: str | None
    assignee: str | None  # agent name
    team: str | None
    tags: tuple[str, ...]
    message_count: int
    last_activity_at: int
    last_inbound_at: int | None
    created_at: int
    snoozed_until: int | None = None
    sla_due_at: int | None = None
    unread: bool = False
    preview: str = ""  # first line of the latest message, for conversations without subject
    sla_target: str | None = None  # first_response | next_response | resolution (omnidesk/sla/clock.py)
    sla_warn_at: int | None = None
    sla_left_ms: int | None = None  # business time left while the clock stands (pending, snoozed)


@dataclass(slots=True)
class AttachmentInfo:
    """An attachment's metadata; the bytes live in the blob store under `sha256`.

    A lazy one (`fetch_ref` set, `sha256` empty) has no bytes yet: the channel's adapter
    fetches them on first open or save (omnidesk/conversations/lazy_attachments.py).
    """

    id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    inline: bool = False
    fetch_ref: str | None = None

    @property
    def fetched(self) -> bool:
        return bool(self.sha256)


@dataclass(slots=True)
class MessageEdit:
    """A text a message showed before an edit on its channel (times: epoch ms)."""

    text: str
    html: str | None
    shown_from: int  # when that text was written
    replaced_at: int  # when the edit replaced it


@dataclass(slots=True)
class Message:
    """One message of a timeline: inbound, outbound or an internal note."""

    id: int
    conversation_id: int
    direction: Direction
    channel_id: int | None
    channel_kind: str | None  # "email", "phone", ...; None for notes
    channel_name: str | None
    external_id: str | None
    author_name: str
    author_address: str
    author_agent: str | None  # agent name for out/note
    subject: str
    text: str
    display_text: str
    sent_at: int
    sent_tz_offset: int | None
    received_at: int
    recipients: tuple[dict[str, str], ...] = ()
    html: str | None = None
    language: str | None = None
    flags: tuple[str, ...] = ()
    defects: tuple[str, ...] = ()
    meta: dict[str, object] = field(default_factory=dict)
    delivery: Delivery | None = None
    delivery_error: str | None = None
    attachments: tuple[AttachmentInfo, ...] = ()
    edited_at: int | None = None  # the text shown is an edit of this time
    deleted_at: int | None = None  # deleted on the channel; the text is kept
    edits: tuple[MessageEdit, ...] = ()  # earlier texts, oldest first


@dataclass(slots=True)
class Event:
    """One recorded change (who, what, before and after)."""

    id: int
    conversation_id: int | None
    customer_id: int | None
    agent: str | None  # agent name; None for the system
    kind: str
    before: object
    after: object
    created_at: int
    reason: str | None = None  # why its unit of work acted ("rule 'Hungarian billing'")
    via: str | None = None  # the admin who acted as `agent` (`--as`)


@dataclass(slots=True)
class TimelineEntry:
    """One line of a customer's whole story: a message, note, call or event of any conversation.

    `switched` is true when this entry's channel differs from the channel of the entry
    with a channel before it (`switched_from`): the customer moved, say, from mail to Telegram.
    """

    key: str  # keyset token of this entry: (time, kind, id)
    kind: Literal["message", "note", "call", "event"]
    at: int
    conversation_id: int | None
    channel_name: str | None
    channel_kind: str | None
    message: Message | None = None
    event: Event | None = None
    switched: bool = False
    switched_from: str | None = None  # the previous channel's name


@dataclass(slots=True)
class TimelinePage:
    """Entries oldest first; `older`/`newer` are tokens for the next pages (None: nothing there)."""

    entries: tuple[TimelineEntry, ...]
    older: str | None
    newer: str | None


@dataclass(slots=True)
class Conversation:
    """A conversation with its whole timeline, for `show` and the TUI."""

    summary: ConversationSummary
    customer: Customer
    messages: tuple[Message, ...]
    events: tuple[Event, ...]
    participants: tuple[Identity, ...] = ()
    linked_to: int | None = None
    merged_into: int | None = None


@dataclass(slots=True)
class Candidate:
    """A conversation as threading sees it (already followed through merges), looked up by the store."""

    id: int
    customer_id: int
    status: str
    last_activity_at: int
    resolved_at: int | None = None
    participant_identity_ids: frozenset[int] = frozenset()


@dataclass(slots=True)
class OutboxItem:
    """A queued outbound message and its delivery state."""

    id: int
    message_id: int
    conversation_id: int
    channel_name: str
    state: Delivery
    attempts: int
    next_attempt_at: int
    not_before: int
    last_error: str | None
    created_at: int
    to: str = ""


@dataclass(slots=True)
class SearchHit:
    """One message matched by free-text search."""

    message_id: int
    conversation_id: int
    subject: str
    author: str
    sent_at: int
    snippet: str  # plain text; highlighted spans are given by `highlights`
    highlights: tuple[tuple[int, int], ...] = ()  # (start, end) offsets into snippet
    rank: float = 0.0
