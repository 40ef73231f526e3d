"""SQL of automatic acknowledgements: the first messages still to decide, the marks, the scan's mark.

Every function takes the caller's write transaction (omnidesk/services/autoack.py holds
one per page of decisions), so a decision, its acknowledgement and the scan's new
position commit together.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import NamedTuple

import aiosqlite


class FirstMessage(NamedTuple):
    """A customer message that opened its conversation: what the decision reads."""

    message_id: int
    conversation_id: int
    channel_id: int
    flags: frozenset[str]
    sent_at: int
    sender_kind: str  # "" when the message has no sender identity (a quarantined one)
    sender_address: str
    live: bool  # not merged away, not quarantined, not spam


async def scanned_to(conn: aiosqlite.Connection) -> int | None:
    """The id of the last message decided, None before the first scan."""
    row = await (await conn.execute("SELECT message_id FROM auto_ack_scan WHERE id = 1")).fetchone()
    return None if row is None else int(row[0])


async def set_scanned_to(conn: aiosqlite.Connection, message_id: int) -> None:
    await conn.execute("INSERT INTO auto_ack_scan (id, message_id) VALUES (1, ?)"
                       " ON CONFLICT (id) DO UPDATE SET message_id = max(message_id, excluded.message_id)",
                       (message_id,))


async def last_message_id(conn: aiosqlite.Connection) -> int:
    row = await (await conn.execute("SELECT coalesce(max(id), 0) FROM messages")).fetchone()
    return int(row[0])


async def first_messages(conn: aiosqlite.Connection, after: int, channel_ids: Sequence[int],
                         limit: int) -> tuple[list[FirstMessage], int]:
    """Inbound messages with an id above `after` on `channel_ids` that are the first of their
    conversation, oldest first, at most `limit`; and the id the scan has covered with them
    (the last message looked at: every message up to it is decided once these are)."""
    marks = ",".join("?" * len(channel_ids))
    cursor = await conn.execute(
        "SELECT m.id FROM messages m WHERE m.id > ? AND m.direction = 'in'"
        f" AND m.channel_id IN ({marks})"
        " AND NOT EXISTS (SELECT 1 FROM messages p"
        "   WHERE p.conversation_id = m.conversation_id AND p.id < m.id)"
        " ORDER BY m.id LIMIT ?", (after, *channel_ids, limit))
    ids = [int(r[0]) for r in await cursor.fetchall()]
    covered = ids[-1] if len(ids) == limit else await last_message_id(conn)
    if not ids:
        return [], covered
    rows = await (await conn.execute(
        "SELECT m.id, m.conversation_id, m.channel_id, m.flags, m.sent_at, coalesce(i.kind, ''),"
        " coalesce(i.address, ''),"
        " c.merged_into IS NULL AND NOT c.quarantined AND c.status <> 'spam'"
        " FROM messages m JOIN conversations c ON c.id = m.conversation_id"
        " LEFT JOIN identities i ON i.id = m.author_identity_id"
        f" WHERE m.id IN ({','.join('?' * len(ids))}) ORDER BY m.id", ids)).fetchall()
    found = [FirstMessage(r[0], r[1], r[2], frozenset(json.loads(r[3] or "[]")), r[4], r[5], r[6], bool(r[7]))
             for r in rows]
    return found, covered


async def acknowledged(conn: aiosqlite.Connection, conversation_id: int) -> bool:
    row = await (await conn.execute("SELECT 1 FROM auto_acks WHERE conversation_id = ?",
                                    (conversation_id,))).fetchone()
    return row is not None


async def sent_to(conn: aiosqlite.Connection, kind: str, address: str, since: int) -> int:
    """Acknowledgements queued to this sender address since `since` (any channel, any conversation)."""
    row = await (await conn.execute(
        "SELECT count(*) FROM auto_acks WHERE sender_kind = ? AND sender_address = ? AND created_at >= ?",
        (kind, address, since))).fetchone()
    return int(row[0])


async def mark(conn: aiosqlite.Connection, first: FirstMessage, reply_id: int, now: int) -> None:
    """The conversation is acknowledged (in the transaction that queued `reply_id`)."""
    await conn.execute(
        "INSERT INTO auto_acks (conversation_id, message_id, reply_id, sender_kind, sender_address,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (first.conversation_id, first.message_id, reply_id, first.sender_kind, first.sender_address, now))
