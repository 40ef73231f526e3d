"""SQL for ingest: one batch of prepared records persisted in one transaction.

`write_batch` runs as plain sqlite3 code in aiosqlite's worker thread (via
`call_sync`), inside the caller's BEGIN IMMEDIATE transaction: a batch of 500
makes a few thousand tiny lookups and inserts, which cost microseconds each
there but far more as separate round trips through aiosqlite's queue.
Who wrote each record and where it goes is decided above the store
(omnidesk/inbound/placement.py, run here per record through `Lookups`); this module
only answers those questions and writes what it was told.
"""

from __future__ import annotations

import json
import operator
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field, fields

import aiosqlite

from adapters.base import FLAG_OPT_IN, FLAG_OPT_OUT
from omnidesk import textindex
from omnidesk.model import Candidate
from omnidesk.store import references, refusals, routing
from omnidesk.store.db import Database
from omnidesk.store.events import write_event
from omnidesk.store.identities import (
    add_participant,
    call_sync,
    create_customer,
    create_identity,
    find_identity,
    own_addresses,
)
from omnidesk.store.surveys import Survey, rate
from omnidesk.store.surveys import pending as pending_survey
from omnidesk.store.updates import PreparedUpdate, UpdateOutcome, apply_pending, has_pending
from omnidesk.store.updates import apply as apply_updates

_MAX_HOPS = 32
#: Record flags that also mark the conversation they start (never answer automatically).
CONVERSATION_FLAGS = ("auto-reply", "bounce", "list")


@dataclass(slots=True)
class PreparedAttachment:
    filename: str
    content_type: str
    size: int
    sha256: str
    content_id: str | None
    inline: bool
    fetch_ref: str | None = None  # lazy: no blob yet (sha256 ""), fetched on first open


@dataclass(slots=True)
class PreparedRecord:
    """One Inbound, normalised and serialised outside the transaction (omnidesk/inbound/ingest.py)."""

    external_id: str
    sender_kind: str
    sender_address: str | None  # normalised; None when the raw address is not valid
    sender_raw: str  # as the channel gave it
    sender_name: str
    subject: str
    conversation_subject: str  # subject without our [#N] token
    text: str
    display_text: str  # "" when the same as text (most mail); reads give the text back
    html: str | None
    language: str | None
    recipients: list[dict[str, str]]  # [{"kind","address","display_name","role"}], normalised
    recipients_json: str
    thread_refs: tuple[str, ...]
    thread_refs_json: str
    flags: tuple[str, ...]
    flags_json: str
    defects_json: str
    meta_json: str
    raw_sha256: str | None
    raw_packed: bytes | None  # raw bytes compressed for raw_messages; None: no raw, or a blob file
    raw_size: int
    content_hash: str
    has_raw: bool
    at: int  # sent_at clamped to now
    sent_at: int
    sent_tz_offset: int | None
    token: int | None
    chat_like: bool
    quarantined: bool
    own_echo: bool
    fts: tuple[str, str, str]  # prepared subject, body, sender
    automated: bool = False  # an auto-reply or bounce: joins without reopening, not a customer reply
    report: dict[str, object] | None = None  # a delivery report: message_ref, state, status, ...
    attachments: list[PreparedAttachment] = field(default_factory=list)
    #: (kind, normalised address, display name) of other identities the sender showed.
    also_known_as: tuple[tuple[str, str, str], ...] = ()
    scope: str = ""  # where external_id, also_ids and thread_refs are unique (adapters/base.py)
    also_ids: tuple[str, ...] = ()  # further ids the channel gave the message
    #: `language` is sure enough to become the customer's (the adapter's, or a confident detection).
    language_confident: bool = False

    @property
    def ids(self) -> tuple[str, ...]:
        """Every id the channel gave the message, its external id first."""
        return (self.external_id, *self.also_ids) if self.also_ids else (self.external_id,)

    def __reduce__(self) -> tuple[type[PreparedRecord], tuple[object, ...]]:
        # Import workers send these to the parent by the thousand: a plain tuple of the fields
        # pickles in half the time of the dataclass default (state set field by field).
        return PreparedRecord, _record_values(self)


_record_values = operator.attrgetter(*(f.name for f in fields(PreparedRecord)))


