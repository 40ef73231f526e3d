"""SLA escalations: when a target warns or is breached, its policy's actions run, once.

    fired = await run_due(desk)      # the sync daemon's timers, whenever a stage is due

Each stage (a target's warning, its breach) fires in one unit of work: the mark that it
fired (omnidesk/store/sla.py `mark_fired`, which refuses a second time), its event
(`sla_warning` / `sla_breached`, naming the agents to notify, which their consoles
show) and the actions (tag, priority, assignment, note), all committed together, with
the reason "SLA policy 'NAME'" on each event. So a crash before the commit leaves the
stage to fire after a restart, and one after it never fires it again. An action that
cannot be done (an agent who no longer exists) is skipped and said in a note; the rest
still happen.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import NamedTuple

from omnidesk.desk import Desk
from omnidesk.errors import UserError
from omnidesk.eventkinds import EventKind
from omnidesk.model import PRIORITIES
from omnidesk.services import services
from omnidesk.services.actionresult import ActionResult, record_event
from omnidesk.services.unit import unit_of_work
from omnidesk.sla.policy import Escalation, Policy
from omnidesk.store import reads as store_reads
from omnidesk.store import routing as store_routing
from omnidesk.store import sla as store
from omnidesk.timeutil import now_ms

log = logging.getLogger(__name__)


class Fired(NamedTuple):
    """A stage that fired: which, the unit's result (undoable as one) and the actions skipped."""

    stage: store.Stage
    result: ActionResult
    skipped: tuple[str, ...]


def _policy(desk: Desk, name: str) -> Policy | None:
    return next((p for p in desk.settings.sla if p.name == name), None)


async def run_due(desk: Desk, *, now: int | None = None) -> list[Fired]:
    """Fire every warning and breach due by `now`, each once, in the order they fell due."""
    now = now_ms() if now is None else now
    system = desk.as_agent(None)
    stages = await store.due_stages(desk.db, now)
    fired = []
    for stage in stages:
        result = await fire(system, stage, now)
        if result is not None:
            fired.append(result)
    return fired


async def fire(desk: Desk, stage: store.Stage, now: int) -> Fired | None:
    """One stage in one unit of work; None when it had fired already (another process was first)."""
    policy = _policy(desk, stage.policy)
    escalation = Escalation() if policy is None else (
        policy.on_warning if stage.stage == "warning" else policy.on_breach)
    kind = EventKind.SLA_WARNING if stage.stage == "warning" else EventKind.SLA_BREACHED
    async with unit_of_work(desk, reason=f"SLA policy '{stage.policy}'") as uow:
        async with desk.db.write() as conn:
            if not await store.mark_fired(conn, stage, now):
                return None
            await record_event(conn, desk, kind, now, conversation_id=stage.conversation_id,
                               after={"target": stage.target, "policy": stage.policy, "due_at": stage.at,
                                      "notify": list(escalation.notify)})
            # The routing rules that run on this event (docs/rules.md), once, with the mark.
            await store_routing.queue(conn, stage.conversation_id,
                                      "sla_warning" if stage.stage == "warning" else "sla_breach", now)
        skipped = await _act(desk, stage.conversation_id, escalation)
    what = "warned" if stage.stage == "warning" else "breached"
    log.info("#%d: %s target of SLA policy %r %s", stage.conversation_id, stage.target, stage.policy, what)
    return Fired(stage, uow.result(f"#{stage.conversation_id} {stage.target} {what}", "escalation"),
                 tuple(skipped))


async def _act(desk: Desk, conversation_id: int, escalation: Escalation) -> list[str]:
    """The escalation's actions, each on its own savepoint; what could not be done, in words."""
    ids = [conversation_id]
    skipped = []

    async def attempt(what: str, action: Awaitable[object]) -> None:
        try:
            await action
        except UserError as exc:  # that action is undone alone (its savepoint); the rest go on
            skipped.append(f"{what}: {exc}")

    if escalation.tags:
        await attempt("tag", services.tag(desk, ids, add=escalation.tags))
    if escalation.priority is not None:
        row = await store_reads.conversation_row(desk.db, conversation_id)
        target = escalation.priority
        if target == "raise" and row is not None:
            target = PRIORITIES[min(len(PRIORITIES) - 1, PRIORITIES.index(row["priority"]) + 1)]
        if target != "raise":
            await attempt("priority", services.set_priority(desk, ids, target))  # type: ignore[arg-type]
    if escalation.assign is not None or escalation.team is not None:
        await attempt("assign", services.assign(desk, ids, escalation.assign, team=escalation.team))
    notes = [escalation.note] if escalation.note else []
    if skipped:
        notes.append("SLA escalation could not " + "; ".join(skipped))
    for note in notes:
        await attempt("note", services.add_note(desk, conversation_id, note))
    return skipped
