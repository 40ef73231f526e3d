"""Every agent action, one function each, shared by the CLI and the TUI.

Each mutating action runs in one write transaction (or joins the unit of work
it is called in, omnidesk/services/unit.py), records an event per conversation
it changed (agent, time, before/after), and returns an `ActionResult` that
`undo` can reverse. The acting agent is `desk.agent`
(None means the system: timers, the demo builder). All SQL is in
omnidesk/store/; this module decides, the store persists.

Notes and replies live in omnidesk/services/replies.py, calls in omnidesk/services/calls.py,
merges in omnidesk/services/merging.py; they are re-exported here so callers need one module.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Sequence

from omnidesk.desk import Desk
from omnidesk.errors import NotFound, UserError
from omnidesk.model import PRIORITIES, STATUSES, Agent, Priority, Status
from omnidesk.services.actionresult import (
    ActionResult,
    EventKind,
    describe_ids,
    load_conversations,
    record_event,
    unique,
)
from omnidesk.services.calls import log_call
from omnidesk.services.merging import (
    merge_conversations,
    merge_customers,
    move_message,
    undo_merge_events,
    unmerge_customer,
)
from omnidesk.services.replies import (
    cancel_reply,
    queue_reply,
    reply_quote,
    reply_routes,
    reply_templates,
    retry_reply,
    store_note,
    template_variables,
    undo_note,
)
from omnidesk.services.sla import recomputes_sla
from omnidesk.services.unit import UnitOfWork, unit_of_work
from omnidesk.store import actions as store
from omnidesk.store import agents as store_agents
from omnidesk.store import reads as store_reads
from omnidesk.store import routing as store_routing
from omnidesk.store.events import group_event_rows
from omnidesk.timeutil import now_ms

__all__ = [
    "ActionResult",
    "UnitOfWork",
    "add_agent",
    "add_note",
    "assign",
    "cancel_reply",
    "log_call",
    "mark_read",
    "merge_conversations",
    "merge_customers",
    "move_message",
    "queue_reply",
    "reply_quote",
    "reply_routes",
    "reply_templates",
    "resolve_agent",
    "retry_reply",
    "set_priority",
    "set_status",
    "tag",
    "template_variables",
    "undo",
    "unit_of_work",
    "unmerge_customer",
]

_TAG_NAME = re.compile(r"^[^\s\x00-\x1f\x7f,\"']{1,64}$")
_AGENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")


# -- agents -------------------------------------------------------------------------


async def _agent_named(desk: Desk, name: str) -> Agent:
    """An agent by name ("me" is the acting agent); NotFound names the known ones."""
    if name == "me":
        if desk.agent is None:
            raise UserError(
                "'me' needs an acting agent", hint="pass --as NAME or configure os_user for an agent"
            )
        return desk.agent
    agent = await store_agents.agent_by_name(desk.db, name)
    if agent is None:
        known = [a.name for a in await store_agents.list_agents(desk.db)]
        raise NotFound(
            f"unknown agent {name!r}",
            hint=f"known agents: {', '.join(known)}"
            if known
            else "no agents yet: add one with `omnidesk agent add NAME`",
        )
    return agent


async def resolve_agent(desk: Desk, name: str | None, os_user: str | None) -> Agent:
    """The agent named (`--as NAME`), else the one configured for os_user; UserError if none."""
    if name:
        if name == "me":
            raise UserError("--as needs an agent name, not 'me'")
        return await _agent_named(desk, name)
    if os_user:
        agent = await store_agents.agent_by_os_user(desk.db, os_user)
        if agent is not None:
            return agent
    raise UserError(
        f"no agent is configured for OS user {os_user!r}" if os_user else "no OS user to pick an agent by",
        hint="pass --as NAME, or set os_user for an agent in the config",
    )


async def add_agent(
    desk: Desk,
    name: str,
    *,
    display_name: str = "",
    email: str | None = None,
    os_user: str | None = None,
    skills: Sequence[str] = (),
    teams: Sequence[str] = (),
    identities: Sequence[tuple[str, str]] = (),
    role: str = "agent",
) -> Agent:
    """Add an agent with its identities besides `email` ((kind, address), normalised here): a
    message from any of them is the agent's own. One identity belongs to one agent. Admins only
    (or anyone while the desk has no agent)."""
    from omnidesk.customers.identity import normalise, normalise_typed
    from omnidesk.permissions import ROLES
    from omnidesk.services.staff import require_manager
    from omnidesk.store.agents import agent_by_identity

    await require_manager(desk)
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}: use {', '.join(ROLES)}")

    if not _AGENT_NAME.match(name) or name == "me":
        raise UserError(f"bad agent name {name!r}: use letters, digits, '.', '_' or '-' (not 'me')")
    if await store_agents.agent_by_name(desk.db, name) is not None:
        raise UserError(f"agent {name!r} exists already")
    if os_user and (other := await store_agents.agent_by_os_user(desk.db, os_user)) is not None:
        raise UserError(f"OS user {os_user!r} already acts as agent {other.name!r}")
    if email is not None:
        email = normalise_typed("email", email)
    pairs = list(dict.fromkeys((kind, normalise(kind, address)) for kind, address in identities))
    for kind, address in [("email", email or ""), *pairs]:
        if address and (other := await agent_by_identity(desk.db, kind, address)) is not None:
            raise UserError(f"{kind} {address!r} is already agent {other.name!r}")
    agent = await store_agents.insert_agent(
        desk.db,
        name=name,
        display_name=display_name,
        email=email,
        os_user=os_user,
        skills=skills,
        teams=teams,
        identities=pairs,
        role=role,
    )
    async with desk.db.write() as conn:
        await record_event(conn, desk, EventKind.AGENT_ADDED, now_ms(), after={"agent": name, "role": role})
    return agent


# -- field changes: assignee, tags, status, priority ------------------------------------


#: (before, after, fields to write) for one conversation, or None when nothing changes.
_Change = tuple[dict[str, object], dict[str, object], dict[str, object]]


async def _change_each(
    desk: Desk, ids: Sequence[int], kind: str, plan: Callable[[sqlite3.Row], _Change | None],
    *, now: int | None = None,
) -> list[int]:
    """Apply `plan` to every conversation in one transaction; one event per real change."""
    now = now_ms() if now is None else now
    events = []
    async with desk.db.write() as conn:
        rows = await load_conversations(conn, ids)  # NotFound before anything changes
        for cid in ids:
            change = plan(rows[cid])
            if change is None:
                continue
            before, after, fields = change
            await store.update_conversation(conn, cid, fields)
            events.append(await record_event(conn, desk, kind, now, conversation_id=cid,
                                             before=before, after=after))
    return events


async def assign(
    desk: Desk, conversation_ids: Sequence[int], assignee: str | None, *, team: str | None = None
) -> ActionResult:
    """Assign to an agent (by name; "me" is desk.agent) and/or a team.

    `assignee=None` unassigns the agent. `team=None` leaves the team as it is,
    `team=""` clears it, any other value sets it (it must be a team some agent
    belongs to).
    """
    ids = unique(conversation_ids)
    target = await _agent_named(desk, assignee) if assignee is not None else None
    if target is not None and not target.active:
        raise UserError(f"agent {target.name} is deactivated: nothing can be assigned to them")
    if team:
        teams = await store_reads.known_teams(desk.db)
        if team not in teams:
            raise NotFound(
                f"unknown team {team!r}",
                hint=f"known teams: {', '.join(sorted(teams))}"
                if teams
                else "no teams yet: give agents `teams = [...]` in the config",
            )
    names = {a.id: a.name for a in await store_agents.list_agents(desk.db)}

    def plan(row: sqlite3.Row) -> _Change | None:
        before = {"assignee": names.get(row["assignee_id"]), "team": row["team"]}
        new_team = row["team"] if team is None else (team or None)
        after = {"assignee": target.name if target else None, "team": new_team}
        fields = {"assignee_id": target.id if target else None, "team": new_team}
        return None if before == after else (before, after, fields)

    events = await _change_each(desk, ids, EventKind.ASSIGNED, plan)
    if target is not None:
        what = f"to {target.name}" + (f" (team {team})" if team else "")
        verb = "Assigned"
    elif team:
        verb, what = "Assigned", f"to team {team}"
    else:
        verb, what = "Unassigned", ""
    return ActionResult("assign", tuple(ids), tuple(events), _sentence(verb, ids, what, changed=len(events)))


def _check_tag(name: str) -> str:
    name = name.strip()
    if not _TAG_NAME.match(name) or name.startswith("-"):
        raise UserError(
            f"bad tag name {name!r}: no spaces, quotes, commas or control characters,"
            " at most 64 characters, not starting with '-'"
        )
    return name


@recomputes_sla
async def tag(
    desk: Desk, conversation_ids: Sequence[int], add: Sequence[str] = (), remove: Sequence[str] = ()
) -> ActionResult:
    """Add and/or remove tags; new tags are created, removing an unknown tag is an error."""
    ids = unique(conversation_ids)
    add_names = list(dict.fromkeys(_check_tag(t) for t in add))
    remove_names = list(dict.fromkeys(_check_tag(t) for t in remove))
    both = {t.casefold() for t in add_names} & {t.casefold() for t in remove_names}
    if both:
        raise UserError(f"cannot add and remove the same tag: {', '.join(sorted(both))}")
    if not add_names and not remove_names:
        raise UserError("no tags given")
    now, events = now_ms(), []
    async with desk.db.write() as conn:
        await load_conversations(conn, ids)  # NotFound before anything changes
        add_ids = await store.tag_ids(conn, add_names, create=True) if add_names else {}
        remove_ids = await store.tag_ids(conn, remove_names, create=False) if remove_names else {}
        missing = [t for t in remove_names if t not in remove_ids]
        if missing:
            raise NotFound(
                f"unknown tag {missing[0]!r}"
                if len(missing) == 1
                else f"unknown tags: {', '.join(repr(t) for t in missing)}"
            )
        for cid in ids:
            before = await store.conversation_tags(conn, cid)
            changed = False
            for tid in add_ids.values():
                changed |= await store.add_tag(conn, cid, tid)
            for tid in remove_ids.values():
                changed |= await store.remove_tag(conn, cid, tid)
            if changed:
                after = await store.conversation_tags(conn, cid)
                events.append(
                    await record_event(
                        conn, desk, EventKind.TAGGED, now,
                        conversation_id=cid,
                        before={"tags": before},
                        after={"tags": after},
                    )
                )
    what = " ".join([*(f"+{t}" for t in add_names), *(f"-{t}" for t in remove_names)])
    return ActionResult("tag", tuple(ids), tuple(events), _sentence("Tagged", ids, what, changed=len(events)))


@recomputes_sla
async def set_status(
    desk: Desk, conversation_ids: Sequence[int], status: Status, *, snooze_until: int | None = None
) -> ActionResult:
    """open | pending | snoozed (needs snooze_until, epoch ms) | resolved | spam."""
    if status not in STATUSES:
        raise UserError(f"unknown status {status!r}: use one of {', '.join(STATUSES)}")
    now = now_ms()
    if status == "snoozed":
        if snooze_until is None:
            raise UserError("snoozing needs a time to wake up (--until)")
        if snooze_until <= now:
            raise UserError("the snooze time is in the past")
    elif snooze_until is not None:
        raise UserError("--until only goes with status snoozed")
    ids = unique(conversation_ids)
    changed: list[int] = []

    def plan(row: sqlite3.Row) -> _Change | None:
        before = {"status": row["status"], "snoozed_until": row["snoozed_until"]}
        after = {"status": status, "snoozed_until": snooze_until}
        if before == after:
            return None
        changed.append(row["id"])
        fields: dict[str, object] = dict(after)
        if status == "resolved":
            fields["resolved_at"] = now
            before["resolved_at"] = row["resolved_at"]
        return before, after, fields

    async with desk.db.write() as conn:
        events = await _change_each(desk, ids, EventKind.STATUS, plan, now=now)
        if desk.agent is not None:  # an agent's change runs the `status_change` rules; a rule's never does
            for cid in changed:
                await store_routing.queue(conn, cid, "status_change", now)
    verb = {
        "open": "Reopened",
        "pending": "Set pending",
        "snoozed": "Snoozed",
        "resolved": "Resolved",
        "spam": "Marked as spam",
    }[status]
    return ActionResult("status", tuple(ids), tuple(events), _sentence(verb, ids, "", changed=len(events)))


@recomputes_sla
async def set_priority(desk: Desk, conversation_ids: Sequence[int], priority: Priority) -> ActionResult:
    if priority not in PRIORITIES:
        raise UserError(f"unknown priority {priority!r}: use one of {', '.join(PRIORITIES)}")
    ids = unique(conversation_ids)

    def plan(row: sqlite3.Row) -> _Change | None:
        if row["priority"] == priority:
            return None
        return {"priority": row["priority"]}, {"priority": priority}, {"priority": priority}

    events = await _change_each(desk, ids, EventKind.PRIORITY, plan)
    return ActionResult(
        "priority",
        tuple(ids),
        tuple(events),
        _sentence("Set priority", ids, f"to {priority}", changed=len(events)),
    )


def _sentence(verb: str, ids: Sequence[int], what: str, *, changed: int) -> str:
    text = f"{verb} {describe_ids(ids)}" + (f" {what}" if what else "")
    if not ids:
        return "Nothing to change"
    unchanged = len(ids) - changed
    if unchanged and len(ids) > 1:
        text += f" ({unchanged} unchanged)"
    elif unchanged:
        text += " (unchanged)"
    return text


# -- notes and read state -------------------------------------------------------------


async def add_note(desk: Desk, conversation_id: int, text: str) -> ActionResult:
    """An internal note: a `note` message, never sent to the customer."""
    return await store_note(desk, conversation_id, text)


async def mark_read(desk: Desk, conversation_id: int) -> None:
    """The acting agent has opened the conversation (no event: reading is not a change)."""
    if desk.agent is None:
        return  # the system reads nothing
    async with desk.db.write() as conn:
        await load_conversations(conn, [conversation_id])
        await store.set_read(conn, desk.agent.id, conversation_id, now_ms())


# -- undo -------------------------------------------------------------------------------

_FIELD_KINDS = {EventKind.ASSIGNED, EventKind.STATUS, EventKind.PRIORITY}


@recomputes_sla
async def undo(desk: Desk, result: ActionResult) -> ActionResult:
    """Reverse an action from its events (assign, tag, status, priority, notes, unsent replies, merges).

    Field changes are only undone while the conversation still shows what the
    action set; if someone changed it since, nothing is undone and the error
    names the conversation. Tags are undone as the inverse change (remove what
    was added, add back what was removed). An undo is itself an action: undo
    it to redo. A result of a unit of work (omnidesk/services/unit.py), or of any
    action inside one, undoes every action of the unit, newest first, in one
    transaction: all of them or, when one cannot be undone, none.
    """
    if not result.event_ids:
        return ActionResult("undo", result.conversation_ids, (), "Nothing to undo")
    parts = _undo_parts(await group_event_rows(desk.db, list(result.event_ids)))
    if len(parts) == 1:
        return await _undo_part(desk, result, parts[0])
    async with unit_of_work(desk) as uow:
        for part in reversed(parts):
            await _undo_part(desk, result, part)
    return uow.result(f"Undid: {result.description}", "undo")


#: How each kind is undone; a kind that only goes with the one before it (the source's side of a
#: merge, a conversation changing customer) is undone with it.
_UNDO_WAY = {
    EventKind.CUSTOMER_UNMERGED: "merge again", EventKind.UNMERGED: "merge again",
    EventKind.NOTE_REMOVED: "never", EventKind.REPLY_CANCELLED: "never", EventKind.REPLY_RETRIED: "never",
    EventKind.NOTE: "note", EventKind.REPLY_QUEUED: "reply",
    EventKind.MERGED: "merge", EventKind.MESSAGE_MOVED: "merge", EventKind.CUSTOMER_MERGED: "merge",
    EventKind.CREATED: "call", EventKind.CALL_LOGGED: "call",
}
_COMPANIONS = {EventKind.MERGED_INTO, EventKind.CUSTOMER_CHANGED}


def _undo_parts(rows: Sequence[sqlite3.Row]) -> list[list[sqlite3.Row]]:
    """The events cut into runs undone the same way, oldest first (one run for a single action).

    Each merge (and each unmerge, each moved message) is a run of its own, so that merges
    chained in one unit are undone newest first too.
    """
    parts: list[list[sqlite3.Row]] = []
    ways: list[str] = []
    for row in rows:
        way = _UNDO_WAY.get(row["kind"], "fields")
        if row["kind"] in _COMPANIONS:
            way = ways[-1] if ways else "merge"
        if ways and ways[-1] == way and not _starts_merge(parts[-1][-1], row):
            parts[-1].append(row)
        else:
            parts.append([row])
            ways.append(way)
    return parts


def _starts_merge(previous: sqlite3.Row, row: sqlite3.Row) -> bool:
    """Whether `row` begins another merge, unmerge or move than `previous` belongs to."""
    kind = row["kind"]
    if kind == EventKind.MESSAGE_MOVED:  # a move writes two events with the same `after`
        return not (previous["kind"] == kind and previous["after"] == row["after"])
    if kind == EventKind.UNMERGED:  # an unmerge writes the target's event (with "source") first
        return "source" in json.loads(row["before"] or "{}")
    return kind in (EventKind.MERGED, EventKind.CUSTOMER_MERGED, EventKind.CUSTOMER_UNMERGED)


async def _undo_part(desk: Desk, result: ActionResult, rows: list[sqlite3.Row]) -> ActionResult:
    kinds = {r["kind"] for r in rows}
    if kinds & {EventKind.CUSTOMER_UNMERGED, EventKind.UNMERGED}:
        return await _redo_merge(desk, rows)
    if kinds & {EventKind.NOTE_REMOVED, EventKind.REPLY_CANCELLED, EventKind.REPLY_RETRIED}:
        raise UserError("that cannot be undone", hint="write the note or reply again")
    if kinds & {EventKind.NOTE}:
        return await undo_note(desk, result, rows)
    if kinds & {EventKind.REPLY_QUEUED}:
        mids = [json.loads(r["after"])["message_id"] for r in rows if r["kind"] == EventKind.REPLY_QUEUED]
        last = None
        for mid in mids:
            last = await cancel_reply(desk, mid)
        assert last is not None
        return ActionResult("undo", last.conversation_ids, last.event_ids, last.description, last.message_id)
    if kinds & EventKind.MERGE_KINDS:
        return await undo_merge_events(desk, rows)
    if kinds & {EventKind.CALL_LOGGED, EventKind.CREATED}:
        raise UserError("a logged call cannot be undone", hint="add a note to correct it")
    return await _undo_fields(desk, result, rows)


async def _undo_fields(desk: Desk, result: ActionResult, rows: list[sqlite3.Row]) -> ActionResult:
    """Assignments, tags, status and priority back as they were, the latest change first."""
    now, events, touched = now_ms(), [], []
    names = {a.id: a.name for a in await store_agents.list_agents(desk.db)}
    async with desk.db.write() as conn:
        conv_rows = await store.conversation_rows(
            conn, [r["conversation_id"] for r in rows if r["conversation_id"] is not None]
        )
        for ev in reversed(rows):  # a unit may change one field twice: the later change goes first
            kind, cid = ev["kind"], ev["conversation_id"]
            before, after = json.loads(ev["before"] or "null"), json.loads(ev["after"] or "null")
            if cid not in conv_rows:
                raise NotFound(f"#{cid} no longer exists")
            if kind in _FIELD_KINDS:
                current = _current_fields(kind, conv_rows[cid], names, after)
                if current != {k: after.get(k) for k in current}:
                    raise UserError(f"#{cid} has changed since ({_fmt(current)}); nothing undone")
                fields = await _fields_for(kind, before, desk)
                await store.update_conversation(conn, cid, fields)
                restored = {k: before.get(k) for k in current}
                events.append(
                    await record_event(
                        conn, desk, kind, now,
                        conversation_id=cid,
                        before=current,
                        after={**restored, "undo_of": ev["id"]},
                    )
                )
            elif kind == EventKind.TAGGED:
                old, new = set(before["tags"]), set(after["tags"])
                prior = await store.conversation_tags(conn, cid)
                changed = False
                for tid in (await store.tag_ids(conn, sorted(old - new), create=True)).values():
                    changed |= await store.add_tag(conn, cid, tid)
                for tid in (await store.tag_ids(conn, sorted(new - old), create=False)).values():
                    changed |= await store.remove_tag(conn, cid, tid)
                if changed:
                    events.append(
                        await record_event(
                            conn, desk, kind, now,
                            conversation_id=cid,
                            before={"tags": prior},
                            after={"tags": await store.conversation_tags(conn, cid), "undo_of": ev["id"]},
                        )
                    )
            else:
                raise UserError(f"cannot undo a {kind!r} event")
            touched.append(cid)
    ids = unique(reversed(touched))
    return ActionResult("undo", tuple(ids), tuple(events), f"Undid: {result.description}")


async def _redo_merge(desk: Desk, rows: Sequence[sqlite3.Row]) -> ActionResult:
    """Undoing an unmerge merges again (a fresh merge, itself undoable)."""
    for ev in rows:
        before = json.loads(ev["before"] or "{}")
        if ev["kind"] == EventKind.CUSTOMER_UNMERGED:
            return await merge_customers(desk, before["source"], before["target"])
        if ev["kind"] == EventKind.UNMERGED and "source" in before:
            return await merge_conversations(desk, before["source"], ev["conversation_id"])
    raise UserError("nothing to merge again")


def _current_fields(kind: str, row: object, names: dict[int, str], after: dict) -> dict:
    r = row  # sqlite3.Row
    if kind == EventKind.ASSIGNED:
        return {"assignee": names.get(r["assignee_id"]), "team": r["team"]}  # type: ignore[index]
    if kind == EventKind.STATUS:
        current = {"status": r["status"]}  # type: ignore[index]
        if "snoozed_until" in after:
            current["snoozed_until"] = r["snoozed_until"]  # type: ignore[index]
        return current
    return {"priority": r["priority"]}  # type: ignore[index]


async def _fields_for(kind: str, before: dict, desk: Desk) -> dict[str, object]:
    if kind == EventKind.ASSIGNED:
        assignee = before.get("assignee")
        agent = await store_agents.agent_by_name(desk.db, assignee) if assignee else None
        if assignee and agent is None:
            raise NotFound(f"agent {assignee!r} no longer exists; nothing undone")
        return {"assignee_id": agent.id if agent else None, "team": before.get("team")}
    if kind == EventKind.STATUS:
        fields: dict[str, object] = {"status": before["status"], "snoozed_until": before.get("snoozed_until")}
        if "resolved_at" in before:
            fields["resolved_at"] = before["resolved_at"]
        return fields
    return {"priority": before["priority"]}


def _fmt(fields: dict) -> str:
    return ", ".join(f"{k} {v if v is not None else '-'}" for k, v in fields.items())
