"""SQL for a customer's data as a whole: what an export reads beside the usual reads.

A customer's data is that of the customer and of every customer merged into it (the
same person, found twice): `merged_closure`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from omnidesk.store.db import Database


async def merged_closure(db: Database, customer_id: int) -> list[int]:
    """`customer_id` and every customer merged into it, directly or through another."""
    rows = await db.fetchall(
        "WITH RECURSIVE c(id) AS (SELECT ? UNION SELECT cu.id FROM customers cu JOIN c ON cu.merged_into = c.id)"
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