@dataclass(slots=True)
class NewCustomer:
    """A customer to create, with a first identity unless the sender's address was unparsable."""

    name: str
    kind: str | None = None
    address: str | None = None
    is_author: bool = True  # the identity wrote the message (not the customer of our own copy)


@dataclass(slots=True)
class KnownAs:
    """An identity the sender also showed (Inbound.also_known_as): one nobody has is added to the
    customer; one that is already the customer's brought the sender there (`linked`)."""

    kind: str
    address: str
    display_name: str = ""
    linked: bool = False


@dataclass(slots=True)
class Placement:
    """What to write for one record, as decided above the store (omnidesk/inbound/placement.py)."""

    conversation_id: int | None  # None: a new conversation, linked to `linked_to`
    rule: str  # the threading rule, recorded on the conversation's events
    customer: int | NewCustomer
    identity_id: int | None = None  # the author's identity, when known
    ours: bool = False  # sent by the desk itself: stored as an `out` message of `agent_id`
    agent_id: int | None = None
    linked_to: int | None = None
    reopen: bool = False
    add_participant: bool = False  # the author joins someone else's conversation
    name: str = ""  # a known customer without a name takes this one
    known_as: tuple[KnownAs, ...] = ()
    #: The author's identity joins `customer`: moved from this customer (-1: it is created there).
    identity_moves_from: int | None = None
    #: The message answers this survey with this rating: stored as the answer, reopening nothing.
    rating: tuple[Survey, int] | None = None


@dataclass(slots=True)
class BatchOutcome:
    imported: int = 0
    duplicates: int = 0
    quarantined: int = 0
    conversation_ids: list[int] = field(default_factory=list)
    message_ids: list[int] = field(default_factory=list)
    decisions: list[str] = field(default_factory=list)  # per imported record: the rule used
    #: (index in the batch, reason) of every record stored quarantined, refused ones included.
    quarantine: list[tuple[int, str]] = field(default_factory=list)
    updates: UpdateOutcome = field(default_factory=UpdateOutcome)


# -- FTS ----------------------------------------------------------------------------------------


def fts_values(subject: str, text: str, sender: str) -> tuple[str, str, str]:
    """The three FTS columns for a message, split by omnidesk.textindex."""
    return textindex.prepare(subject), textindex.prepare(text), textindex.prepare(sender)


async def index_message(conn: aiosqlite.Connection, message_id: int, subject: str, text: str,
                        sender: str) -> None:
    """Add an `out` or `note` message to the full-text index (inside the caller's transaction).

    `sender` is the author as searched: e.g. "Alice Smith alice@example.com".
    """
    await conn.execute(
        "INSERT INTO message_fts (rowid, subject, body, sender) VALUES (?, ?, ?, ?)",
        (message_id, *fts_values(subject, text, sender)),
    )


async def unindex_message(conn: aiosqlite.Connection, message_id: int, subject: str, text: str,
                          sender: str) -> None:
    """Remove a message from the contentless index: the same values it was indexed with."""
    await conn.execute(
        "INSERT INTO message_fts (message_fts, rowid, subject, body, sender) VALUES ('delete', ?, ?, ?, ?)",
        (message_id, *fts_values(subject, text, sender)),
    )


async def known_external_ids(db: Database, channel_id: int,
                             keys: list[references.Key]) -> set[references.Key]:
    """Which (scope, id) of `keys` are references held on the channel (a read, outside any transaction)."""
    known: set[references.Key] = set()
    by_scope: dict[str, set[str]] = {}
    for scope, ref in keys:
        by_scope.setdefault(scope, set()).add(ref)
    for scope, refs in by_scope.items():
        for chunk in _chunks(sorted(refs)):
            marks = ",".join("?" * len(chunk))
            rows = await db.fetchall(
                f"SELECT ref FROM message_refs WHERE scope = ? AND ref IN ({marks}) AND channel_id = ?",
                (scope, *chunk, channel_id))
            known.update((scope, r[0]) for r in rows)
    return known


async def channel_external_ids(db: Database, channel_id: int) -> set[str]:
    """Every unscoped reference held on the channel (a read; a re-run import skips these unparsed)."""
    rows = await db.fetchall("SELECT ref FROM message_refs WHERE scope = '' AND channel_id = ?",
                             (channel_id,))
    return {r[0] for r in rows}


