"""Macros at work: a macro's text rendered for one conversation, and a reply sent with its actions.

`prepare` picks the route the reply takes (as `queue_reply` would), the variant for that
channel and the customer's language, and renders it; any template problem is a
MacroError before anything is stored. `send` queues the reply and applies the
actions (tags, status or snooze, priority, assignee) in one unit of work
(omnidesk/services/unit.py): one transaction, so a failing action leaves no reply
queued, and one group of events, so `undo` cancels the reply and restores the fields
together. `render_all` renders every conversation's text before `send_all` queues
any, so a macro that fails for one of them queues nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from omnidesk.desk import Desk
from omnidesk.errors import UserError
from omnidesk.macros import render, variants
from omnidesk.macros.definition import Actions, Macro
from omnidesk.registry import capabilities
from omnidesk.services.actionresult import ActionResult
from omnidesk.services.replies import ReplyRoute, reply_routes, reply_sender


class ReplyContext(NamedTuple):
    """What a macro is rendered with for one conversation: the route, the choice facts, the variables."""

    conversation_id: int
    route: ReplyRoute
    target: variants.Target
    values: dict[str, render.Fields]


class Prepared(NamedTuple):
    """A macro rendered for one conversation: the text, where it goes, what was chosen."""

    conversation_id: int
    macro: Macro
    text: str
    route: ReplyRoute
    variant: str
    language: str


async def reply_context(desk: Desk, conversation_id: int, *, channel: str | None = None) -> ReplyContext:
    """The route of the reply to `conversation_id` (on `channel`, else the default) and the variables."""
    from omnidesk.store import customers as store_customers
    from omnidesk.store import reads as store_reads

    routes = await reply_routes(desk, conversation_id)
    route = next((r for r in routes if channel is None or r.channel == channel), None)
    if route is None:
        raise UserError(f"#{conversation_id} has no route to reply on"
                        + (f" via {channel}" if channel else ""),
                        hint="known routes: " + ", ".join(dict.fromkeys(r.channel for r in routes))
                        if routes else "the customer has no address a channel sends to")
    agent = desk.agent
    agent_id = agent.id if agent is not None else None
    [summary] = await store_reads.summaries(desk.db, [conversation_id], agent_id)
    customer = await store_customers.get_customer(desk.db, summary.customer_id)
    assert customer is not None
    caps = capabilities(route.kind)
    target = variants.Target(route.channel, route.kind, variants.style(caps.subject, route.address_kind),
                             customer.language)
    signer = reply_sender(desk, route.channel, route.kind, customer.language)
    shown = (agent.display_name or agent.name) if agent is not None else desk.settings.desk.name
    values = render.variables(
        customer={
            "name": customer.name, "first_name": _first(customer.name), "language": customer.language,
            "email": next((i.address for i in customer.identities if i.kind == "email"), ""),
            "phone": next((i.address for i in customer.identities if i.kind == "phone"), ""),
            "address": route.to, "tier": customer.tier, "timezone": customer.timezone,
        },
        conversation={
            "id": conversation_id, "number": f"#{conversation_id}", "subject": summary.subject,
            "status": summary.status, "priority": summary.priority, "tags": summary.tags,
            "channel": route.channel, "assignee": summary.assignee,
        },
        agent={
            "name": agent.name if agent is not None else "", "display_name": shown,
            "first_name": _first(shown), "email": agent.email if agent is not None else "",
        },
        desk={"name": desk.settings.desk.name, "channel": route.channel,
              "language": desk.settings.desk.language, "from_name": signer.from_name,
              "back_at": back_at(desk, route, summary.priority, summary.tags, customer.tier)},
    )
    return ReplyContext(conversation_id, route, target, values)


def _first(name: str) -> str:
    return name.split()[0] if name.split() else ""


def back_at(desk: Desk, route: ReplyRoute, priority: str, tags: Sequence[str], tier: str | None,
            now: int | None = None) -> str:
    """When the team is back, in the calendar's zone ("2026-12-07 09:00 CET"), while it is closed;
    "" while open or without calendars. The calendar is that of the conversation's SLA policy
    ([sla.NAME] calendar), else the first [calendars.NAME] of the config."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from omnidesk.sla.hours import NeverOpen
    from omnidesk.sla.policy import build_calendar, calendar_named, choose
    from omnidesk.timeutil import now_ms

    settings = desk.settings
    policy = choose(settings.sla, priority, tags, (route.channel, route.kind), tier)
    if policy is not None:
        calendar = calendar_named(settings.calendars, policy.calendar)
    elif settings.calendars:
        calendar = build_calendar(settings.calendars[0])
    else:
        return ""
    at = now_ms() if now is None else now
    try:
        opens = calendar.next_open(at)
    except NeverOpen:  # closed dates ran past the horizon: no time to promise
        return ""
    if opens <= at:
        return ""
    return datetime.fromtimestamp(opens / 1000, ZoneInfo(calendar.timezone)).strftime("%Y-%m-%d %H:%M %Z")


