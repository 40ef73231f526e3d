"""SQL for identities and customer resolution during ingest (and for services).

The ingest path runs these as plain sqlite3 calls inside the aiosqlite worker
thread (see `call_sync`): one batch makes thousands of small lookups, and a
round trip through aiosqlite's queue per lookup would cost more than the
lookup itself. Async wrappers are provided for the service layer.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

import aiosqlite

from adapters.base import IDENTITY_KINDS

T = TypeVar("T")

#: Merge chains are short; this bounds a corrupt cycle.
_MAX_HOPS = 32


async def call_sync(conn: aiosqlite.Connection, fn: Callable[..., T], *args: Any) -> T:
    """Run `fn(sqlite3_connection, *args)` in aiosqlite's worker thread.

    Uses aiosqlite's (stable since 0.17) `_execute`/`_conn` so the function runs
    on the same connection and inside the caller's open transaction, without
    blocking the event loop. Only code in omnidesk/store/ may call this.
    """
    return await conn._execute(fn, conn._conn, *args)


def current_customer(c: sqlite3.Connection, customer_id: int) -> int:
    """Follow `merged_into` to the customer that holds this one now."""
    for _ in range(_MAX_HOPS):
        row = c.execute("SELECT merged_into FROM customers WHERE id = ?", (customer_id,)).fetchone()
        if row is None or row[0] is None:
            return customer_id
        customer_id = row[0]
    return customer_id


def find_identity(c: sqlite3.Connection, kind: str, address: str) -> tuple[int, int] | None:
    """(identity_id, current customer_id) for a normalised address, or None."""
    row = c.execute(
        "SELECT i.id, i.customer_id, cu.merged_into FROM identities i"
        " JOIN customers cu ON cu.id = i.customer_id WHERE i.kind = ? AND i.address = ?",
        (kind, address),
    ).fetchone()
    if row is None:
        return None
    customer_id = row[1] if row[2] is None else current_customer(c, row[1])
    return row[0], customer_id


def create_customer(c: sqlite3.Connection, name: str, now: int) -> int:
    cur = c.execute(
        "INSERT INTO customers (name, created_at, updated_at) VALUES (?, ?, ?)", (name, now, now)
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


def create_identity(c: sqlite3.Connection, customer_id: int, kind: str, address: str,
                    display_name: str, now: int) -> int:
    cur = c.execute(
        "INSERT INTO identities (customer_id, kind, address, display_name, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (customer_id, kind, address, display_name, now),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


def add_participant(c: sqlite3.Connection, conversation_id: int, identity_id: int,
                    role: str = "participant") -> None:
    c.execute(
        "INSERT OR IGNORE INTO participants (conversation_id, identity_id, role) VALUES (?, ?, ?)",
        (conversation_id, identity_id, role),
    )


def own_addresses(c: sqlite3.Connection) -> dict[tuple[str, str], int | None]:
    """Identities that are the desk itself, by (kind, address): channel addresses (-> None)
    and agents' identities of every kind (-> agent id).

    A channel's address has its channel's kind when that is an identity kind (a Slack bot
    user), else it is mail (email and maildir channels give their support address).
    """
    own: dict[tuple[str, str], int | None] = {}
    for kind, address in c.execute("SELECT kind, address FROM channels WHERE address IS NOT NULL"):
        key_kind = kind if kind in IDENTITY_KINDS else "email"
        own[(key_kind, address.strip().lower() if key_kind == "email" else address.strip())] = None
    for agent_id, kind, address in c.execute("SELECT agent_id, kind, address FROM agent_identities"):
        own[(kind, address)] = agent_id
    return own
