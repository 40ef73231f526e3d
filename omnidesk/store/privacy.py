"""SQL for a customer's data as a whole: what an export reads beside the usual reads, and erasure.

A customer's data is that of the customer and of every customer merged into it (the
same person, found twice): `merged_closure`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import aiosqlite

    from omnidesk.store.db import Database


async def merged_closure(db: Database, customer_id: int) -> list[int]:
    """`customer_id` and every customer merged into it, directly or through another."""
    rows = await db.fetchall(
        "WITH RECURSIVE c(id) AS (SELECT ?"
        " UNION SELECT cu.id FROM customers cu JOIN c ON cu.merged_into = c.id)"
        " SELECT id FROM c ORDER BY id", (customer_id,))
    return [r[0] for r in rows]


async def raw_refs(db: Database, conversation_ids: Sequence[int]) -> dict[int, str]:
    """message id -> raw_sha256 of the messages of `conversation_ids` that keep their raw bytes."""
    if not conversation_ids:
        return {}
    marks = ",".join("?" * len(conversation_ids))
    rows = await db.fetchall(
        f"SELECT id, raw_sha256 FROM messages WHERE conversation_id IN ({marks}) AND raw_sha256 IS NOT NULL"
        " ORDER BY id", tuple(conversation_ids))
    return {r[0]: r[1] for r in rows}


# -- erasure ------------------------------------------------------------------------------------

#: Event kinds whose before/after hold no personal data (statuses, assignees, tags, ids, channels):
#: kept as they are, so reports on an erased customer's conversations stay right.
_PLAIN_EVENTS = frozenset({"created", "reopened", "linked", "status", "assigned", "priority", "tagged",
                           "merged", "merged_into", "unmerged", "channel_switched", "customer_erased",
                           "survey_sent", "survey_answered"})
REDACTED = '{"redacted":true}'


def _ids(c: sqlite3.Connection, sql: str, params: Sequence[object]) -> list[int]:
    return [r[0] for r in c.execute(sql, tuple(params))]


def _in(ids: Sequence[object]) -> str:
    return "(" + ",".join("?" * len(ids)) + ")" if ids else "(NULL)"


def erase(c: sqlite3.Connection, customers: Sequence[int], main_id: int) -> ErasedCustomer:
    """Remove the personal data of `customers` (one person: a customer and those merged into it),
    inside the caller's transaction, keeping anonymous shells (see docs/privacy.md)."""
    idents = _ids(c, f"SELECT id FROM identities WHERE customer_id IN {_in(customers)}", customers)
    convs = _ids(c, f"SELECT id FROM conversations WHERE customer_id IN {_in(customers)}", customers)
    msgs = _ids(c, f"SELECT id FROM messages WHERE conversation_id IN {_in(convs)}"
                f" OR author_identity_id IN {_in(idents)}", [*convs, *idents])
    shas = _shell(c, msgs, convs)
    c.execute(f"DELETE FROM participants WHERE identity_id IN {_in(idents)}", idents)
    c.execute(f"DELETE FROM identities WHERE id IN {_in(idents)}", idents)
    for cid in customers:
        c.execute("UPDATE customers SET name = ?, language = NULL, timezone = NULL, tier = NULL, notes = ''"
                  " WHERE id = ?", (f"erased customer #{cid}", cid))
    _redact_events(c, "customer_id", customers)
    _redact_events(c, "conversation_id", convs)
    _reindex(c)
    return ErasedCustomer(main_id, len(convs), len(msgs), _drop_unreferenced(c, shas))