# -- the batch ----------------------------------------------------------------------------------


class Lookups:
    """The questions placement asks about one record, answered inside the batch's transaction."""

    def __init__(self, c: sqlite3.Connection, channel_id: int) -> None:
        self._c = c
        self._channel_id = channel_id
        #: (kind, address) that are the desk itself: channel addresses (-> None), agents' identities (-> id).
        self.own = own_addresses(c)

    def identity(self, kind: str, address: str) -> tuple[int, int] | None:
        """(identity_id, current customer_id) for a normalised address, or None."""
        return find_identity(self._c, kind, address)

    def by_reference(self, refs: tuple[str, ...], scope: str = "") -> Candidate | None:
        """The conversation of the most specific of `refs` (in `scope`) we know (same channel preferred)."""
        return _by_reference(self._c, self._channel_id, refs, scope)

    def conversation(self, conversation_id: int) -> Candidate | None:
        """Conversation #N (followed through merges) with its participants, or None."""
        return _candidate(self._c, conversation_id, participants=True)

    def latest(self, customer_id: int) -> Candidate | None:
        """The customer's most recently active conversation."""
        return _latest(self._c, customer_id)

    def survey(self, conversation_id: int, at: int) -> Survey | None:
        """The conversation's survey waiting for an answer at `at`, if any."""
        return pending_survey(self._c, conversation_id, at)


#: Decides one record's Placement from its answers (pure code above the store).
Place = Callable[[Lookups, PreparedRecord], Placement]


async def write_batch(conn: aiosqlite.Connection, channel_id: int, records: list[PreparedRecord],
                      cursor: str | None, place: Place, now: int, *,
                      careful: bool = False, updates: list[PreparedUpdate] | None = None) -> BatchOutcome:
    """Persist `records` where `place` puts them, then `updates`, and `cursor`; call inside
    `async with db.write() as conn`.

    `place` runs per record in the worker thread, so it sees the records before it in the batch.

    A record the store refuses raises `refusals.RecordRefused` (roll back, then write the
    batch again `careful`ly); `careful` puts each record in a savepoint and stores a refused
    one as a quarantined copy. Savepoints are not free, so only a batch that needs them pays.
    """
    return await call_sync(conn, _write_batch, channel_id, records, cursor, place, now, careful,
                           updates or [])


def _write_batch(c: sqlite3.Connection, channel_id: int, records: list[PreparedRecord],
                 cursor: str | None, place: Place, now: int, careful: bool,
                 updates: list[PreparedUpdate]) -> BatchOutcome:
    out = BatchOutcome()
    ask = Lookups(c, channel_id)
    seen = _Seen.load(c, channel_id, records)
    pending = has_pending(c, channel_id)
    named: set[int] = set()  # customers whose name was checked in this batch
    touched: dict[int, None] = {}
    raws: list[tuple[str | None, int, bytes]] = []
    for index, rec in enumerate(records):
        if seen.is_duplicate(rec):
            out.duplicates += 1
            continue
        if careful:
            rec, (conversation_id, message_id, rule) = _ingest_guarded(c, channel_id, rec, ask, place, now,
                                                                       named)
        else:
            try:
                conversation_id, message_id, rule = _ingest_one(c, channel_id, rec, ask, place, now, named)
            except Exception as exc:
                if not refusals.is_refusal(exc):
                    raise
                raise refusals.RecordRefused(index, exc) from exc
        seen.add(rec)
        if pending:
            apply_pending(c, channel_id, rec.scope, rec.ids, now)
        if rec.raw_packed is not None:
            raws.append((rec.raw_sha256, rec.raw_size, rec.raw_packed))
        out.imported += 1
        if rec.quarantined:
            out.quarantined += 1
            out.quarantine.append((index, refusals.first_defect(rec)))
        out.message_ids.append(message_id)
        out.decisions.append(rule)
        touched[conversation_id] = None
    out.conversation_ids = list(touched)
    if updates:
        out.updates = apply_updates(c, channel_id, updates, now)
    # Keyed by content: the same bytes on another channel (or another id) are stored once.
    c.executemany("INSERT OR IGNORE INTO raw_messages (sha256, size, data) VALUES (?, ?, ?)", raws)
    if cursor is not None:
        c.execute(
            "INSERT INTO cursors (channel_id, value, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (channel_id) DO UPDATE SET value = excluded.value,"
            " updated_at = excluded.updated_at",
            (channel_id, cursor, now),
        )
    return out


