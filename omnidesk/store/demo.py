"""SQL for the demo builder only: make a freshly built history look like it happened over weeks.

The demo's agents act through omnidesk.services.services, which stamp everything "now";
a desk where every note, call and reply is "just now" does not look like a
real team's inbox. `backdate` moves what happened during the build, per
conversation, into the days after the customer's last mail, keeping its order.
"""

from __future__ import annotations

from collections.abc import Sequence

from omnidesk.store.db import Database

DAY_MS = 86_400_000

# t' = t0 + span * (0.05 + 0.9 * (t - since) / width), per conversation (bd row).
_MAPPED = "(bd.t0 + CAST(bd.span * (0.05 + 0.9 * ({col} - :since) / CAST(:w AS REAL)) AS INTEGER))"


async def backdate(db: Database, conversation_ids: Sequence[int], *, since: int, until: int, now: int,
                   max_span_ms: int = 2 * DAY_MS) -> int:
    """Map times in [since, until] onto (t0, t0 + span] per conversation; returns conversations moved.

    t0 is the conversation's latest message older than `since` (the customer's mail);
    span is at most `max_span_ms` and ends two minutes before `now`. Messages received
    during the build count as received when sent. Set-based: a handful of statements.
    """
    async with db.write() as conn:
        # Times a little ahead of `until` (a Date header rounded up) still map inside the span.
        latest = (await (await conn.execute(
            "SELECT max((SELECT max(sent_at) FROM messages), (SELECT max(created_at) FROM events))",
        )).fetchone())[0]
        until = max(until, latest or until)
        params = {"since": since, "w": max(1, until - since), "now": now, "max_span": max_span_ms}
        await conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS bd (cid INTEGER PRIMARY KEY, t0 INTEGER, span INTEGER)")
        await conn.execute("DELETE FROM bd")
        await conn.executemany("INSERT INTO bd (cid) VALUES (?)", [(c,) for c in conversation_ids])
        await conn.execute(
            "UPDATE bd SET t0 = (SELECT max(m.sent_at) FROM messages m WHERE m.conversation_id = bd.cid"
            " AND m.sent_at < :since)", params)
        await conn.execute("UPDATE bd SET span = min(:now - 120000 - t0, :max_span)", params)
        await conn.execute("DELETE FROM bd WHERE t0 IS NULL OR span <= 0")
        await conn.execute(
            f"UPDATE messages SET sent_at = {_MAPPED.format(col='messages.sent_at')} FROM bd"
            " WHERE messages.conversation_id = bd.cid AND messages.sent_at >= :since", params)
        await conn.execute(
            "UPDATE messages SET received_at = sent_at"
            " WHERE conversation_id IN (SELECT cid FROM bd) AND received_at >= :since", params)
        await conn.execute(
            "UPDATE events SET created_at ="
            " (SELECT min(m.sent_at) FROM messages m WHERE m.conversation_id = events.conversation_id)"
            " WHERE conversation_id IN (SELECT cid FROM bd) AND created_at >= :since"
            " AND agent_id IS NULL AND kind = 'created'", params)
        await conn.execute(
            f"UPDATE events SET created_at = {_MAPPED.format(col='events.created_at')} FROM bd"
            " WHERE events.conversation_id = bd.cid AND events.created_at >= :since", params)
        await conn.execute(
            f"UPDATE conversations SET"
            f" first_response_at = CASE WHEN first_response_at >= :since"
            f"   THEN {_MAPPED.format(col='first_response_at')} ELSE first_response_at END,"
            f" resolved_at = CASE WHEN resolved_at >= :since"
            f"   THEN {_MAPPED.format(col='resolved_at')} ELSE resolved_at END"
            f" FROM bd WHERE conversations.id = bd.cid", params)
        # Counters as omnidesk/store/actions.py recompute_counters has them (min of sent/received).
        await conn.execute(
            "UPDATE conversations SET"
            " created_at = min(created_at,"
            "   (SELECT min(m.sent_at) FROM messages m WHERE m.conversation_id = conversations.id)),"
            " last_inbound_at = (SELECT max(min(m.sent_at, m.received_at)) FROM messages m"
            "   WHERE m.conversation_id = conversations.id AND m.direction = 'in'),"
            " last_activity_at = (SELECT max(min(m.sent_at, m.received_at)) FROM messages m"
            "   WHERE m.conversation_id = conversations.id)"
            " WHERE id IN (SELECT cid FROM bd)")
        moved = (await (await conn.execute("SELECT count(*) FROM bd")).fetchone())[0]
        await conn.execute("DELETE FROM bd")
    return int(moved)