def _shell(c: sqlite3.Connection, msgs: Sequence[int], convs: Sequence[int]) -> set[str]:
    """Messages `msgs` and conversations `convs` made anonymous shells (times, channel, direction,
    delivery kept); returns the sha256 of the raw bytes and attachments they referred to."""
    shas = {r[0] for r in c.execute(f"SELECT sha256 FROM attachments WHERE message_id IN {_in(msgs)}"
                                    " AND sha256 <> ''", msgs)}
    raws = {r[0] for r in c.execute(f"SELECT raw_sha256 FROM messages WHERE id IN {_in(msgs)}"
                                    " AND raw_sha256 IS NOT NULL", msgs)}
    m = _in(msgs)
    c.execute(f"DELETE FROM attachments WHERE message_id IN {m}", msgs)
    c.execute(f"DELETE FROM message_edits WHERE message_id IN {m}", msgs)
    c.execute(f"DELETE FROM message_refs WHERE message_id IN {m}", msgs)
    c.execute(f"UPDATE outbox SET payload = '{{}}', last_error = NULL,"
              f" state = CASE state WHEN 'sent' THEN 'sent' ELSE 'cancelled' END"
              f" WHERE message_id IN {m}", msgs)
    c.execute("UPDATE messages SET subject = '', text = '', display_text = '', html = NULL,"
              " author_name = '', author_address = '', recipients = '[]', thread_refs = '[]', meta = '{}',"
              " defects = '[]',"
              " raw_sha256 = NULL, external_id = NULL, content_hash = '', author_identity_id = NULL,"
              " scope = '', delivery_error = NULL,"
              f" delivery = CASE delivery WHEN 'queued' THEN 'cancelled' WHEN 'sending' THEN 'cancelled'"
              f" ELSE delivery END WHERE id IN {m}", msgs)
    c.execute(f"UPDATE conversations SET subject = '' WHERE id IN {_in(convs)}", convs)
    c.execute(f"DELETE FROM drafts WHERE conversation_id IN {_in(convs)}", convs)
    # The rating and its times stay for the csat report; the comment is the customer's words.
    c.execute(f"UPDATE surveys SET comment = NULL WHERE conversation_id IN {_in(convs)}", convs)
    return shas | raws


def _redact_events(c: sqlite3.Connection, column: str, ids: Sequence[int]) -> None:
    """The before/after of the events of `ids` (customers or conversations) replaced by REDACTED,
    except those of kinds holding no personal data."""
    plain = sorted(_PLAIN_EVENTS)
    c.execute(f"UPDATE events SET before = NULL, after = ?, reason = NULL WHERE kind NOT IN {_in(plain)}"
              f" AND {column} IN {_in(ids)}", (REDACTED, *plain, *ids))


def _drop_unreferenced(c: sqlite3.Connection, shas: set[str]) -> tuple[str, ...]:
    """Delete the stored raw messages among `shas` nothing refers to any more; returns every one of
    `shas` unreferenced, whose blob files the caller removes after the commit."""
    kept = {r[0] for r in c.execute("SELECT sha256 FROM attachments WHERE sha256 <> ''"
                                    " UNION SELECT raw_sha256 FROM messages WHERE raw_sha256 IS NOT NULL")}
    gone = sorted(shas - kept)
    c.execute(f"DELETE FROM raw_messages WHERE sha256 IN {_in(gone)}", gone)
    return tuple(gone)


def _reindex(c: sqlite3.Connection) -> None:
    """The full-text index rebuilt from the messages as they now are.

    It is contentless, so a row can only be deleted with the exact values it went in with,
    and a value that differs leaves its words in the shadow tables; emptying and refilling
    it leaves none (and costs a pass over every message, which an erasure can afford)."""
    from omnidesk.store.ingest import fts_values

    c.execute("INSERT INTO message_fts (message_fts) VALUES ('delete-all')")
    rows = c.execute("SELECT id, subject, text, author_name, author_address FROM messages")
    c.executemany("INSERT INTO message_fts (rowid, subject, body, sender) VALUES (?, ?, ?, ?)",
                  ((r[0], *fts_values(r[1], r[2], f"{r[3]} {r[4]}".strip())) for r in rows))
    c.execute("INSERT INTO message_fts (message_fts) VALUES ('optimize')")


class ErasedCustomer(NamedTuple):
    customer_id: int
    conversations: int
    messages: int
    blobs: tuple[str, ...]  # sha256 of the blob files no longer referenced: the caller removes them


def compact(c: sqlite3.Connection) -> None:
    """After an erasure commits: rewrite the file (VACUUM) and empty the WAL, so freed pages
    holding erased text are gone from both (secure_delete zeroes them meanwhile)."""
    c.execute("VACUUM")
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")