def _chunks(values: list[str], size: int = 500) -> list[list[str]]:
    return [values[i : i + size] for i in range(0, len(values), size)]


@dataclass(slots=True)
class _Seen:
    """What the store already holds for a batch's ids and hashes, fetched in a few bulk queries.

    A record is a duplicate when one of its ids is a reference held on this channel in its
    scope, when it is our own message read back (an id that is a reference of an `out`
    message: in its scope on this channel, or unscoped on any channel, as our mail coming
    back through another mailbox), or when its raw bytes were already stored on this channel
    under another id. Content hashes count only for records with raw bytes (email): two chat
    messages "ok" from one person are two messages, but the same raw mail under a new UID
    (an IMAP UIDVALIDITY change) is one.
    """

    keys: set[references.Key]
    hashes: set[str]

    @classmethod
    def load(cls, c: sqlite3.Connection, channel_id: int, records: list[PreparedRecord]) -> _Seen:
        wanted: dict[str, set[str]] = {}
        for r in records:
            wanted.setdefault(r.scope, set()).update(r.ids)
        keys = {(scope, ref) for scope, refs in wanted.items()
                for ref, chan, (direction,) in references.matches(c, channel_id, scope, list(refs),
                                                                  "m.direction")
                if chan == channel_id or direction == "out"}
        hashes: set[str] = set()
        for chunk in _chunks(list({r.content_hash for r in records if r.has_raw})):
            marks = ",".join("?" * len(chunk))
            hashes.update(r[0] for r in c.execute(
                f"SELECT content_hash FROM messages WHERE channel_id = ? AND content_hash IN ({marks})",
                (channel_id, *chunk)))
        return cls(keys, hashes)

    def is_duplicate(self, rec: PreparedRecord) -> bool:
        return (rec.own_echo or any((rec.scope, ref) in self.keys for ref in rec.ids)
                or (rec.has_raw and rec.content_hash in self.hashes))

    def add(self, rec: PreparedRecord) -> None:
        self.keys.update((rec.scope, ref) for ref in rec.ids)
        if rec.has_raw:
            self.hashes.add(rec.content_hash)


def _candidate(c: sqlite3.Connection, conversation_id: int, *,
               participants: bool = False) -> Candidate | None:
    for _ in range(_MAX_HOPS):
        row = c.execute(
            "SELECT id, customer_id, status, last_activity_at, resolved_at, merged_into"
            " FROM conversations WHERE id = ?",
            (conversation_id,),
        ).fetchone()
        if row is None:
            return None
        if row[5] is None:
            break
        conversation_id = row[5]
    ids: frozenset[int] = frozenset()
    if participants:
        ids = frozenset(r[0] for r in c.execute(
            "SELECT identity_id FROM participants WHERE conversation_id = ?", (row[0],)))
    return Candidate(row[0], row[1], row[2], row[3], row[4], ids)


def _by_reference(c: sqlite3.Connection, channel_id: int, refs: tuple[str, ...],
                  scope: str) -> Candidate | None:
    """The conversation of the most specific reference we know (same channel preferred)."""
    refs = refs[-50:]  # References headers can be very long; the recent end matters
    found = references.resolve(c, channel_id, scope, refs, "m.conversation_id")
    for ref in reversed(refs):
        if ref in found:
            return _candidate(c, found[ref][0])
    return None


def _latest(c: sqlite3.Connection, customer_id: int) -> Candidate | None:
    row = c.execute(
        "SELECT id FROM conversations WHERE customer_id = ? AND merged_into IS NULL AND quarantined = 0"
        " ORDER BY last_activity_at DESC, id DESC LIMIT 1",
        (customer_id,),
    ).fetchone()
    return None if row is None else _candidate(c, row[0])


