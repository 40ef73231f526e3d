"""Which rules fire for one conversation, and why: conditions checked, nothing changed.

The cheap conditions (trigger, channel, tier, language, first message or reply) are
checked on the conversation's facts (one read by primary key); the queries of the rules
still standing are then evaluated for that conversation alone, restricted to
`c.id = ?` (compiled by `store.search.compile_one`, ten to a statement), all in one
round trip to the store's thread (`store.routing.probe`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from omnidesk.query import Field, unparse, walk
from omnidesk.rules.model import Rule, RuleSet
from omnidesk.sla.policy import CalendarSpec, build_calendar
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

    def __init__(self, rules: RuleSet, timezone: str = "UTC", calendars: Sequence[CalendarSpec] = ()) -> None:
        self.rules = rules
        self.timezone = timezone
        #: [calendars.NAME] for `hours` (the first is the default), and the time of the current run.
        self.calendars = {c.name: c for c in calendars}
        self.default_calendar = calendars[0].name if calendars else None
        self.now = 0
        self._compiled: dict[int, Compiled] = {}
        self._texts: dict[int, str] = {}  # each query as written back, for the reasons
        self._queried = [i for i, rule in enumerate(rules.rules) if rule.when.query is not None]
        self._checks = [(*_checks(rule), *self._hours(rule)) for rule in rules.rules]
        for i, rule in enumerate(rules.rules):
            if rule.when.query is not None:
                self._texts[i] = unparse(rule.when.query.root)
                if not _dated(rule):
                    self._compiled[i] = compile_one(rule.when.query, Context(timezone=timezone))

    def _hours(self, rule: Rule) -> tuple[_Check, ...]:
        """`hours = "inside"|"outside"` as a check of the rule's calendar at the run's time."""
        hours, name = rule.when.hours, rule.when.calendar or self.default_calendar
        if hours is None:
            return ()
        spec = self.calendars.get(name or "")
        if spec is None:
            return (_Check(lambda f: False, lambda f: "", lambda f: "no calendar for hours"),)
        calendar, inside = build_calendar(spec), hours == "inside"
        state = ("inside" if inside else "outside") + f" the hours of {spec.name}"
        return (_Check(lambda f: calendar.is_open(self.now) == inside, lambda f: state,
                       lambda f: f"not {state}"),)

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
        self.now = now
        standing: list[tuple[int, list[str]]] = []
        verdicts: dict[int, Verdict] = {}

        def choose(facts: store.Facts) -> list[tuple[bool, str, list[object]]]:
            # Runs in the store's thread between reading the facts and evaluating the queries.
            for i, rule in enumerate(rules):
                if not rule.runs_on(trigger):
                    why = ("disabled" if not rule.on else f"runs on {', '.join(rule.on)}, not {trigger}",)
                    verdicts[i] = Verdict(rule, False, why if explain else ())
                    continue
                reasons: list[str] = []
                for check in self._checks[i]:
                    if not check.test(facts):
                        verdicts[i] = Verdict(rule, False, (check.failed(facts),) if explain else ())
                        break
                    if explain:
                        reasons.append(check.passed(facts))
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


class _Check(NamedTuple):
    """One cheap condition of a rule: its test on the facts, and how to word either answer."""

    test: Callable[[store.Facts], bool]
    passed: Callable[[store.Facts], str]
    failed: Callable[[store.Facts], str]


def _checks(rule: Rule) -> tuple[_Check, ...]:
    """Every condition but the query, as tests made once per rule (routing asks 200 rules per
    message: no string is made unless `rules test` asks why)."""
    when, out = rule.when, []
    if when.channels:
        names, shown = frozenset(when.channels), " or ".join(when.channels)
        out.append(_Check(lambda f: f.channel_name in names or f.channel_kind in names,
                          lambda f: f"channel {f.channel_name} is {shown}",
                          lambda f: f"channel {f.channel_name or 'none'} is not {shown}"))
    if when.tiers:
        tiers, shown = frozenset(when.tiers), " or ".join(when.tiers)
        out.append(_Check(lambda f: (f.tier or "").lower() in tiers, lambda f: f"tier {f.tier}",
                          lambda f: f"tier {f.tier or 'none'} is not {shown}"))
    if when.languages:
        languages, shown = frozenset(when.languages), " or ".join(when.languages)
        out.append(_Check(lambda f: ((f.language or "").lower() in languages
                                     or (f.customer_language or "").lower() in languages),
                          lambda f: f"language {f.language or f.customer_language}",
                          lambda f: f"language {f.language or 'unknown'} is not {shown}"))
    if when.message == "first":
        out.append(_Check(lambda f: f.inbound_count <= 1, lambda f: "the first message",
                          lambda f: "a reply, not the first message"))
    elif when.message == "reply":
        out.append(_Check(lambda f: f.inbound_count > 1, lambda f: "a reply",
                          lambda f: "the first message, not a reply"))
    return tuple(out)
