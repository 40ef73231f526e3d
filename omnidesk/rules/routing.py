"""The post-ingest hook: pending routing run through the rules, applied, and cleared.

Ingest records every new inbound message as pending routing in its batch's
transaction (omnidesk/store/routing.py); `Router.run_pending` takes each pending row,
runs the rules for its conversation and applies the actions of those that fire through
the service functions (each event carries the reason `rule 'NAME'`), and deletes the row,
all in one transaction.
The daemon runs it on start, after every batch that stored messages, and every few
seconds (status changes and SLA events queued by other processes); `sync --once` and
`import` run it when they start and when they are done.

The rules file is read again when it changes; a file with a mistake is refused with
one line naming file, line, rule and reason, and the rules in force stay in force.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from dataclasses import dataclass, field, replace
from pathlib import Path

from adapters.base import Batch, Inbound
from omnidesk.desk import Desk
from omnidesk.errors import UserError
from omnidesk.inbound.ingest import IngestResult, rehearse
from omnidesk.model import Channel
from omnidesk.rules import assignment
from omnidesk.rules.engine import Engine, Verdict
from omnidesk.rules.loader import RuleError, load
from omnidesk.rules.model import Actions, Rule, RuleSet
from omnidesk.services import services
from omnidesk.services.actionresult import ActionResult
from omnidesk.store import agents as store_agents
from omnidesk.store import reads as store_reads
from omnidesk.store import routing as store
from omnidesk.timeutil import now_ms

log = logging.getLogger(__name__)


@dataclass(slots=True)
class RuleRun:
    """What one rule did to one conversation."""

    rule: str
    conversation_id: int
    results: list[ActionResult] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # actions that could not be taken, and why
    #: What the rule did, as one action; undoing it undoes the whole routing of that message
    #: (one transaction, one group of events). None when it changed nothing.
    unit: ActionResult | None = None


@dataclass(slots=True)
class RoutingReport:
    routed: int = 0  # pending rows taken
    runs: list[RuleRun] = field(default_factory=list)


async def known_names(desk: Desk) -> tuple[set[str], set[str]]:
    """The agents and teams a rules file may name."""
    agents = {a.name for a in await store_agents.list_agents(desk.db)}
    return agents, set(await store_reads.known_teams(desk.db))


async def load_for(desk: Desk, path: Path | None = None) -> RuleSet:
    """The desk's rules file (or `path`), checked against its agents and teams."""
    path = path or desk.settings.rules_path
    if path is None:
        return RuleSet()
    agents, teams = await known_names(desk)
    return load(path, known_agents=agents, known_teams=teams,
                known_calendars=[c.name for c in desk.settings.calendars])


def engine_for(desk: Desk, rules: RuleSet) -> Engine:
    """The rules with the desk's time zone and business-hours calendars."""
    return Engine(rules, desk.settings.desk.timezone, desk.settings.calendars)


