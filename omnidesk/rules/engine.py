"""Which rules fire for one conversation, and why: conditions checked, nothing changed.

The cheap conditions (trigger, channel, tier, language, first message or reply) are
checked on the conversation's facts (one read by primary key); the queries of the rules
still standing are then evaluated for that conversation alone, restricted to
`c.id = ?` (compiled by `store.search.compile_one`, ten to a statement), all in one
round trip to the store's thread (`store.routing.probe`).
"""

from __future__ import annotations

from collections.abc import Callable
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
        self._texts: dict[int, str] = {}  # each query as written back, for the reasons
        self._queried = [i for i, rule in enumerate(rules.rules) if rule.when.query is not None]
        for i, rule in enumerate(rules.rules):
            if rule.when.query is not None:
                self._texts[i] = unparse(rule.when.query.root)
                if not _dated(rule):
                    self._compiled[i] = compile_one(rule.when.query, Context(timezone=timezone))

    def compiled(self, index: int, now: int) -> Compiled:
        found = self._compiled.get(index)
        if found is not None:
            return found
        query = self.rules.rules[index].when.query
        assert query is not None
        return compile_one(query, Context(now_ms=now, timezone=self.timezone))

    async def evaluate(self, db: Database, conversation_id: int, message_id: int | None, trigger: str,
                       now: int, *, explain: bool = True) -> tuple[store.Facts | None, list[Verdict]]:
        """The conversation's facts and every rule's verdict in order, up to the first rule that
        fires with `stop`; no verdicts when the conversation is gone (no facts) or merged into
        another. Without `explain` the verdicts carry no reasons."""
        rules = self.rules.rules
        standing: list[tuple[int, list[str]]] = []
        verdicts: dict[int, Verdict] = {}

        def choose(facts: store.Facts) -> list[tuple[bool, str, list[object]]]:
            # Runs in the store's thread between reading the facts and evaluating the queries.
            for i, rule in enumerate(rules):
                failed, reasons = _cheap(rule, facts, trigger, explain)
                if failed:
                    verdicts[i] = Verdict(rule, False, tuple(reasons))
                else:
                    standing.append((i, reasons))
            return [(i not in verdicts, c.where, c.params)
                    for i, c in ((i, self.compiled(i, now)) for i in self._queried)]

        facts, hits = await store.probe(db, conversation_id, message_id, choose)
        if facts is None or facts.merged_into is not None:
            return facts, []
        matched = dict(zip(self._queried, hits, strict=True))
        for i, reasons in standing:
            rule = rules[i]
            if rule.when.query is not None:
                if not matched[i]:
                    verdicts[i] = Verdict(rule, False, (*reasons, f"query {self._texts[i]!r} does not match")
                                          if explain else ())
                    continue
                if explain:
                    reasons.append(f"query {self._texts[i]!r} matches")
            verdicts[i] = Verdict(rule, True, tuple(reasons or ["no conditions"]) if explain else ())
        out: list[Verdict] = []
        for i in range(len(rules)):
            out.append(verdicts[i])
            if verdicts[i].fired and verdicts[i].rule.then.stop:
                break
        return facts, out


def _cheap(rule: Rule, facts: store.Facts, trigger: str, explain: bool) -> tuple[bool, list[str]]:
    """(failed, reasons) for every condition but the query. Reasons are worded only when
    `explain`: routing asks 200 rules per message and reads none of them."""
    why: list[str] = []

    def fail(reason: Callable[[], str]) -> tuple[bool, list[str]]:
        return True, [reason()] if explain else why

    def passed(reason: Callable[[], str]) -> None:
        if explain:
            why.append(reason())

    when = rule.when
    if not rule.on:
        return fail(lambda: "disabled")
    if not rule.runs_on(trigger):
        return fail(lambda: f"runs on {', '.join(rule.on)}, not {trigger}")
    if when.channels:
        if facts.channel_name not in when.channels and facts.channel_kind not in when.channels:
            return fail(lambda: f"channel {facts.channel_name or 'none'} is not {' or '.join(when.channels)}")
        passed(lambda: f"channel {facts.channel_name} is {' or '.join(when.channels)}")
    if when.tiers:
        if (facts.tier or "").lower() not in when.tiers:
            return fail(lambda: f"tier {facts.tier or 'none'} is not {' or '.join(when.tiers)}")
        passed(lambda: f"tier {facts.tier}")
    if when.languages:
        language = (facts.language or "").lower()
        if language not in when.languages and (facts.customer_language or "").lower() not in when.languages:
            return fail(lambda: f"language {facts.language or 'unknown'} is not"
                        f" {' or '.join(when.languages)}")
        passed(lambda: f"language {facts.language or facts.customer_language}")
    if when.message is not None:
        first = facts.inbound_count <= 1
        if (when.message == "first") != first:
            return fail(lambda: "the first message, not a reply" if first
                        else "a reply, not the first message")
        passed(lambda: "the first message" if first else "a reply")
    return False, why
