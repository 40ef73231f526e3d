"""Managing agents: deactivating and reactivating them (admins only; omnidesk/permissions.py)."""

from __future__ import annotations

import os

from omnidesk.desk import Desk
from omnidesk.errors import UserError
from omnidesk.permissions import PermissionDenied, require
from omnidesk.services.actionresult import ActionResult, EventKind, record_event
from omnidesk.services.unit import unit_of_work
from omnidesk.store import agents as store_agents
from omnidesk.timeutil import now_ms


async def require_manager(desk: Desk) -> None:
    """Only an admin manages agents; with nobody acting, only while the desk has no agent yet
    (the first `omnidesk agent add` on a fresh desk)."""
    if desk.agent is None:
        if await store_agents.active_count(desk.db):
            user = os.environ.get("USER") or os.environ.get("LOGNAME") or "?"
            raise PermissionDenied(f"managing agents needs the admin role; OS user {user!r} is not an agent",
                                   hint="an admin of this desk runs it")
        return
    require(desk.agent, "agent.manage")


async def set_agent_active(desk: Desk, name: str, active: bool, *, unassign: bool = False) -> ActionResult:
    """Deactivate (it can no longer act; its history stays) or reactivate an agent.

    `unassign`: on deactivation, the agent's conversations that are not resolved lose their
    assignee, in the same unit of work (one undo)."""
    from omnidesk.conversations import reads
    from omnidesk.services import services

    await require_manager(desk)
    agent = await store_agents.agent_by_name(desk.db, name)
    if agent is None:
        raise UserError(f"unknown agent {name!r}", hint="see `omnidesk agent list`")
    if agent.active == active:
        raise UserError(f"agent {name} is {'active' if active else 'deactivated'} already")
    if not active and desk.agent is not None and desk.agent.id == agent.id:
        raise UserError("an admin cannot deactivate themselves", hint="another admin does it")
    kind = EventKind.AGENT_REACTIVATED if active else EventKind.AGENT_DEACTIVATED
    ids = await reads.conversation_ids(desk, f"assignee:{name} -status:resolved -status:spam") \
        if unassign and not active else []
    async with unit_of_work(desk) as uow:
        await store_agents.set_active(desk.db, agent.id, active)
        async with desk.db.write() as conn:
            await record_event(conn, desk, kind, now_ms(), after={"agent": name})
        if ids:
            await services.assign(desk, ids, None)
    verb = "Reactivated" if active else "Deactivated"
    extra = f"; unassigned {len(ids)} conversation{'s' if len(ids) != 1 else ''}" if ids else ""
    return uow.result(f"{verb} agent {name}{extra}", "agent_active")