class Router:
    """The rules in force for one desk, re-read when the file changes."""

    def __init__(self, desk: Desk, rules: RuleSet | None = None) -> None:
        self.desk = desk
        self.engine = engine_for(desk, rules or RuleSet())
        self.fixed = rules is not None  # given by the caller: never re-read
        self.error: RuleError | None = None  # the last refused file, while it stays so
        self._seen: tuple[int, int, int] | None = None  # the signature last read (good or bad)

    async def refresh(self) -> None:
        """Read the rules file again if it changed; keep the rules in force if it is refused."""
        path = self.desk.settings.rules_path
        if self.fixed or path is None:
            return
        try:
            stat = path.stat()
            signature: tuple[int, int, int] | None = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        except OSError:
            signature = None
        if signature == self._seen and (signature is not None or not self.engine.rules.rules):
            return
        self._seen = signature
        try:
            rules = await load_for(self.desk, path)
        except RuleError as exc:
            self.error = exc
            log.warning("%s", exc)
            return
        self.error = None
        if self.engine.rules.rules or rules.rules:
            log.info("routing rules: %d from %s", len(rules.rules), path)
        self.engine = engine_for(self.desk, rules)

    async def run_pending(self, limit: int = 500) -> RoutingReport:
        """Route every pending conversation (in the order written), until none is left."""
        await self.refresh()
        report = RoutingReport()
        if not self.engine.rules.rules:
            # No rules: nothing to wait for. A refused file with none in force yet keeps the rows
            # for the rules that the corrected file will bring.
            if self.error is None and await store.has_pending(self.desk.db):  # most passes: nothing
                report.routed = await store.clear_pending(self.desk.db)
            return report
        last = 0
        while batch := await store.pending(self.desk.db, limit, after=last):
            for row in batch:
                last = row.id
                try:
                    report.runs.extend(await self.route(row))
                except Exception:  # not this one now: it stays pending, the ones after it go on
                    log.exception("routing #%d failed; it stays pending", row.conversation_id)
                    continue
                report.routed += 1
        return report

    async def route(self, row: store.Pending) -> list[RuleRun]:
        """Run the rules for one pending row and take it off the list, in ONE transaction.

        A crash before the commit leaves the row and none of the actions; a row another
        process took first is left alone. The conditions see the conversation as the
        message left it; each rule's actions see what the rules before it did.
        """
        runs: list[RuleRun] = []
        async with self.desk.db.write() as conn:
            taken = await store.take_pending(conn, row.id)
            if taken is None:
                return runs
            facts, verdicts = await self.engine.evaluate(self.desk.db, taken.conversation_id,
                                                         taken.message_id, taken.trigger, now_ms(),
                                                         explain=False)
            stale = False  # an earlier rule changed the conversation since `facts` was read
            for verdict in verdicts:
                if facts is None or not verdict.fired:
                    continue
                then = verdict.rule.then
                if stale and (then.assign or then.team or then.strategy):  # they read the assignee
                    facts = await store.facts(self.desk.db, taken.conversation_id, taken.message_id)
                    stale = False
                run = await apply(self.desk, verdict.rule, facts)
                runs.append(run)
                stale = stale or bool(run.results)
        return runs


async def fire(desk: Desk, conversation_id: int, trigger: str) -> None:
    """Queue `trigger` (an SLA warning or breach, a status change) for the rules of one
    conversation; the daemon's next routing pass runs them. Code below the rules (the SLA
    timers in the services) queues with `store.routing.queue` inside its own transaction."""
    async with desk.db.write() as conn:
        await store.queue(conn, conversation_id, trigger, now_ms())


async def explain(desk: Desk, engine: Engine, conversation_id: int, trigger: str) -> list[Verdict]:
    """The verdicts of every rule for one conversation; nothing is changed."""
    facts, verdicts = await engine.evaluate(desk.db, conversation_id, None, trigger, now_ms())
    if facts is None:
        raise UserError(f"no such conversation: #{conversation_id}")
    if facts.merged_into is not None:
        raise UserError(f"#{conversation_id} was merged into #{facts.merged_into}; no rules run on it",
                        hint=f"test #{facts.merged_into}")
    return verdicts


async def explain_message(desk: Desk, engine: Engine, channel: Channel,
                          record: Inbound) -> tuple[int | None, str, list[Verdict]]:
    """(conversation, trigger, verdicts) for a message as if it arrived now; nothing is kept.

    The message is written as ingest would (threading, customer) in a transaction that is
    rolled back, so the conditions see the conversation it would join.
    """
    lazy = tuple(replace(a, data=b"", fetch_ref=a.fetch_ref or "rules-test") for a in record.attachments)
    record = replace(record, raw=None, attachments=lazy)

    async def inspect(result: IngestResult) -> tuple[int | None, str, list[Verdict]]:
        if not result.message_ids:
            return None, "duplicate", []
        mid = result.message_ids[0]
        row = await store.pending_for(desk.db, mid)
        if row is None:  # our own message: no routing
            return result.conversation_ids[0], "ours", []
        _, verdicts = await engine.evaluate(desk.db, row.conversation_id, mid, row.trigger, now_ms())
        return row.conversation_id, row.trigger, verdicts

    return await rehearse(desk, channel, Batch([record], None), inspect)


