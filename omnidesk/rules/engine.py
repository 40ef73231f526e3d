"""Which rules fire for one conversation, and why: conditions checked, nothing changed.

The cheap conditions (trigger, channel, tier, language, first message or reply) are
checked on the conversation's facts (one read by primary key); the queries of the rules
still standing are evaluated together, in ONE statement restricted to `c.id = ?`
(`store.routing.matches`, compiled by `store.search.compile_one`), so 200 rules cost
two reads, not 200.
"""

from __future__ import annotations

from dataclasses import dataclass

from omnidesk.query import Field, unparse, walk
from omnidesk.rules.model import Rule, RuleSet
from omnidesk.store import routing as store
from omnidesk.store.db import Database
from omnidesk.store.search import Compiled, Context, compile_one


@dataclass(frozen=True, slots=True)
class Verdict:
    """One rule's answer for one conversation: did it fire, and the reasons."""

    rule: Rule
    fired: bool
    reasons: tuple[str, ...]


def _dated(rule: Rule) -> bool:
    """A query with after:/before: means something else tomorrow: compiled per run."""
    query = rule.when.query
    return query is not None and any(isinstance(n, Field) and n.name in ("after", "before")
                                     for n in walk(query.root))


class Engine:
    """A loaded RuleSet with its queries compiled once (dated ones per run)."""

    def __init__(self, rules: RuleSet, timezone: str = "UTC") -> None:
        self.rules = rules
        self.timezone = timezone
        self._compiled: dict[int, Compiled] = {}
        for i, rule in enumerate(rules.rules):
            if rule.when.query is not None and not _dated(rule):
                self._compiled[i] = compile_one(rule.when.query, Context(timezone=timezone))

    def compiled(self, index: int, now: int) -> Compiled:
        found = self._compiled.get(index)
        if found is not None:
            return found
        query = self.rules.rules[index].when.query
        assert query is not None
        return compile_one(query, Context(now_ms=now, timezone=self.timezone))

    async def evaluate(self, db: Database, facts: store.Facts, trigger: str, now: int) -> list[Verdict]:
        """Every rule in order: fired or not, and why; a rule that fires with `stop` ends the list."""
        standing: list[tuple[int, list[str]]] = []
        verdicts: dict[int, Verdict] = {}
        for i, rule in enumerate(self.rules.rules):
            failed, reasons = _cheap(rule, facts, trigger)
            if failed:
                verdicts[i] = Verdict(rule, False, tuple(reasons))
            else:
                standing.append((i, reasons))
        queried = [(i, self.compiled(i, now)) for i, _ in standing
                   if self.rules.rules[i].when.query is not None]
        hits = await store.matches(db, [(c.where, c.params) for _, c in queried], facts.conversation_id)
        matched = {i: hit for (i, _), hit in zip(queried, hits, strict=True)}
        for i, reasons in standing:
            rule = self.rules.rules[i]
            if rule.when.query is not None:
                text = unparse(rule.when.query.root)
                if not matched[i]:
                    verdicts[i] = Verdict(rule, False, (*reasons, f"query {text!r} does not match"))
                    continue
                reasons.append(f"query {text!r} matches")
            verdicts[i] = Verdict(rule, True, tuple(reasons or ["no conditions"]))
        out: list[Verdict] = []
        for i in range(len(self.rules.rules)):
            out.append(verdicts[i])
            if verdicts[i].fired and verdicts[i].rule.then.stop:
                break
        return out


def _cheap(rule: Rule, facts: store.Facts, trigger: str) -> tuple[bool, list[str]]:
    """(failed, reasons) for every condition but the query."""
    if not rule.on:
        return True, ["disabled"]
    if not rule.runs_on(trigger):
        return True, [f"runs on {', '.join(rule.on)}, not {trigger}"]
    when, reasons = rule.when, []
    if when.channels:
        names = {facts.channel_name, facts.channel_kind} - {None}
        if not names & set(when.channels):
            return True, [f"channel {facts.channel_name or 'none'} is not {' or '.join(when.channels)}"]
        reasons.append(f"channel {facts.channel_name} is {' or '.join(when.channels)}")
    if when.tiers:
        if (facts.tier or "").lower() not in when.tiers:
            return True, [f"tier {facts.tier or 'none'} is not {' or '.join(when.tiers)}"]
        reasons.append(f"tier {facts.tier}")
    if when.languages:
        language = (facts.language or "").lower()
        if language not in when.languages and (facts.customer_language or "").lower() not in when.languages:
            return True, [f"language {facts.language or 'unknown'} is not {' or '.join(when.languages)}"]
        reasons.append(f"language {facts.language or facts.customer_language}")
    if when.message is not None:
        first = facts.inbound_count <= 1
        if (when.message == "first") != first:
            return True, ["a reply, not the first message" if not first else "the first message, not a reply"]
        reasons.append("the first message" if first else "a reply")
    return False, reasons
