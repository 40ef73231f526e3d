"""Bench-only: the events a desk filled by benchfill.py would have, written in bulk.

benchfill writes conversations and messages; reports read statuses, assignments and
merges from events, so bench/reports.py adds what the services would have written:
`created` for every conversation, an `assigned` for each assigned one (one in seven
first assigned to another agent, a transfer), `status` to its current status after its
last message (pending, snoozed, resolved at `resolved_at`, spam) and, for one resolved
conversation in ten, an earlier resolution and a `reopened` before the last one.
Deterministic (by conversation id). Not used by the application.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

_STATUS = ("json_object('status', {before}, 'snoozed_until', NULL)", "json_object('status', {after},"
           " 'snoozed_until', NULL)")


def _status_event(at: str, before: str, after: str, where: str) -> str:
    b, a = (s.format(before=before, after=after) for s in _STATUS)
    return ("INSERT INTO events (conversation_id, customer_id, agent_id, kind, before, after, created_at)"
            f" SELECT c.id, NULL, c.assignee_id, 'status', {b}, {a}, {at} FROM conversations c WHERE {where}")


STATEMENTS = (
    "INSERT INTO events (conversation_id, customer_id, kind, after, created_at)"
    " SELECT id, customer_id, 'created', json_object('rule', 'new', 'channel_id', channel_id,"
    " 'linked_to', NULL), created_at FROM conversations",
    # A transfer first: assigned to the next agent round, then to the one it has now.
    "INSERT INTO events (conversation_id, kind, agent_id, before, after, created_at)"
    " SELECT c.id, 'assigned', c.assignee_id, json_object('assignee', NULL, 'team', NULL),"
    " json_object('assignee', a.name, 'team', NULL), c.created_at + 60000"
    " FROM conversations c JOIN agents a ON a.id = (c.assignee_id % 5) + 1"
    " WHERE c.assignee_id IS NOT NULL AND c.id % 7 = 0",
    "INSERT INTO events (conversation_id, kind, agent_id, before, after, created_at)"
    " SELECT c.id, 'assigned', c.assignee_id,"
    " json_object('assignee', CASE WHEN c.id % 7 = 0 THEN p.name END, 'team', NULL),"
    " json_object('assignee', a.name, 'team', NULL), c.created_at + 120000"
    " FROM conversations c JOIN agents a ON a.id = c.assignee_id"
    " JOIN agents p ON p.id = (c.assignee_id % 5) + 1"
    " WHERE c.assignee_id IS NOT NULL",
    # One resolved conversation in ten was resolved halfway, reopened by the customer an hour later.
    _status_event("c.created_at + (c.resolved_at - c.created_at) / 2", "'open'", "'resolved'",
                  "c.status = 'resolved' AND c.id % 10 = 0"),
    "INSERT INTO events (conversation_id, kind, before, after, created_at)"
    " SELECT c.id, 'reopened', json_object('status', 'resolved'), json_object('status', 'open'),"
    " c.created_at + (c.resolved_at - c.created_at) / 2 + 3600000"
    " FROM conversations c WHERE c.status = 'resolved' AND c.id % 10 = 0",
    _status_event("c.resolved_at", "'open'", "'resolved'", "c.status = 'resolved'"),
    _status_event("c.last_activity_at + 1000", "'open'", "c.status",
                  "c.status IN ('pending', 'snoozed', 'spam')"),
)


def fill_events(path: Path) -> int:
    """Write the events into the filled database at `path`; returns how many there are."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN")
        for sql in STATEMENTS:
            conn.execute(sql)
        conn.execute("COMMIT")
        return int(conn.execute("SELECT count(*) FROM events").fetchone()[0])
    finally:
        conn.close()