def describe_actions(rule: Rule) -> list[str]:
    """The actions of a rule as words (for `rules test`)."""
    a, out = rule.then, []
    if a.strategy:
        out.append(f"assign by {a.strategy}" + (f" in team {a.team}" if a.team else ""))
    elif a.assign:
        out.append("unassign" if a.assign == "none" else f"assign to {a.assign}"
                   + (f" (team {a.team})" if a.team else ""))
    elif a.team:
        out.append(f"assign to team {a.team}")
    if a.tags:
        out.append("tag " + " ".join(f"+{t}" for t in a.tags))
    if a.priority:
        out.append(f"priority {a.priority}")
    if a.status:
        out.append(f"status {a.status}")
    if a.snooze_ms:
        out.append(f"snooze {a.snooze_ms // 60_000} min")
    if a.note:
        out.append("add a note")
    if a.stop:
        out.append("stop")
    return out


async def apply(desk: Desk, rule: Rule, facts: store.Facts) -> RuleRun:
    """Take a fired rule's actions through the services, as the system (no agent), inside the
    routing transaction (`Router.route`), each event with the reason `rule 'NAME'`, so the
    timeline says "assigned this to ann by rule 'Hungarian billing'".

    An action that cannot be taken (an agent gone since the rules were loaded) is logged
    and skipped (its savepoint rolled back); the others still happen.
    """
    tx = desk.db.transaction
    assert tx is not None, "rules act inside the routing transaction"
    acting = desk.as_agent(None)
    run = RuleRun(rule.name, facts.conversation_id)
    # The reason a unit of work writes with its events (services/unit.py), set for this rule's
    # part of the transaction alone: a unit per rule would cost four reads more per rule.
    outer, tx.reason = tx.reason, f"rule '{rule.name}'"
    try:
        await _act(acting, rule, facts, run)
    finally:
        tx.reason = outer
    events = tuple(e for result in run.results for e in result.event_ids)
    if events:
        run.unit = ActionResult("rule", (facts.conversation_id,), events,
                                f"Rule '{rule.name}' on #{facts.conversation_id}")
    return run


async def _act(acting: Desk, rule: Rule, facts: store.Facts, run: RuleRun) -> None:
    """The rule's actions in their order: assign, tag, priority, status or snooze, note."""
    cid, a = facts.conversation_id, rule.then

    async def step(what: str, action: Awaitable[ActionResult]) -> None:
        try:
            run.results.append(await action)
        except UserError as exc:
            run.skipped.append(f"{what}: {exc}")
            log.warning("rule %r on #%d: %s: %s", rule.name, cid, what, exc)

    assignee = await _assignee(acting, a, facts, run)
    if assignee is not None or a.assign == "none" or a.team:
        name = assignee
        if assignee is None and a.assign != "none":
            name = await _current(acting, facts)
        await step("assign", services.assign(acting, [cid], name, team=a.team))
    if a.tags:
        await step("tag", services.tag(acting, [cid], add=a.tags))
    if a.priority:
        await step("priority", services.set_priority(acting, [cid], a.priority))  # type: ignore[arg-type]
    if a.status:
        await step("status", services.set_status(acting, [cid], a.status))  # type: ignore[arg-type]
    if a.snooze_ms:
        until = now_ms() + a.snooze_ms
        await step("snooze", services.set_status(acting, [cid], "snoozed", snooze_until=until))
    if a.note:
        await step("note", services.add_note(acting, cid, a.note))


async def _assignee(desk: Desk, a: Actions, facts: store.Facts, run: RuleRun) -> str | None:
    """The agent the rule assigns: named, or picked by its strategy (only when unassigned)."""
    if a.assign and a.assign != "none":
        return a.assign
    if a.strategy is None:
        return None
    if facts.assignee_id is not None:
        run.skipped.append(f"{a.strategy}: already assigned")
        return None
    needs = assignment.needs_of(facts)
    chosen = await assignment.pick(desk, a.strategy, a.team, needs)
    if chosen is None:
        run.skipped.append(assignment.describe_none(a.strategy, a.team, needs))
        return None
    return chosen.name


async def _current(desk: Desk, facts: store.Facts) -> str | None:
    """The conversation's agent now (a rule that only sets the team keeps it)."""
    if facts.assignee_id is None:
        return None
    agent = await store_agents.agent_by_id(desk.db, facts.assignee_id)
    return agent.name if agent else None


async def undo_run(desk: Desk, run: RuleRun) -> ActionResult:
    """Undo the routing `run` was part of: every rule's actions for that message, as one."""
    if run.unit is None:
        return ActionResult("undo", (run.conversation_id,), (), "Nothing to undo")
    return await services.undo(desk, run.unit)