async def erase_in(conn: aiosqlite.Connection, customers: Sequence[int], main_id: int) -> ErasedCustomer:
    """`erase` in the caller's `db.write()`, with freed pages zeroed (`secure_delete`)."""
    from omnidesk.store.identities import call_sync

    await conn.execute("PRAGMA secure_delete = ON")
    return await call_sync(conn, erase, customers, main_id)


async def compact_db(db: Database) -> None:
    """`compact` on the desk's connection, outside any transaction."""
    from omnidesk.store.identities import call_sync

    await call_sync(db.conn, compact)


# -- retention ----------------------------------------------------------------------------------


class RetentionPlan(NamedTuple):
    """What a retention pass removes: the raw bytes of `raw` (message ids) and the content of
    `conversations` (resolved long enough ago), which stay as shells like an erased customer's."""

    raw: tuple[int, ...]
    conversations: tuple[int, ...]


def retention_plan(c: sqlite3.Connection, raw_before: int | None,
                   resolved_before: int | None) -> RetentionPlan:
    """What would go: raw bytes of messages received before `raw_before`, and conversations
    resolved before `resolved_before` that still hold content (None: that rule is off)."""
    raw = _ids(c, "SELECT id FROM messages WHERE raw_sha256 IS NOT NULL AND received_at < ? ORDER BY id",
               [raw_before]) if raw_before is not None else []
    convs = _ids(c, "SELECT c.id FROM conversations c WHERE c.status = 'resolved' AND c.resolved_at < ?"
                 " AND (c.subject <> '' OR EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id"
                 " AND (m.text <> '' OR m.subject <> '' OR m.author_address <> ''"
                 " OR m.raw_sha256 IS NOT NULL)))"
                 " ORDER BY c.id", [resolved_before]) if resolved_before is not None else []
    return RetentionPlan(tuple(raw), tuple(convs))


def apply_retention(c: sqlite3.Connection, plan: RetentionPlan) -> tuple[str, ...]:
    """Carry `plan` out in the caller's transaction; returns the blobs no longer referenced."""
    raws = {r[0] for r in c.execute(f"SELECT raw_sha256 FROM messages WHERE id IN {_in(plan.raw)}"
                                    " AND raw_sha256 IS NOT NULL", plan.raw)}
    c.execute(f"UPDATE messages SET raw_sha256 = NULL WHERE id IN {_in(plan.raw)}", plan.raw)
    convs = list(plan.conversations)
    msgs = _ids(c, f"SELECT id FROM messages WHERE conversation_id IN {_in(convs)}", convs)
    # Out of the index with the values they went in with (a pass over one set of messages,
    # not the whole index as an erasure's rebuild: retention runs every day).
    rows = c.execute("SELECT id, subject, text, author_name, author_address FROM messages"
                     f" WHERE id IN {_in(msgs)}", msgs).fetchall()
    from omnidesk.store.ingest import fts_values

    c.executemany("INSERT INTO message_fts (message_fts, rowid, subject, body, sender)"
                  " VALUES ('delete', ?, ?, ?, ?)",
                  [(r[0], *fts_values(r[1], r[2], f"{r[3]} {r[4]}".strip())) for r in rows])
    shas = _shell(c, msgs, convs)
    _redact_events(c, "conversation_id", convs)
    if msgs:
        c.execute("INSERT INTO message_fts (message_fts) VALUES ('optimize')")
    return _drop_unreferenced(c, raws | shas)


async def plan_retention(db: Database, raw_before: int | None, resolved_before: int | None) -> RetentionPlan:
    from omnidesk.store.identities import call_sync

    return await call_sync(db.conn, retention_plan, raw_before, resolved_before)


async def retention_in(conn: aiosqlite.Connection, raw_before: int | None,
                       resolved_before: int | None) -> tuple[RetentionPlan, tuple[str, ...]]:
    """Plan and apply in the caller's `db.write()`, so what is removed is what the plan says."""
    from omnidesk.store.identities import call_sync

    await conn.execute("PRAGMA secure_delete = ON")
    plan = await call_sync(conn, retention_plan, raw_before, resolved_before)
    return plan, await call_sync(conn, apply_retention, plan)
