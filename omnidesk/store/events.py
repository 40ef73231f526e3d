"""Events the system writes while ingesting (no agent): created, reopened, edited, delivered, ..."""

from __future__ import annotations

import json
import sqlite3


def system_event(c: sqlite3.Connection, conversation_id: int, customer_id: int | None, kind: str,
                 before: object, after: object, at: int) -> None:
    """One event row with no agent, `before`/`after` as JSON (None stays NULL)."""
    c.execute(
        "INSERT INTO events (conversation_id, customer_id, agent_id, kind, before, after, created_at)"
        " VALUES (?, ?, NULL, ?, ?, ?, ?)",
        (conversation_id, customer_id, kind,
         None if before is None else json.dumps(before, separators=(",", ":"), ensure_ascii=False),
         None if after is None else json.dumps(after, separators=(",", ":"), ensure_ascii=False), at),
    )
