"""SQL for customers and their identities: reads, creation, merge and unmerge.

Merging moves identities and conversations from one customer to another and
marks the source `merged_into`; the event written by the service layer lists
exactly what moved, so unmerge moves exactly that back.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING

from omnidesk.model import Customer, Identity

if TYPE_CHECKING:
    import aiosqlite

    from omnidesk.store.db import Database

_CUSTOMER_COLUMNS = "id, name, language, timezone, tier, notes, merged_into, created_at, language_manual"


def row_to_identity(row: sqlite3.Row) -> Identity:
    return Identity(
        id=row["id"],
        customer_id=row["customer_id"],
        kind=row["kind"],
        address=row["address"],
        display_name=row["display_name"],
        opted_out_at=row["opted_out_at"],
    )


def _row_to_customer(row: sqlite3.Row, identities: Sequence[Identity]) -> Customer:
    return Customer(
        id=row["id"],
        name=row["name"],
        language=row["language"],
        timezone=row["timezone"],
        tier=row["tier"],
        notes=row["notes"],
        merged_into=row["merged_into"],
        identities=tuple(identities),
        created_at=row["created_at"],
        language_manual=bool(row["language_manual"]),
    )


async def identities_of(db: Database, customer_ids: Sequence[int]) -> dict[int, list[Identity]]:
    if not customer_ids:
        return {}
    marks = ",".join("?" * len(customer_ids))
    rows = await db.fetchall(
        f"SELECT id, customer_id, kind, address, display_name, opted_out_at FROM identities"
        f" WHERE customer_id IN ({marks}) ORDER BY customer_id, id",
        tuple(customer_ids),
    )
    out: dict[int, list[Identity]] = {cid: [] for cid in customer_ids}
    for r in rows:
        out[r["customer_id"]].append(row_to_identity(r))
    return out


async def people(db: Database) -> list[tuple[int, str, list[str]]]:
    """(id, name, email addresses) of every customer not merged away, for duplicate suggestions."""
    rows = await db.fetchall(
        "SELECT c.id, c.name, group_concat(i.address, ' ') FROM customers c"
        " LEFT JOIN identities i ON i.customer_id = c.id AND i.kind = 'email'"
        " WHERE c.merged_into IS NULL GROUP BY c.id ORDER BY c.id")
    return [(r[0], r[1], (r[2] or "").split()) for r in rows]


async def get_customer(db: Database, customer_id: int) -> Customer | None:
    row = await db.fetchone(f"SELECT {_CUSTOMER_COLUMNS} FROM customers WHERE id = ?", (customer_id,))
    if row is None:
        return None
    idents = await identities_of(db, [customer_id])
    return _row_to_customer(row, idents[customer_id])


async def find_customers(
    db: Database, text: str = "", *, limit: int = 50, include_merged: bool = False
) -> list[Customer]:
    """Customers whose name or any identity address contains `text` (case-insensitive)."""
    where = [] if include_merged else ["c.merged_into IS NULL"]
    params: list[object] = []
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where.append(
            "(c.name LIKE ? ESCAPE '\\' OR EXISTS (SELECT 1 FROM identities i"
            " WHERE i.customer_id = c.id AND (i.address LIKE ? ESCAPE '\\'"
            " OR i.display_name LIKE ? ESCAPE '\\')))"
        )
        params += [pattern, pattern, pattern]
    clause = ("WHERE " + " AND ".join(where)) if where else ""
    rows = await db.fetchall(
        f"SELECT {', '.join('c.' + c.strip() for c in _CUSTOMER_COLUMNS.split(','))} FROM customers c"
        f" {clause} ORDER BY c.updated_at DESC, c.id DESC LIMIT ?",
        (*params, limit),
    )
    idents = await identities_of(db, [r["id"] for r in rows])
    return [_row_to_customer(r, idents[r["id"]]) for r in rows]


async def identity_by_address(
    db: Database | aiosqlite.Connection, kind: str, address: str
) -> Identity | None:
    from omnidesk.store.db import Database

    sql = ("SELECT id, customer_id, kind, address, display_name, opted_out_at FROM identities"
           " WHERE kind = ? AND address = ?")
    if isinstance(db, Database):
        row = await db.fetchone(sql, (kind, address))
    else:
        row = await (await db.execute(sql, (kind, address))).fetchone()
    return row_to_identity(row) if row else None


async def recent_inbound(db: Database, channel_id: int, kind: str, address: str,
                         limit: int = 20) -> list[tuple[int, str]]:
    """(sent_at, meta JSON) of the newest messages from identity (kind, address) on a channel."""
    # Through the customer's conversations (CROSS JOIN fixes that order): messages has no index on
    # its author, and its channel index (`+` keeps SQLite off it) would read the whole channel.
    rows = await db.fetchall(
        "SELECT m.sent_at, m.meta FROM identities i"
        " CROSS JOIN conversations c ON c.customer_id = i.customer_id"
        " CROSS JOIN messages m ON m.conversation_id = c.id"
        " WHERE i.kind = ? AND i.address = ? AND m.author_identity_id = i.id AND +m.channel_id = ?"
        " AND m.direction = 'in' ORDER BY m.sent_at DESC LIMIT ?", (kind, address, channel_id, limit))
    return [(r["sent_at"], r["meta"] or "{}") for r in rows]


async def customer_row(conn: aiosqlite.Connection, customer_id: int) -> sqlite3.Row | None:
    cursor = await conn.execute(f"SELECT {_CUSTOMER_COLUMNS} FROM customers WHERE id = ?", (customer_id,))
    return await cursor.fetchone()


async def create_customer(conn: aiosqlite.Connection, *, name: str, now: int) -> int:
    cursor = await conn.execute(
        "INSERT INTO customers (name, created_at, updated_at) VALUES (?, ?, ?)", (name, now, now)
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


async def add_identity(
    conn: aiosqlite.Connection, *, customer_id: int, kind: str, address: str, display_name: str, now: int
) -> int:
    cursor = await conn.execute(
        "INSERT INTO identities (customer_id, kind, address, display_name, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (customer_id, kind, address, display_name, now),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


async def owned_ids(conn: aiosqlite.Connection, customer_id: int) -> tuple[list[int], list[int]]:
    """(identity ids, conversation ids) currently belonging to a customer."""
    idents = await (
        await conn.execute("SELECT id FROM identities WHERE customer_id = ? ORDER BY id", (customer_id,))
    ).fetchall()
    convs = await (
        await conn.execute("SELECT id FROM conversations WHERE customer_id = ? ORDER BY id", (customer_id,))
    ).fetchall()
    return [r[0] for r in idents], [r[0] for r in convs]


async def move_owned(
    conn: aiosqlite.Connection,
    *,
    identity_ids: Sequence[int],
    conversation_ids: Sequence[int],
    from_customer: int,
    to_customer: int,
) -> tuple[int, int]:
    """Move the given identities and conversations, only those still owned by `from_customer`.

    Returns how many identities and conversations moved.
    """
    moved_i = moved_c = 0
    for iid in identity_ids:
        cur = await conn.execute(
            "UPDATE identities SET customer_id = ? WHERE id = ? AND customer_id = ?",
            (to_customer, iid, from_customer),
        )
        moved_i += cur.rowcount
    for cid in conversation_ids:
        cur = await conn.execute(
            "UPDATE conversations SET customer_id = ? WHERE id = ? AND customer_id = ?",
            (to_customer, cid, from_customer),
        )
        moved_c += cur.rowcount
    return moved_i, moved_c


async def set_merged_into(conn: aiosqlite.Connection, customer_id: int, target: int | None, now: int) -> None:
    await conn.execute(
        "UPDATE customers SET merged_into = ?, updated_at = ? WHERE id = ?", (target, now, customer_id)
    )


async def touch(conn: aiosqlite.Connection, customer_id: int, now: int) -> None:
    await conn.execute("UPDATE customers SET updated_at = ? WHERE id = ?", (now, customer_id))


async def merged_sources(conn: aiosqlite.Connection, target: int) -> list[int]:
    """Customers currently merged into `target`."""
    rows = await (
        await conn.execute("SELECT id FROM customers WHERE merged_into = ? ORDER BY id", (target,))
    ).fetchall()
    return [r[0] for r in rows]


async def set_name(conn: aiosqlite.Connection, customer_id: int, name: str, now: int) -> None:
    await conn.execute("UPDATE customers SET name = ?, updated_at = ? WHERE id = ?", (name, now, customer_id))


async def conversations_only_from(
    conn: aiosqlite.Connection, customer_id: int, identity_ids: Sequence[int], after_id: int
) -> list[int]:
    """The customer's conversations newer than id `after_id` whose every inbound message
    was written by one of `identity_ids` (and that have at least one)."""
    if not identity_ids:
        return []
    marks = ",".join("?" * len(identity_ids))
    rows = await (
        await conn.execute(
            "SELECT c.id FROM conversations c WHERE c.customer_id = ? AND c.id > ?"
            " AND EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND m.direction = 'in')"
            " AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND m.direction = 'in'"
            f"   AND (m.author_identity_id IS NULL OR m.author_identity_id NOT IN ({marks})))"
            " ORDER BY c.id",
            (customer_id, after_id, *identity_ids),
        )
    ).fetchall()
    return [r[0] for r in rows]


async def max_conversation_id(conn: aiosqlite.Connection) -> int:
    """The newest conversation id: a watermark (created_at is the first message's time, not insertion)."""
    row = await (await conn.execute("SELECT coalesce(max(id), 0) FROM conversations")).fetchone()
    return int(row[0]) if row else 0


async def identity_count(conn: aiosqlite.Connection, customer_id: int) -> int:
    row = await (await conn.execute(
        "SELECT count(*) FROM identities WHERE customer_id = ?", (customer_id,))).fetchone()
    return int(row[0]) if row else 0


async def remove_identity(conn: aiosqlite.Connection, identity_id: int) -> None:
    """Delete an identity; its messages keep their author's address and name, no longer the link."""
    await conn.execute("UPDATE messages SET author_identity_id = NULL WHERE author_identity_id = ?",
                       (identity_id,))
    await conn.execute("DELETE FROM participants WHERE identity_id = ?", (identity_id,))
    await conn.execute("DELETE FROM identities WHERE id = ?", (identity_id,))


#: The customer columns `set_fields` may change.
SETTABLE = ("language", "timezone", "tier", "language_manual")


async def set_fields(conn: aiosqlite.Connection, customer_id: int, fields: dict[str, object],
                     now: int) -> None:
    """Write the given columns (names from SETTABLE only) of one customer."""
    bad = [k for k in fields if k not in SETTABLE]
    if bad:
        raise ValueError(f"not a settable customer column: {bad[0]}")
    if not fields:
        return
    sets = ", ".join(f"{k} = ?" for k in fields)
    await conn.execute(f"UPDATE customers SET {sets}, updated_at = ? WHERE id = ?",
                       (*fields.values(), now, customer_id))
