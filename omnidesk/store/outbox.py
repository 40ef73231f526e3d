"""SQL for the outbox: queueing (service layer) and claiming/settling (dispatcher).

A row moves queued -> sending -> sent | failed (or back to queued for a retry),
and queued -> cancelled while its undo window is open. `sending` rows carry a
lease (`lease_owner`, `lease_until`): a dispatcher that dies mid-send leaves a
lease that expires, and the next claim takes the row up again. Every settle
checks the lease owner, so a dispatcher that lost its lease cannot overwrite
what the new owner did.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiosqlite

from omnidesk.store import references
from omnidesk.store.actions import HUMAN_MESSAGE
from omnidesk.store.db import Database
from omnidesk.store.identities import call_sync
from omnidesk.store.updates import apply_pending

#: Where a receipt may say delivery stands (adapters/base.py DELIVERY_STATES without the failures).
RECEIPT_STATES = frozenset({"queued", "sent", "delivered", "read"})


async def enqueue(conn: aiosqlite.Connection, *, message_id: int, channel_id: int, payload: str,
                  not_before: int, now: int) -> int:
    """Queue a stored `out` message; call inside the transaction that stored it."""
    cursor = await conn.execute(
        "INSERT INTO outbox (message_id, channel_id, state, payload, not_before, next_attempt_at,"
        " created_at, updated_at) VALUES (?, ?, 'queued', ?, ?, ?, ?, ?)",
        (message_id, channel_id, payload, not_before, not_before, now, now),
    )
    await conn.execute("UPDATE messages SET delivery = 'queued' WHERE id = ?", (message_id,))
    assert cursor.lastrowid is not None
    return cursor.lastrowid


@dataclass(frozen=True, slots=True)
class Claimed:
    """An outbox row a dispatcher holds the lease on."""

    id: int
    message_id: int
    conversation_id: int
    channel_id: int
    channel_name: str
    channel_kind: str
    payload: str
    attempts: int  # including this one
    lease_until: int


# Due: queued and past both the undo window and the retry time, or sending with an expired lease
# (its dispatcher died). The state check in the UPDATE's WHERE makes the claim atomic even without
# the BEGIN IMMEDIATE around it: a row another dispatcher took in between no longer matches.
_DUE = (
    "((state = 'queued' AND not_before <= :now AND next_attempt_at <= :now)"
    " OR (state = 'sending' AND lease_until < :now))"
)


async def claim_due(db: Database, *, owner: str, now: int, lease_ms: int, limit: int = 10) -> list[Claimed]:
    """Take the lease on up to `limit` due rows (oldest due first) and mark their messages `sending`."""
    async with db.write() as conn:
        rows = await (await conn.execute(
            f"UPDATE outbox SET state = 'sending', lease_owner = :owner, lease_until = :until,"
            f" attempts = attempts + 1, updated_at = :now"
            f" WHERE id IN (SELECT id FROM outbox WHERE {_DUE} ORDER BY next_attempt_at, id LIMIT :limit)"
            f" AND {_DUE}"
            f" RETURNING id, message_id, channel_id, payload, attempts, lease_until",
            {"owner": owner, "until": now + lease_ms, "now": now, "limit": limit},
        )).fetchall()
        claimed = []
        for row in rows:
            await conn.execute("UPDATE messages SET delivery = 'sending' WHERE id = ?", (row["message_id"],))
            info = await (await conn.execute(
                "SELECT m.conversation_id, c.name, c.kind FROM messages m JOIN channels c ON c.id = ?"
                " WHERE m.id = ?", (row["channel_id"], row["message_id"]),
            )).fetchone()
            claimed.append(Claimed(
                id=row["id"], message_id=row["message_id"], conversation_id=info[0],
                channel_id=row["channel_id"], channel_name=info[1], channel_kind=info[2],
                payload=row["payload"], attempts=row["attempts"], lease_until=row["lease_until"],
            ))
    claimed.sort(key=lambda c: c.id)
    return claimed


async def lease_owners(db: Database) -> list[str]:
    """Who holds a lease on a `sending` row right now (live or not: the caller decides)."""
    rows = await db.fetchall(
        "SELECT DISTINCT lease_owner FROM outbox WHERE state = 'sending' AND lease_owner IS NOT NULL")
    return [r[0] for r in rows]


async def expire_leases(db: Database, owners: list[str], *, now: int) -> int:
    """End the leases these (dead) owners hold, so the next claim takes their rows at once."""
    if not owners:
        return 0
    marks = ",".join("?" * len(owners))
    async with db.write() as conn:
        cur = await conn.execute(
            f"UPDATE outbox SET lease_until = ? WHERE state = 'sending' AND lease_owner IN ({marks})"
            f" AND lease_until >= ?", (now - 1, *owners, now),
        )
        return cur.rowcount


async def extend_lease(db: Database, outbox_id: int, *, owner: str, until: int) -> bool:
    """Keep a long send's lease alive; False when the lease was lost (another owner took it)."""
    async with db.write() as conn:
        cur = await conn.execute(
            "UPDATE outbox SET lease_until = ? WHERE id = ? AND state = 'sending' AND lease_owner = ?",
            (until, outbox_id, owner),
        )
        return cur.rowcount == 1


