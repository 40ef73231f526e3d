"""SQL of message references: every id a channel gave a message, scoped (schema 004).

A reference is (scope, ref, channel) -> message. Scope "" (an email Message-ID, a Twilio
SID) is unique on its channel and matches on every channel, since the same mail travels
between mailboxes; a non-empty scope (a Telegram chat, a Slack "TEAM/CHANNEL") matches only
on its own channel and scope, so message 42 of one chat is never message 42 of another.
Plain sqlite3, run inside the caller's transaction (ingest's worker thread, `call_sync`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

#: A reference as a batch looks it up: (scope, ref).
Key = tuple[str, str]


#: One reference of one message (plain executemany for bulk writers).
ADD = "INSERT OR IGNORE INTO message_refs (scope, ref, channel_id, message_id) VALUES (?, ?, ?, ?)"


def add(c: sqlite3.Connection, channel_id: int, scope: str, refs: Sequence[str], message_id: int) -> None:
    """Record `refs` of `message_id`; one already held (by this or another message) is kept as it is.

    Every message with an external id gets at least that one, whoever writes it (ingest,
    replies, calls), so an answer to it threads and a copy of it is known.
    """
    if len(refs) == 1:  # nearly every message: one statement, no list
        if refs[0]:
            c.execute(ADD, (scope, refs[0], channel_id, message_id))
        return
    c.executemany(ADD, [(scope, ref, channel_id, message_id) for ref in dict.fromkeys(refs) if ref])


def matches(c: sqlite3.Connection, channel_id: int, scope: str, refs: Sequence[str],
            columns: str = "m.id") -> list[tuple[str, int, tuple]]:
    """(ref, channel_id, `columns` of the message) for every reference of `refs` in `scope`.

    A scoped reference matches on `channel_id` only; an unscoped one on any channel (the
    caller prefers its own). Called per record while importing, so kept to one query.
    """
    found: list[tuple[str, int, tuple]] = []
    same_channel = " AND r.channel_id = ?" if scope else ""
    for at in range(0, len(refs), 500):
        chunk = refs[at : at + 500]
        params = (scope, *chunk, channel_id) if scope else (scope, *chunk)
        marks = ",".join("?" * len(chunk))
        found += [(row[0], row[1], row[2:]) for row in c.execute(
            f"SELECT r.ref, r.channel_id, {columns} FROM message_refs r"
            f" JOIN messages m ON m.id = r.message_id"
            f" WHERE r.scope = ? AND r.ref IN ({marks}){same_channel}", params)]
    return found


def resolve(c: sqlite3.Connection, channel_id: int, scope: str, refs: Sequence[str],
            columns: str = "m.id") -> dict[str, tuple]:
    """Each of `refs` (in `scope`) that names a message -> that message's `columns`, this channel's first."""
    out: dict[str, tuple] = {}
    for ref, chan, row in matches(c, channel_id, scope, refs, columns):
        if ref not in out or chan == channel_id:
            out[ref] = row
    return out