def _ingest_one(c: sqlite3.Connection, channel_id: int, rec: PreparedRecord, ask: Lookups, place: Place,
                now: int, named: set[int]) -> tuple[int, int, str]:
    placement = place(ask, rec)
    identity_id = placement.identity_id
    if isinstance(placement.customer, NewCustomer):
        new = placement.customer
        customer_id = create_customer(c, new.name, now)
        if new.kind is not None and new.address is not None:
            created = create_identity(c, customer_id, new.kind, new.address, new.name, now)
            if new.is_author:
                identity_id = created
    else:
        customer_id = placement.customer
        if placement.name and customer_id not in named:
            named.add(customer_id)
            c.execute("UPDATE customers SET name = ?, updated_at = ? WHERE id = ? AND name = ''",
                      (placement.name, now, customer_id))

    if placement.identity_moves_from is not None:
        identity_id = _join_identity(c, rec, customer_id, identity_id, now)
    for known in placement.known_as:
        if not known.linked:
            c.execute("INSERT INTO identities (customer_id, kind, address, display_name, created_at)"
                      " VALUES (?, ?, ?, ?, ?) ON CONFLICT (kind, address) DO NOTHING",
                      (customer_id, known.kind, known.address, known.display_name, now))

    if placement.conversation_id is None:
        conversation_id = _new_conversation(c, channel_id, rec, customer_id, placement)
    else:
        conversation_id = placement.conversation_id
    message_id = _insert_message(c, channel_id, conversation_id, rec, identity_id, placement.agent_id,
                                 placement.ours, now)
    if placement.conversation_id is not None:
        _touch_conversation(c, conversation_id, channel_id, rec, placement, message_id)
    if rec.language_confident and not placement.ours and not rec.automated and not rec.quarantined:
        # The customer's language follows their latest confident message, unless set by hand.
        c.execute("UPDATE customers SET language = ? WHERE id = ? AND language_manual = 0"
                  " AND language IS NOT ?", (rec.language, customer_id, rec.language))
    if rec.report is not None:
        _apply_report(c, channel_id, rec, rec.report, message_id)
    if placement.add_participant and identity_id is not None:
        add_participant(c, conversation_id, identity_id)
    if placement.known_as:
        _known_as_events(c, conversation_id, customer_id, rec, placement)
    if placement.rating is not None:
        rate(c, *placement.rating, rec.at, via="message", message_id=message_id)
    if identity_id is not None and not placement.ours and {FLAG_OPT_OUT, FLAG_OPT_IN} & set(rec.flags):
        _consent(c, conversation_id, customer_id, identity_id, rec, message_id)
    if not placement.ours:  # routing rules look at it after the commit, even after a crash
        trigger = "new_conversation" if placement.conversation_id is None else "inbound_message"
        routing.add_pending(c, conversation_id, message_id, trigger, now)
    return conversation_id, message_id, placement.rule


def _consent(c: sqlite3.Connection, conversation_id: int, customer_id: int, identity_id: int,
             rec: PreparedRecord, message_id: int) -> None:
    """An opt-out (STOP) or opt-in (START) marks the author's identity once, unless a newer one came first."""
    out = FLAG_OPT_OUT in rec.flags
    cur = c.execute(
        "UPDATE identities SET opted_out_at = ?, consent_at = ? WHERE id = ? AND coalesce(consent_at, 0) <= ?"
        f" AND opted_out_at IS {'NULL' if out else 'NOT NULL'}",
        (rec.at if out else None, rec.at, identity_id, rec.at))
    if cur.rowcount:
        write_event(c, conversation_id, customer_id, "opted_out" if out else "opted_in", None,
                    {"kind": rec.sender_kind, "address": rec.sender_address, "message_id": message_id},
                    rec.at)


def _join_identity(c: sqlite3.Connection, rec: PreparedRecord, customer_id: int, identity_id: int | None,
                   now: int) -> int | None:
    """The author's identity, moved to (or created on) the customer another identity linked it to."""
    if identity_id is not None:
        c.execute("UPDATE identities SET customer_id = ? WHERE id = ?", (customer_id, identity_id))
        return identity_id
    if rec.sender_address is None:
        return None
    return create_identity(c, customer_id, rec.sender_kind, rec.sender_address, rec.sender_name, now)