async def mark_sent(db: Database, outbox_id: int, *, owner: str, sent_at: int, now: int,
                    receipt: dict[str, Any], refs: tuple[str, ...] = (), scope: str = "",
                    state: str = "sent") -> bool:
    """Settle a delivered row: outbox `sent`, the message at delivery `state` (the receipt's),
    receipt into the message meta, and the conversation's first response time if this was the first.

    The message's external_id stays our own reference (the email Message-ID); the ids the
    channel gave it (`refs`: the receipt's external_id and also_ids, in `scope`) become its
    references too, so an answer to it threads here and our message read back is known as
    ours; updates that arrived about them first are applied now. False if the lease was lost.
    """
    async with db.write() as conn:
        cur = await conn.execute(
            "UPDATE outbox SET state = 'sent', lease_owner = NULL, lease_until = NULL, last_error = NULL,"
            " updated_at = ? WHERE id = ? AND state = 'sending' AND lease_owner = ?",
            (now, outbox_id, owner),
        )
        if cur.rowcount != 1:
            return False
        row = await (await conn.execute(
            "SELECT m.id, m.meta, m.conversation_id, o.channel_id FROM outbox o"
            " JOIN messages m ON m.id = o.message_id WHERE o.id = ?", (outbox_id,),
        )).fetchone()
        meta = json.loads(row["meta"] or "{}")
        meta["receipt"] = receipt
        await conn.execute(
            "UPDATE messages SET delivery = ?, delivery_error = NULL, sent_at = ?, meta = ?"
            " WHERE id = ?",
            (state if state in RECEIPT_STATES else "sent", sent_at,
             json.dumps(meta, ensure_ascii=False, separators=(",", ":")), row["id"]),
        )
        ids = tuple(r for r in refs if r)
        if ids:
            await call_sync(conn, references.add, row["channel_id"], scope, ids, row["id"])
            await call_sync(conn, apply_pending, row["channel_id"], scope, ids, now)
        await conn.execute(
            # An automatic acknowledgement (flagged auto-reply) is no response to the customer.
            "UPDATE conversations SET first_response_at = COALESCE(first_response_at, ?) WHERE id = ?"
            f" AND EXISTS (SELECT 1 FROM messages WHERE id = ?{HUMAN_MESSAGE})",
            (sent_at, row["conversation_id"], row["id"]),
        )
        return True


async def mark_retry(db: Database, outbox_id: int, *, owner: str, error: str, next_attempt_at: int,
                     now: int) -> bool:
    """A transient failure: back to queued for `next_attempt_at`; the error shows on the message."""
    async with db.write() as conn:
        cur = await conn.execute(
            "UPDATE outbox SET state = 'queued', lease_owner = NULL, lease_until = NULL, last_error = ?,"
            " next_attempt_at = ?, updated_at = ? WHERE id = ? AND state = 'sending' AND lease_owner = ?",
            (error, next_attempt_at, now, outbox_id, owner),
        )
        if cur.rowcount != 1:
            return False
        await conn.execute(
            "UPDATE messages SET delivery = 'queued', delivery_error = ?"
            " WHERE id = (SELECT message_id FROM outbox WHERE id = ?)", (error, outbox_id),
        )
        return True


async def mark_failed(db: Database, outbox_id: int, *, owner: str, error: str, now: int) -> bool:
    """A permanent failure: outbox and message `failed`, with the channel's own words."""
    async with db.write() as conn:
        cur = await conn.execute(
            "UPDATE outbox SET state = 'failed', lease_owner = NULL, lease_until = NULL, last_error = ?,"
            " updated_at = ? WHERE id = ? AND state = 'sending' AND lease_owner = ?",
            (error, now, outbox_id, owner),
        )
        if cur.rowcount != 1:
            return False
        await conn.execute(
            "UPDATE messages SET delivery = 'failed', delivery_error = ?"
            " WHERE id = (SELECT message_id FROM outbox WHERE id = ?)", (error, outbox_id),
        )
        return True


async def release(db: Database, outbox_ids: list[int], *, owner: str, now: int) -> int:
    """Give back leases not yet used (shutting down before sending): rows are queued again at once."""
    if not outbox_ids:
        return 0
    async with db.write() as conn:
        marks = ",".join("?" * len(outbox_ids))
        cur = await conn.execute(
            f"UPDATE outbox SET state = 'queued', lease_owner = NULL, lease_until = NULL,"
            f" attempts = MAX(attempts - 1, 0), updated_at = ?"
            f" WHERE id IN ({marks}) AND state = 'sending' AND lease_owner = ? RETURNING message_id",
            (now, *outbox_ids, owner),
        )
        message_ids = [r[0] for r in await cur.fetchall()]
        for message_id in message_ids:
            await conn.execute("UPDATE messages SET delivery = 'queued' WHERE id = ?", (message_id,))
        return len(message_ids)


async def next_due_at(db: Database) -> int | None:
    """When the earliest row becomes due (epoch ms), for the dispatcher's sleep; None when idle."""
    row = await db.fetchone(
        "SELECT MIN(CASE WHEN state = 'queued' THEN MAX(not_before, next_attempt_at) ELSE lease_until END)"
        " FROM outbox WHERE state IN ('queued', 'sending')"
    )
    return None if row is None or row[0] is None else int(row[0])


async def delivery_of(db: Database, message_id: int) -> dict[str, Any] | None:
    """The outbox row of a message as a dict (state, attempts, last_error, ...), for tests and status."""
    row = await db.fetchone("SELECT * FROM outbox WHERE message_id = ?", (message_id,))
    return dict(row) if row is not None else None


async def state_counts(db: Database) -> dict[str, int]:
    """How many outbox rows are in each state (for `omnidesk sync --status`)."""
    rows = await db.fetchall("SELECT state, COUNT(*) FROM outbox GROUP BY state")
    return {r[0]: int(r[1]) for r in rows}
