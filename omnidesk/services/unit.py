"""A unit of work: several service actions that commit together and undo as one.

    async with unit_of_work(desk) as uow:
        await services.tag(desk, [7], add=["billing"])
        await services.assign(desk, [7], "ann")
        await services.add_note(desk, 7, "routed to billing")
    stack.append(uow.result("Routed #7 to billing"))

Every action called inside (in the same task) joins one write transaction:
`Database.write()` joins the task's open transaction as a savepoint instead of
starting its own, so the actions stay unchanged and an action called outside a
unit still runs in a transaction of its own. Their events share a group
(`events.group_id`), and `undo` of any result of the group undoes the whole
group. An exception that leaves the unit rolls back everything in it, events
included; one an action raises and the caller catches undoes only that action.
A unit inside a unit joins the outer one. A unit's `reason` goes with each of its
events into the timeline. Keep units short and free of network
I/O: other writers (other processes too) wait for the commit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from omnidesk.desk import Desk
from omnidesk.services.actionresult import ActionResult
from omnidesk.store import events as store_events


class UnitOfWork:
    """What a unit wrote, known once it has committed."""

    def __init__(self) -> None:
        self.event_ids: tuple[int, ...] = ()
        self.conversation_ids: tuple[int, ...] = ()

    def result(self, description: str, action: str = "unit") -> ActionResult:
        """The unit as one undoable action (for a toast and the undo stack)."""
        return ActionResult(action, self.conversation_ids, self.event_ids, description)


@asynccontextmanager
async def unit_of_work(desk: Desk, *, reason: str | None = None) -> AsyncIterator[UnitOfWork]:
    """One transaction for every action called inside; see the module docstring.

    `reason` (one line, "rule 'Hungarian billing'") is written with each of the unit's events,
    and the timeline adds it ("assigned this to ann by rule 'Hungarian billing'"); a unit
    without one inside a unit with one keeps the outer reason.
    """
    uow = UnitOfWork()
    async with desk.db.write() as conn:
        tx = desk.db.transaction
        assert tx is not None
        outer_reason = tx.reason
        tx.reason = reason or outer_reason
        try:
            since = await store_events.last_event_id(conn)
            yield uow
            written = await store_events.group_events_after(conn, tx.group_id, since) if tx.group_id else []
        finally:
            tx.reason = outer_reason
    uow.event_ids = tuple(e for e, _ in written)
    uow.conversation_ids = tuple(dict.fromkeys(c for _, c in written if c is not None))
