"""SQL for the sync daemon's timers: snoozed conversations whose time has come."""

from __future__ import annotations

from omnidesk.eventkinds import EventKind
from omnidesk.store.db import Database
from omnidesk.store.events import insert_event


async def wake_snoozed(db: Database, *, now: int) -> list[int]:
    """Reopen every conversation snoozed until `now` or earlier, with a system `status` event each.

    One transaction: the status change and its event land together. Returns the woken ids.
    """
    async with db.write() as conn:
        rows = await (await conn.execute(
            "SELECT id, snoozed_until FROM conversations"
            " WHERE status = 'snoozed' AND snoozed_until IS NOT NULL AND snoozed_until <= ?",
            (now,),
        )).fetchall()
        for row in rows:
            # Waking brings it back to the top of the inbox, as if the customer had written.
            await conn.execute(
                "UPDATE conversations SET status = 'open', snoozed_until = NULL,"
                " last_activity_at = MAX(last_activity_at, ?) WHERE id = ?",
                (now, row["id"]),
            )
            await insert_event(
                db, conn, kind=EventKind.STATUS, agent_id=None, now=now, conversation_id=row["id"],
                before={"status": "snoozed", "snoozed_until": row["snoozed_until"]},
                after={"status": "open", "reason": "snooze ended"},
            )
    return sorted(r["id"] for r in rows)


async def next_snooze_end(db: Database) -> int | None:
    """The earliest snoozed_until among snoozed conversations (epoch ms), None when none."""
    row = await db.fetchone("SELECT MIN(snoozed_until) FROM conversations WHERE status = 'snoozed'")
    return None if row is None or row[0] is None else int(row[0])
