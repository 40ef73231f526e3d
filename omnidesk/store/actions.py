"""SQL behind the agent actions of omnidesk/services/services.py.

Every function here takes the connection of an open write transaction
(`async with db.write() as conn`), so a service action and the events it
records commit or roll back together.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import aiosqlite

from omnidesk.store import references
from omnidesk.store.identities import call_sync

_CONVERSATION_FIELDS = frozenset(
    {
        "customer_id",
        "subject",
        "status",
        "priority",
        "assignee_id",
        "team",
        "snoozed_until",
        "channel_id",
        "linked_to",
        "merged_into",
        "quarantined",
        "message_count",
        "last_activity_at",
        "last_inbound_at",
        "first_response_at",
        "resolved_at",
        "sla_due_at",
    }
)


#: A condition on a message's `flags`: written by a person (not an auto-reply or a bounce).
HUMAN_MESSAGE = " AND NOT EXISTS (SELECT 1 FROM json_each(flags) WHERE value IN ('auto-reply', 'bounce'))"


def _json(value: object) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _marks(values: Sequence[object]) -> str:
    return ",".join("?" * len(values))


# -- conversations --------------------------------------------------------------


async def conversation_rows(conn: aiosqlite.Connection, ids: Sequence[int]) -> dict[int, sqlite3.Row]:
    """Current state of the given conversations (missing ids are simply absent)."""
    if not ids:
        return {}
    rows = await (
        await conn.execute(f"SELECT * FROM conversations WHERE id IN ({_marks(ids)})", tuple(ids))
    ).fetchall()
    return {r["id"]: r for r in rows}


async def update_conversation(
    conn: aiosqlite.Connection, conversation_id: int, fields: Mapping[str, Any]
) -> None:
    unknown = set(fields) - _CONVERSATION_FIELDS
    if unknown:
        raise ValueError(f"not conversation columns: {sorted(unknown)}")
    if not fields:
        return
    names = list(fields)
    await conn.execute(
        f"UPDATE conversations SET {', '.join(f'{n} = ?' for n in names)} WHERE id = ?",
        (*[fields[n] for n in names], conversation_id),
    )


async def create_conversation(
    conn: aiosqlite.Connection, *, customer_id: int, subject: str, channel_id: int | None, now: int
) -> int:
    cursor = await conn.execute(
        "INSERT INTO conversations (customer_id, subject, channel_id, created_at, last_activity_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (customer_id, subject, channel_id, now, now),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


async def latest_open_conversation(conn: aiosqlite.Connection, customer_id: int, since: int) -> int | None:
    """The customer's most recently active open/pending conversation, active since `since`."""
    row = await (
        await conn.execute(
            "SELECT id FROM conversations WHERE customer_id = ? AND status IN ('open', 'pending')"
            " AND merged_into IS NULL AND last_activity_at >= ?"
            " ORDER BY last_activity_at DESC, id DESC LIMIT 1",
            (customer_id, since),
        )
    ).fetchone()
    return row[0] if row else None


async def recompute_counters(conn: aiosqlite.Connection, conversation_id: int) -> None:
    """message_count, last_inbound_at and last_activity_at from the messages it holds now.

    Used after messages move between conversations. A message counts at
    min(sent_at, received_at), as ingest does (a Date header in the future is
    clamped); activity never goes below the conversation's creation time.
    Auto-replies and bounces count only as messages, as in ingest.
    """
    human = HUMAN_MESSAGE
    await conn.execute(
        "UPDATE conversations SET"
        " message_count = (SELECT count(*) FROM messages WHERE conversation_id = :id),"
        " last_inbound_at = (SELECT max(min(sent_at, received_at)) FROM messages"
        f"   WHERE conversation_id = :id AND direction = 'in'{human}),"
        " last_activity_at = max(created_at, coalesce((SELECT max(min(sent_at, received_at)) FROM messages"
        f"   WHERE conversation_id = :id{human}), 0))"
        " WHERE id = :id",
        {"id": conversation_id},
    )


async def bump_activity(
    conn: aiosqlite.Connection,
    conversation_id: int,
    *,
    now: int,
    inbound: bool,
    channel_id: int | None = None,
) -> None:
    """One more message in a conversation, just now."""
    await conn.execute(
        "UPDATE conversations SET message_count = message_count + 1,"
        " last_activity_at = max(last_activity_at, :now),"
        " last_inbound_at = CASE WHEN :inbound THEN max(coalesce(last_inbound_at, 0), :now)"
        "   ELSE last_inbound_at END,"
        " channel_id = CASE WHEN :inbound AND :channel IS NOT NULL THEN :channel ELSE channel_id END"
        " WHERE id = :id",
        {"id": conversation_id, "now": now, "inbound": int(inbound), "channel": channel_id},
    )