def _known_as_events(c: sqlite3.Connection, conversation_id: int, customer_id: int, rec: PreparedRecord,
                     placement: Placement) -> None:
    """Why the sender is this customer, and which identities it gained: on the timeline."""
    moved_from = placement.identity_moves_from
    for known in placement.known_as:
        if known.linked:
            write_event(c, conversation_id, customer_id, "identity_linked",
                         {"customer_id": moved_from if moved_from and moved_from > 0 else None},
                         {"kind": rec.sender_kind, "address": rec.sender_address or rec.sender_raw,
                          "by_kind": known.kind, "by_address": known.address,
                          "channel_kind": rec.sender_kind},
                         rec.at)
        else:
            write_event(c, conversation_id, customer_id, "identity_added", None,
                         {"kind": known.kind, "address": known.address, "channel_kind": rec.sender_kind},
                         rec.at)


def _ingest_guarded(c: sqlite3.Connection, channel_id: int, rec: PreparedRecord, ask: Lookups, place: Place,
                          now: int, named: set[int]) -> tuple[PreparedRecord, tuple[int, int, str]]:
    """`_ingest_one` in a savepoint; a refused record is undone and stored as a quarantined copy."""
    c.execute("SAVEPOINT record")
    try:
        result = _ingest_one(c, channel_id, rec, ask, place, now, named)
    except Exception as exc:
        c.execute("ROLLBACK TO record")
        c.execute("RELEASE record")
        if not refusals.is_refusal(exc):
            raise
        rec = refusals.quarantined_copy(rec, exc)
        return rec, _ingest_one(c, channel_id, rec, ask, place, now, named)
    c.execute("RELEASE record")
    return rec, result


def _new_conversation(c: sqlite3.Connection, channel_id: int, rec: PreparedRecord, customer_id: int,
                      decision: Placement) -> int:
    ours = decision.ours
    flags = [f for f in CONVERSATION_FLAGS if f in rec.flags]
    # A delivery report about nothing we know is kept, low in the queue (docs/architecture.md).
    priority = "low" if rec.report is not None else "normal"
    cur = c.execute(
        "INSERT INTO conversations (customer_id, subject, status, priority, channel_id, linked_to,"
        " quarantined, flags, message_count, created_at, last_activity_at, last_inbound_at,"
        " first_response_at) VALUES (?, ?, 'open', ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)",  # counts this message
        (customer_id, rec.conversation_subject, priority, channel_id, decision.linked_to,
         int(rec.quarantined), json.dumps(flags), rec.at, rec.at, None if ours else rec.at,
         rec.at if ours else None),
    )
    conversation_id = cur.lastrowid
    assert conversation_id is not None
    write_event(c, conversation_id, customer_id, "created", None,
           {"rule": decision.rule, "channel_id": channel_id, "linked_to": decision.linked_to}, rec.at)
    if decision.linked_to is not None:
        # The old conversation learns of the new one (a stranger's [#N], or a late reply).
        write_event(c, decision.linked_to, None, "linked", None,
               {"conversation_id": conversation_id, "rule": decision.rule}, rec.at)
    return conversation_id


def _insert_message(c: sqlite3.Connection, channel_id: int, conversation_id: int, rec: PreparedRecord,
                    identity_id: int | None, agent_id: int | None, ours: bool, now: int) -> int:
    cur = c.execute(
        "INSERT INTO messages (conversation_id, channel_id, direction, external_id, author_identity_id,"
        " author_agent_id, author_name, author_address, recipients, subject, text, display_text, html,"
        " language, thread_refs, flags, defects, meta, raw_sha256, content_hash, sent_at, sent_tz_offset,"
        " received_at, delivery, scope) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (conversation_id, channel_id, "out" if ours else "in", rec.external_id, identity_id, agent_id,
         rec.sender_name, rec.sender_address or rec.sender_raw, rec.recipients_json, rec.subject,
         rec.text, rec.display_text, rec.html, rec.language, rec.thread_refs_json, rec.flags_json,
         rec.defects_json, rec.meta_json, rec.raw_sha256, rec.content_hash, rec.sent_at,
         rec.sent_tz_offset, now, "sent" if ours else None, rec.scope),
    )
    message_id = cur.lastrowid
    assert message_id is not None
    references.add(c, channel_id, rec.scope, rec.ids, message_id)
    c.execute("INSERT INTO message_fts (rowid, subject, body, sender) VALUES (?, ?, ?, ?)",
              (message_id, *rec.fts))
    if rec.attachments:
        c.executemany(
            "INSERT INTO attachments (message_id, filename, content_type, size, sha256, content_id, inline,"
            " fetch_ref) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(message_id, a.filename, a.content_type, a.size, a.sha256, a.content_id, int(a.inline),
              a.fetch_ref) for a in rec.attachments],
        )
    return message_id


