"""SQL of a customer's whole story: every message, note, call and event of all their conversations.

Entries are ordered by the key (time, kind, id), kind 0 for messages and 1 for events
(on a tie the event follows the message that caused it, as in a conversation's timeline),
and read in keyset pages: each branch of the union walks its own index from the key
(`messages_conversation` per conversation, `events_conversation`, `events_customer`),
so a page never reads the customer's other rows, let alone all messages (`INDEXED BY`
keeps it so: on a small, analysed desk the planner would rather scan events). A page is
the keys first, then the rows of just those ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

from omnidesk.model import Event, Message, TimelineEntry, TimelinePage
from omnidesk.store.reads import _messages_from_rows, _row_to_event

if TYPE_CHECKING:
    import sqlite3

    from omnidesk.store.db import Database

MESSAGE, EVENT = 0, 1
_MIN, _MAX = -(2**63), 2**63 - 1


class Key(NamedTuple):
    at: int
    kind: int
    id: int

    def token(self) -> str:
        return f"{self.at}:{self.kind}:{self.id}"


_FIRST = Key(_MIN, MESSAGE, 0)
#: Before every entry: `after=START` pages from the beginning.
START = _FIRST.token()


def parse_key(token: str) -> Key | None:
    """A page token back to its key; None when it is not one of ours."""
    parts = token.split(":")
    if len(parts) != 3:
        return None
    try:
        at, kind, ident = (int(p) for p in parts)
    except ValueError:
        return None
    if kind not in (EVENT, MESSAGE) or not (_MIN <= at <= _MAX and 0 <= ident <= _MAX):
        return None
    return Key(at, kind, ident)


_CONVERSATIONS = "SELECT id FROM conversations WHERE customer_id = :customer"


def _beyond(kind: int, at: str, ident: str, older: bool) -> str:
    """`(at, kind, id) < key` (or `>`) for a branch whose kind is the constant `kind`.

    Written as a range on the time column plus a tie-break, so the index's range is used.
    """
    lt, le = ("<", "<=") if older else (">", ">=")
    tie = f"({at} {lt} :at OR ({at} = :at AND {ident} {lt} :id))"
    return (f"{at} {le} :at AND CASE WHEN {kind} = :kind THEN {tie}"
            f" ELSE ({kind} {lt} :kind OR {at} {lt} :at) END")


def _keys_sql(older: bool, hidden: int) -> str:
    order = "DESC" if older else "ASC"
    m = _beyond(MESSAGE, "m.sent_at", "m.id", older)
    e = _beyond(EVENT, "e.created_at", "e.id", older)
    if hidden:
        e += f" AND e.kind NOT IN ({','.join(f':h{i}' for i in range(hidden))})"
    return (
        f"SELECT {MESSAGE} AS kind, m.id, m.sent_at AS at FROM messages m INDEXED BY messages_conversation"
        f" WHERE m.conversation_id IN ({_CONVERSATIONS}) AND {m}"
        f" UNION ALL SELECT {EVENT}, e.id, e.created_at FROM events e INDEXED BY events_conversation"
        f" WHERE e.conversation_id IN ({_CONVERSATIONS}) AND {e}"
        f" UNION ALL SELECT {EVENT}, e.id, e.created_at FROM events e INDEXED BY events_customer"
        f" WHERE e.customer_id = :customer AND e.conversation_id IS NULL AND {e}"
        f" ORDER BY at {order}, kind {order}, id {order} LIMIT :limit"
    )


_PREVIOUS_CHANNEL_SQL = (
    "SELECT ch.name FROM messages m INDEXED BY messages_conversation JOIN channels ch ON ch.id = m.channel_id"
    f" WHERE m.conversation_id IN ({_CONVERSATIONS}) AND m.channel_id IS NOT NULL"
    f" AND {_beyond(MESSAGE, 'm.sent_at', 'm.id', True)}"
    " ORDER BY m.sent_at DESC, m.id DESC LIMIT 1"
)
_MESSAGES_SQL = (
    "SELECT m.*, ch.kind AS channel_kind, ch.name AS channel_name, a.name AS agent_name"
    " FROM messages m LEFT JOIN channels ch ON ch.id = m.channel_id"
    " LEFT JOIN agents a ON a.id = m.author_agent_id WHERE m.id IN ({marks})"
)
_EVENTS_SQL = (
    "SELECT e.*, a.name AS agent_name FROM events e LEFT JOIN agents a ON a.id = e.agent_id"
    " WHERE e.id IN ({marks})"
)


def _params(customer_id: int, key: Key, limit: int, hidden: Sequence[str] = ()) -> dict[str, object]:
    return {"customer": customer_id, "at": key.at, "kind": key.kind, "id": key.id, "limit": limit,
            **{f"h{i}": kind for i, kind in enumerate(hidden)}}


async def page(db: Database, customer_id: int, *, limit: int, before: Key | None = None,
               after: Key | None = None, hidden: Sequence[str] = ()) -> TimelinePage:
    """Up to `limit` entries, oldest first: the newest ones, or those before/after a key.

    Events of the `hidden` kinds are left out (those whose message is an entry already).
    """
    older = after is None
    key = after if after is not None else before if before is not None else Key(_MAX, EVENT, _MAX)
    rows = await db.fetchall(_keys_sql(older, len(hidden)), _params(customer_id, key, limit + 1, hidden))
    more = len(rows) > limit
    keys = [Key(r["at"], r["kind"], r["id"]) for r in rows[:limit]]
    if older:
        keys.reverse()
    entries = await _entries(db, customer_id, keys)
    if not entries:
        return TimelinePage((), None, None)
    # A page after a key has an older neighbour (the key's own entry; none before START),
    # one before a key a newer.
    has_older = more if older else after != _FIRST
    has_newer = (before is not None) if older else more
    return TimelinePage(tuple(entries), entries[0].key if has_older else None,
                        entries[-1].key if has_newer else None)


async def _entries(db: Database, customer_id: int, keys: Sequence[Key]) -> list[TimelineEntry]:
    if not keys:
        return []
    message_ids = [k.id for k in keys if k.kind == MESSAGE]
    event_ids = [k.id for k in keys if k.kind == EVENT]
    message_rows = await db.fetchall(_MESSAGES_SQL.format(marks=",".join("?" * len(message_ids))),
                                     message_ids) if message_ids else []
    event_rows = await db.fetchall(_EVENTS_SQL.format(marks=",".join("?" * len(event_ids))),
                                   event_ids) if event_ids else []
    messages = {m.id: m for m in _messages_from_rows(message_rows, ())}
    events = {r["id"]: _row_to_event(r) for r in event_rows}
    previous = await db.fetchone(_PREVIOUS_CHANNEL_SQL, _params(customer_id, keys[0], 1))
    channel = previous[0] if previous else None
    out = []
    for key in keys:
        entry = _entry(key, messages, events)
        if entry is None:  # deleted between the two reads
            continue
        if entry.channel_name is not None and entry.kind != "note":
            if channel is not None and entry.channel_name != channel:
                entry.switched, entry.switched_from = True, channel
            channel = entry.channel_name
        out.append(entry)
    return out


def _entry(key: Key, messages: dict[int, Message], events: dict[int, Event]) -> TimelineEntry | None:
    if key.kind == EVENT:
        event = events.get(key.id)
        if event is None:
            return None
        return TimelineEntry(key.token(), "event", key.at, event.conversation_id, None, None, event=event)
    message = messages.get(key.id)
    if message is None:
        return None
    kind = "note" if message.direction == "note" else "call" if message.channel_kind == "phone" else "message"
    return TimelineEntry(key.token(), kind, key.at, message.conversation_id, message.channel_name,
                         message.channel_kind, message=message)


def plan(conn: sqlite3.Connection, customer_id: int, older: bool = True) -> list[str]:
    """EXPLAIN QUERY PLAN of a page query (the details column), for tests and the bench."""
    key = Key(_MAX, EVENT, _MAX) if older else Key(_MIN, MESSAGE, 0)
    sql, params = _keys_sql(older, 1), _params(customer_id, key, 50, ("note",))
    rows = conn.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
    return [r[3] for r in rows]