async def set_read(conn: aiosqlite.Connection, agent_id: int, conversation_id: int, now: int) -> None:
    await conn.execute(
        "INSERT INTO conversation_reads (agent_id, conversation_id, read_at) VALUES (?, ?, ?)"
        " ON CONFLICT(agent_id, conversation_id) DO UPDATE SET read_at = max(read_at, excluded.read_at)",
        (agent_id, conversation_id, now),
    )


async def replies_after_read(conn: aiosqlite.Connection, conversation_id: int, agent_id: int) -> list[str]:
    """Names of the other agents who replied to a conversation after `agent_id` last read it.

    The read mark is the one behind `is:unread` (`set_read`); no mark means every
    reply of theirs counts. Cancelled replies never went out and do not.
    """
    cursor = await conn.execute(
        "SELECT a.name FROM messages m JOIN agents a ON a.id = m.author_agent_id"
        " WHERE m.conversation_id = ? AND m.direction = 'out' AND m.author_agent_id != ?"
        " AND coalesce(m.delivery, '') != 'cancelled'"
        " AND m.sent_at > coalesce((SELECT r.read_at FROM conversation_reads r"
        "   WHERE r.agent_id = ? AND r.conversation_id = ?), -1)"
        " ORDER BY m.sent_at, m.id",
        (conversation_id, agent_id, agent_id, conversation_id),
    )
    return list(dict.fromkeys(row[0] for row in await cursor.fetchall()))


# -- tags -------------------------------------------------------------------------


async def tag_ids(conn: aiosqlite.Connection, names: Iterable[str], *, create: bool) -> dict[str, int]:
    """name -> id for the tags that exist (created first when `create`); case-insensitive."""
    out: dict[str, int] = {}
    for name in names:
        if create:
            await conn.execute("INSERT INTO tags (name) VALUES (?) ON CONFLICT(name) DO NOTHING", (name,))
        row = await (await conn.execute("SELECT id, name FROM tags WHERE name = ?", (name,))).fetchone()
        if row is not None:
            out[name] = row["id"]
    return out


async def conversation_tags(conn: aiosqlite.Connection, conversation_id: int) -> list[str]:
    rows = await (
        await conn.execute(
            "SELECT t.name FROM conversation_tags ct JOIN tags t ON t.id = ct.tag_id"
            " WHERE ct.conversation_id = ? ORDER BY t.name COLLATE NOCASE",
            (conversation_id,),
        )
    ).fetchall()
    return [r[0] for r in rows]


async def add_tag(conn: aiosqlite.Connection, conversation_id: int, tag_id: int) -> bool:
    cursor = await conn.execute(
        "INSERT INTO conversation_tags (conversation_id, tag_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
        (conversation_id, tag_id),
    )
    return cursor.rowcount > 0


async def remove_tag(conn: aiosqlite.Connection, conversation_id: int, tag_id: int) -> bool:
    cursor = await conn.execute(
        "DELETE FROM conversation_tags WHERE conversation_id = ? AND tag_id = ?", (conversation_id, tag_id)
    )
    return cursor.rowcount > 0


# -- messages ---------------------------------------------------------------------

_MESSAGE_FIELDS = (
    "conversation_id",
    "channel_id",
    "direction",
    "external_id",
    "author_identity_id",
    "author_agent_id",
    "author_name",
    "author_address",
    "recipients",
    "subject",
    "text",
    "display_text",
    "html",
    "language",
    "thread_refs",
    "flags",
    "meta",
    "content_hash",
    "sent_at",
    "received_at",
    "delivery",
    "scope",  # where a chat channel's ids are unique (adapters/base.py Inbound.scope)
)


async def insert_message(conn: aiosqlite.Connection, **values: Any) -> int:
    """Insert a message; JSON columns (recipients, thread_refs, flags, meta) may be given as objects."""
    unknown = set(values) - set(_MESSAGE_FIELDS)
    if unknown:
        raise ValueError(f"not message columns: {sorted(unknown)}")
    for key in ("recipients", "thread_refs", "flags", "meta"):
        if key in values and not isinstance(values[key], str):
            values[key] = _json(values[key])
    names = list(values)
    cursor = await conn.execute(
        f"INSERT INTO messages ({', '.join(names)}) VALUES ({_marks(names)})", tuple(values[n] for n in names)
    )
    message_id = cursor.lastrowid
    assert message_id is not None
    if values.get("channel_id") is not None and values.get("external_id"):
        await call_sync(conn, references.add, values["channel_id"], values.get("scope", ""),
                        [values["external_id"]], message_id)
    return message_id