def _touch_conversation(c: sqlite3.Connection, conversation_id: int, channel_id: int, rec: PreparedRecord,
                        decision: Placement, message_id: int) -> None:
    if decision.ours:
        c.execute(
            "UPDATE conversations SET message_count = message_count + 1,"
            " last_activity_at = max(last_activity_at, ?), first_response_at = coalesce(first_response_at, ?)"
            " WHERE id = ?",
            (rec.at, rec.at, conversation_id),
        )
        return
    if rec.automated:  # a responder or a bounce: on the timeline, but nobody is waiting for an answer
        c.execute("UPDATE conversations SET message_count = message_count + 1 WHERE id = ?",
                  (conversation_id,))
        return
    if decision.reopen:
        row = c.execute("SELECT status, customer_id FROM conversations WHERE id = ?",
                        (conversation_id,)).fetchone()
        write_event(c, conversation_id, row[1], "reopened", {"status": row[0]},
               {"status": "open", "message_id": message_id, "rule": decision.rule}, rec.at)
    # Status columns only when reopening: every column set costs its indexes an update (the
    # most expensive statement of a bulk import), even when the value stays the same.
    reopen = ", status = 'open', snoozed_until = NULL, resolved_at = NULL" if decision.reopen else ""
    c.execute(
        "UPDATE conversations SET message_count = message_count + 1,"
        " last_activity_at = max(last_activity_at, ?),"
        f" last_inbound_at = max(coalesce(last_inbound_at, 0), ?){reopen} WHERE id = ?",
        (rec.at, rec.at, conversation_id),
    )
    # Apart, and only when it changes: any statement that sets channel_id pays for foreign-key
    # checks (~0.1 ms, a statement journal) even when no row changes; it was the slowest of an import.
    (current,) = c.execute("SELECT channel_id FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
    if current != channel_id:
        c.execute("UPDATE conversations SET channel_id = ? WHERE id = ?", (channel_id, conversation_id))
        if current is not None:  # the customer moved on to another channel: the timeline says so
            write_event(c, conversation_id, None, "channel_switched", {"channel_id": current},
                         {"channel_id": channel_id, "message_id": message_id, "rule": decision.rule}, rec.at)


def _apply_report(c: sqlite3.Connection, rec_channel: int, rec: PreparedRecord, report: dict[str, object],
                  report_message_id: int) -> None:
    """A delivery report about one of our messages: a failure marks it; every report is an event.

    The message is the one the report names, else the most specific reference that is ours.
    Idempotent with the report itself: a re-delivered report is a duplicate and never gets here.
    """
    refs = [r for r in (report.get("message_ref"), *reversed(rec.thread_refs)) if isinstance(r, str)]
    if not refs:
        return
    rows = {ref: row for ref, _, row in references.matches(
        c, rec_channel, rec.scope, refs, "m.id, m.conversation_id, m.delivery, m.direction")
        if row[3] == "out"}
    ref = next((r for r in refs if r in rows), None)
    if ref is None:
        return
    out_id, conversation_id, delivery, _ = rows[ref]
    state = str(report.get("state") or "failed")
    if state == "failed":
        reason = str(report.get("reason") or "the remote server gave no reason")
        c.execute("UPDATE messages SET delivery = 'failed', delivery_error = ? WHERE id = ?",
                  (reason, out_id))
        # `omnidesk outbox` lists it with the other failures, and retry sends it again.
        c.execute("UPDATE outbox SET state = 'failed', last_error = ?, updated_at = ?"
                  " WHERE message_id = ? AND state = 'sent'", (reason, rec.at, out_id))
    write_event(c, conversation_id, None, "delivery_report", {"delivery": delivery},
           {**report, "message_id": out_id, "report_message_id": report_message_id}, rec.at)