def render_for(desk: Desk, macro: Macro, context: ReplyContext) -> Prepared:
    """`macro` rendered in `context` (pure and quick: the console's preview calls it per keystroke)."""
    choice = variants.choose(macro, context.target, desk.settings.desk.language)
    where = f"macro {macro.name} (text.{choice.variant}.{choice.language}, #{context.conversation_id})"
    text = render.render(choice.source, context.values, where)
    return Prepared(context.conversation_id, macro, text, context.route, choice.variant, choice.language)


async def prepare(desk: Desk, macro: Macro, conversation_id: int, *, channel: str | None = None) -> Prepared:
    """`macro` rendered for the reply to `conversation_id` (on `channel`, else the default route)."""
    return render_for(desk, macro, await reply_context(desk, conversation_id, channel=channel))


async def send(desk: Desk, conversation_id: int, text: str, actions: Actions, *, macro: str = "",
               channel: str | None = None, to: str | None = None, **reply: object) -> ActionResult:
    """Queue the reply and apply `actions` to its conversation in one unit of work: one transaction
    (an action that fails rolls the reply back too), one result that `undo` reverses whole. The
    events say they were by `macro` (the timeline: "tagged +refund by macro 'refund-received'")."""
    from omnidesk.services import services
    from omnidesk.services.unit import unit_of_work

    async with unit_of_work(desk, reason=f"macro {macro!r}" if macro else None) as uow:
        reply_result = await services.queue_reply(desk, conversation_id, text, channel=channel, to=to,
                                                  **reply)  # type: ignore[arg-type]
        await _apply(desk, [conversation_id], actions)
    done = " with " + ", ".join(actions.describe()) if actions else ""
    return ActionResult("reply", uow.conversation_ids, uow.event_ids, reply_result.description + done,
                        reply_result.message_id)


async def _apply(desk: Desk, ids: list[int], actions: Actions) -> None:
    """The macro's actions on `ids`, in order, each through its service (in the caller's unit of work)."""
    from omnidesk.services import services
    from omnidesk.timeutil import now_ms

    if actions.add_tags or actions.remove_tags:
        await _tag(desk, ids, actions)
    if actions.status:
        await services.set_status(desk, ids, actions.status)  # type: ignore[arg-type]
    if actions.snooze_ms:
        await services.set_status(desk, ids, "snoozed", snooze_until=now_ms() + actions.snooze_ms)
    if actions.priority:
        await services.set_priority(desk, ids, actions.priority)  # type: ignore[arg-type]
    if actions.assign is not None:
        await services.assign(desk, ids, actions.assign or None)


async def _tag(desk: Desk, ids: list[int], actions: Actions) -> None:
    """The macro's tags; removing one the conversation does not have is no change (not an error)."""
    from omnidesk.services import services
    from omnidesk.store import reads as store_reads

    held = {t.casefold() for s in await store_reads.summaries(desk.db, ids, None) for t in s.tags}
    remove = [t for t in actions.remove_tags if t.casefold() in held]
    if actions.add_tags or remove:
        await services.tag(desk, ids, actions.add_tags, remove)


async def render_all(desk: Desk, macro: Macro, conversation_ids: Sequence[int], *,
                     channel: str | None = None) -> list[Prepared]:
    """The macro rendered for every conversation, or the first MacroError: nothing is queued yet."""
    return [await prepare(desk, macro, cid, channel=channel) for cid in conversation_ids]


async def send_all(desk: Desk, prepared: Sequence[Prepared], *, force: bool = False) -> list[ActionResult]:
    """One reply (with the macro's actions) per rendered text, each on the route it was rendered for,
    all in one unit of work: a conversation that refuses (another agent replied since, without
    `force`) leaves none of them queued."""
    from omnidesk.services.unit import unit_of_work

    async with unit_of_work(desk):
        return [await send(desk, p.conversation_id, p.text, p.macro.actions, macro=p.macro.name,
                           channel=p.route.channel, to=p.route.to, force=force) for p in prepared]