async def insert_attachment(
    conn: aiosqlite.Connection, *, message_id: int, filename: str, content_type: str, size: int, sha256: str
) -> int:
    cursor = await conn.execute(
        "INSERT INTO attachments (message_id, filename, content_type, size, sha256) VALUES (?, ?, ?, ?, ?)",
        (message_id, filename, content_type, size, sha256),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


async def message_row(conn: aiosqlite.Connection, message_id: int) -> sqlite3.Row | None:
    return await (await conn.execute("SELECT * FROM messages WHERE id = ?", (message_id,))).fetchone()


async def message_ids_of(conn: aiosqlite.Connection, conversation_id: int) -> list[int]:
    rows = await (
        await conn.execute(
            "SELECT id FROM messages WHERE conversation_id = ? ORDER BY id", (conversation_id,)
        )
    ).fetchall()
    return [r[0] for r in rows]


async def move_messages(
    conn: aiosqlite.Connection, message_ids: Sequence[int], *, from_conversation: int, to_conversation: int
) -> int:
    """Move messages still in `from_conversation`; returns how many moved."""
    moved = 0
    for mid in message_ids:
        cur = await conn.execute(
            "UPDATE messages SET conversation_id = ? WHERE id = ? AND conversation_id = ?",
            (to_conversation, mid, from_conversation),
        )
        moved += cur.rowcount
    return moved


async def delete_message(conn: aiosqlite.Connection, message_id: int) -> None:
    """Remove a message row and its attachments (the caller removes its FTS row first)."""
    await conn.execute("DELETE FROM attachments WHERE message_id = ?", (message_id,))
    await conn.execute("DELETE FROM messages WHERE id = ?", (message_id,))


# -- outbox (cancel / retry; claiming and settling live in store/outbox.py) ---------------


async def outbox_row(conn: aiosqlite.Connection, message_id: int) -> sqlite3.Row | None:
    return await (await conn.execute("SELECT * FROM outbox WHERE message_id = ?", (message_id,))).fetchone()


async def cancel_outbox(conn: aiosqlite.Connection, message_id: int, now: int) -> bool:
    """queued/failed -> cancelled, atomically; False if a dispatcher has it (or it left)."""
    cur = await conn.execute(
        "UPDATE outbox SET state = 'cancelled', updated_at = ?, lease_owner = NULL, lease_until = NULL"
        " WHERE message_id = ? AND state IN ('queued', 'failed')",
        (now, message_id),
    )
    if cur.rowcount == 0:
        return False
    await conn.execute("UPDATE messages SET delivery = 'cancelled' WHERE id = ?", (message_id,))
    return True


async def requeue_outbox(conn: aiosqlite.Connection, message_id: int, now: int) -> bool:
    """failed -> queued, due now, with a fresh attempt budget; False unless it was failed."""
    cur = await conn.execute(
        "UPDATE outbox SET state = 'queued', attempts = 0, next_attempt_at = ?,"
        " not_before = min(not_before, ?),"
        " last_error = NULL, lease_owner = NULL, lease_until = NULL, updated_at = ?"
        " WHERE message_id = ? AND state = 'failed'",
        (now, now, now, message_id),
    )
    if cur.rowcount == 0:
        return False
    await conn.execute(
        "UPDATE messages SET delivery = 'queued', delivery_error = NULL WHERE id = ?", (message_id,)
    )
    return True


async def customer_events(conn: aiosqlite.Connection, *, kind: str, customer_id: int) -> list[sqlite3.Row]:
    """Events of `kind` recorded on a customer, newest first."""
    return list(
        await (
            await conn.execute(
                "SELECT * FROM events WHERE kind = ? AND customer_id = ? AND conversation_id IS NULL"
                " ORDER BY id DESC",
                (kind, customer_id),
            )
        ).fetchall()
    )


# -- participants -------------------------------------------------------------------


async def participant_ids(conn: aiosqlite.Connection, conversation_id: int) -> dict[int, str]:
    rows = await (
        await conn.execute(
            "SELECT identity_id, role FROM participants WHERE conversation_id = ?", (conversation_id,)
        )
    ).fetchall()
    return {r[0]: r[1] for r in rows}


async def add_participant(
    conn: aiosqlite.Connection, conversation_id: int, identity_id: int, role: str
) -> bool:
    cur = await conn.execute(
        "INSERT INTO participants (conversation_id, identity_id, role) VALUES (?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        (conversation_id, identity_id, role),
    )
    return cur.rowcount > 0


async def remove_participant(conn: aiosqlite.Connection, conversation_id: int, identity_id: int) -> None:
    await conn.execute(
        "DELETE FROM participants WHERE conversation_id = ? AND identity_id = ?",
        (conversation_id, identity_id),
    )
