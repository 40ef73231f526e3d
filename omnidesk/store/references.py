"""SQL of message references: every id a channel gave a message, scoped (schema 004).

A reference is (scope, ref, channel) -> message. Scope "" (an email Message-ID, a Twilio
SID) is unique on its channel and matches on every channel, since the same mail travels
between mailboxes; a non-empty scope (a Telegram chat, a Slack "TEAM/CHANNEL") matches only
on its own channel and scope, so message 42 of one chat is never message 42 of another.
Plain sqlite3, run inside the caller's transaction (ingest's worker thread, `call_sync`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

#: A reference as looked up: (scope, ref).
Key = tuple[str, str]


def add(c: sqlite3.Connection, channel_id: int, scope: str, refs: Iterable[str], message_id: int) -> None:
    """Record `refs` of `message_id`; one already held (by this or another message) is kept as it is."""
    c.executemany(
        "INSERT OR IGNORE INTO message_refs (scope, ref, channel_id, message_id) VALUES (?, ?, ?, ?)",
        [(scope, ref, channel_id, message_id) for ref in dict.fromkeys(refs) if ref],
    )


def _chunks(values: list[str], size: int = 500) -> Iterable[list[str]]:
    return (values[i : i + size] for i in range(0, len(values), size))


def matches(c: sqlite3.Connection, channel_id: int, keys: Iterable[Key],
            columns: str = "m.id") -> list[tuple[str, str, int, sqlite3.Row | tuple]]:
    """(scope, ref, channel_id, row of `columns` of the message) for every reference matching `keys`.

    Scoped keys match on `channel_id` only; scope "" keys on any channel (the caller prefers its own).
    """
    by_scope: dict[str, set[str]] = {}
    for scope, ref in keys:
        if ref:
            by_scope.setdefault(scope, set()).add(ref)
    found: list[tuple[str, str, int, sqlite3.Row | tuple]] = []
    for scope, refs in by_scope.items():
        same_channel = " AND r.channel_id = ?" if scope else ""
        for chunk in _chunks(sorted(refs)):
            marks = ",".join("?" * len(chunk))
            params = (scope, *chunk, channel_id) if scope else (scope, *chunk)
            for row in c.execute(
                f"SELECT r.ref, r.channel_id, {columns} FROM message_refs r"
                f" JOIN messages m ON m.id = r.message_id"
                f" WHERE r.scope = ? AND r.ref IN ({marks}){same_channel}", params,
            ):
                found.append((scope, row[0], row[1], tuple(row[2:])))
    return found


def resolve(c: sqlite3.Connection, channel_id: int, keys: list[Key], columns: str = "m.id"
            ) -> dict[Key, tuple]:
    """Each of `keys` that names a message -> that message's `columns`, this channel's first."""
    out: dict[Key, tuple] = {}
    for scope, ref, chan, row in matches(c, channel_id, keys, columns):
        if (scope, ref) not in out or chan == channel_id:
            out[(scope, ref)] = row
    return out

