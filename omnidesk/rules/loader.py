"""The rules file (TOML) -> a RuleSet, or one RuleError naming file, line, rule and reason.

    [[rules]]
    name = "Hungarian billing"
    on = ["new_conversation"]
    when = { language = "hu", query = "tag:billing OR subject:számla" }
    then = { team = "billing", strategy = "round-robin", priority = "high" }

tomllib gives no line numbers for values, so the lines are found in the text: each
`[[rules]]` header starts the next rule, and a key's line is the first line in the
rule's span that assigns it (`key =`, in the rule, its `when`/`then` table or its inline
table). A mistake points at that line, else at the rule's header.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from omnidesk.errors import UserError
from omnidesk.model import PRIORITIES
from omnidesk.query import Field, Query, QueryError, parse, walk
from omnidesk.rules.model import HOURS, MESSAGE_KINDS, STRATEGIES, Actions, Conditions, Rule, RuleSet
from omnidesk.store.routing import TRIGGERS

RULE_KEYS = {"name", "on", "when", "then", "enabled"}
WHEN_KEYS = {"channel", "query", "tier", "language", "hours", "calendar", "message"}
THEN_KEYS = {"assign", "team", "strategy", "tag", "priority", "status", "snooze", "note", "stop"}
#: Statuses a rule may set (snoozing is `snooze = "4h"`, which needs the time).
RULE_STATUSES = ("open", "pending", "resolved", "spam")
MAX_RULES = 10_000
_DURATION = re.compile(r"^(\d{1,6})\s*(m|min|h|d|w)$")
_UNIT_MS = {"m": 60_000, "min": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


class RuleError(UserError):
    """A rules file that cannot be used: `file:line: rule 'name': key: reason`."""

    def __init__(self, source: str, line: int | None, rule: str | None, reason: str) -> None:
        where = f"{source}:{line}" if line else source
        who = f" rule {rule!r}:" if rule else ""
        super().__init__(f"{where}:{who} {reason}", hint="the rules in force stay in force; "
                         "`omnidesk rules check FILE` checks a file")
        self.source, self.line, self.rule, self.reason = source, line, rule, reason


class _Lines:
    """Where each rule and key is written: tomllib gives values, not lines."""

    _HEADER = re.compile(r"^\s*\[\[\s*rules\s*\]\]")
    _TABLE = re.compile(r"^\s*\[\s*rules\s*\.\s*(when|then)\s*\]")
    _OTHER_TABLE = re.compile(r"^\s*\[")
    _KEY = re.compile(r"""^\s*["']?([A-Za-z0-9_-]+)["']?\s*=""")

    def __init__(self, text: str) -> None:
        self.headers: list[int] = []
        self.keys: dict[tuple[int, str | None, str], int] = {}
        section: str | None = None
        for number, line in enumerate(text.splitlines(), start=1):
            if self._HEADER.match(line):
                self.headers.append(number)
                section = None
            elif m := self._TABLE.match(line):
                section = m.group(1)
                self.keys.setdefault((len(self.headers) - 1, None, section), number)
            elif self._OTHER_TABLE.match(line):
                section = "?"
            elif (m := self._KEY.match(line)) and self.headers:
                index = len(self.headers) - 1
                self.keys.setdefault((index, section, m.group(1)), number)
                for inline in re.findall(r"[{,]\s*([A-Za-z0-9_-]+)\s*=", line):  # when = { a = 1, b = 2 }
                    self.keys.setdefault((index, m.group(1), inline), number)

    def of(self, index: int, section: str | None = None, key: str | None = None) -> int | None:
        header = self.headers[index] if index < len(self.headers) else None
        if key is None:
            return header
        return (self.keys.get((index, section, key)) or self.keys.get((index, None, section or ""))
                or header)

    def rule_at(self, line: int) -> int | None:
        """The index of the rule whose span holds `line`."""
        before = [i for i, h in enumerate(self.headers) if h <= line]
        return before[-1] if before else None


def load(path: Path, *, known_agents: set[str] | None = None, known_teams: set[str] | None = None,
         known_calendars: list[str] | None = None,
         read: Callable[[Path], bytes] = Path.read_bytes) -> RuleSet:
    """Read and check a rules file. A missing file is no rules; any mistake is a RuleError."""
    try:
        stat = path.stat()
        raw = read(path)
    except FileNotFoundError:
        return RuleSet((), path, None)
    except OSError as exc:
        raise RuleError(str(path), None, None, f"cannot read the rules file: {exc.strerror}") from None
    rules = parse_text(raw, str(path), known_agents=known_agents, known_teams=known_teams,
                       known_calendars=known_calendars)
    return RuleSet(rules, path, (stat.st_mtime_ns, stat.st_size, stat.st_ino))


def parse_text(raw: bytes, source: str, *, known_agents: set[str] | None = None,
               known_teams: set[str] | None = None,
               known_calendars: list[str] | None = None) -> tuple[Rule, ...]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RuleError(source, None, None, f"not UTF-8 text (byte {exc.start})") from None
    lines = _Lines(text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"at line (\d+)", str(exc))
        line = int(m.group(1)) if m else None
        index = lines.rule_at(line) if line else None
        name = _name_near(text, lines, index)
        raise RuleError(source, line, name, f"invalid TOML: {str(exc).split(' (at line')[0]}") from None
    except ValueError as exc:  # a value tomllib reads but Python cannot hold
        raise RuleError(source, None, None, f"invalid TOML: {str(exc).split(';')[0]}") from None
    unknown = sorted(set(data) - {"rules"})
    if unknown:
        raise RuleError(source, None, None, f"{unknown[0]}: unknown key; a rules file holds [[rules]] tables")
    items = data.get("rules", [])
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise RuleError(source, None, None, "rules: expected [[rules]] tables")
    if len(items) > MAX_RULES:
        raise RuleError(source, lines.of(MAX_RULES), None, f"too many rules (at most {MAX_RULES})")
    checker = _Checker(source, lines, known_agents, known_teams, known_calendars)
    rules = [checker.rule(i, item) for i, item in enumerate(items)]
    seen: dict[str, int] = {}
    for i, rule in enumerate(rules):
        if rule.name in seen:
            first = rules[seen[rule.name]].line
            raise RuleError(source, lines.of(i, None, "name"), rule.name,
                            f"name: a second rule of that name (the first is at line {first})")
        seen[rule.name] = i
    return tuple(rules)


def _name_near(text: str, lines: _Lines, index: int | None) -> str | None:
    """The name of rule `index`, read from its text (for a file tomllib cannot parse)."""
    if index is None:
        return None
    body = text.splitlines()[lines.headers[index]:]
    for line in body:
        if _Lines._HEADER.match(line):
            return None
        m = re.match(r"""^\s*name\s*=\s*(["'])(.*?)\1""", line)
        if m:
            return m.group(2)
    return None


def parse_duration(value: str) -> int:
    """"30m", "4h", "2d", "1w" -> milliseconds; ValueError otherwise."""
    m = _DURATION.match(value.strip().lower())
    if not m or int(m.group(1)) == 0:
        raise ValueError("expected a duration like 30m, 4h, 2d or 1w")
    return int(m.group(1)) * _UNIT_MS[m.group(2)]


class _Checker:
    def __init__(self, source: str, lines: _Lines, agents: set[str] | None, teams: set[str] | None,
                 calendars: list[str] | None = None) -> None:
        self.source, self.lines, self.agents, self.teams = source, lines, agents, teams
        self.calendars = calendars
        self.index, self.name = 0, None  # the rule being checked

    def fail(self, section: str | None, key: str | None, reason: str) -> RuleError:
        label = f"{section}.{key}" if section and key else key or section or ""
        return RuleError(self.source, self.lines.of(self.index, section, key), self.name,
                         f"{label}: {reason}" if label else reason)

    def rule(self, index: int, item: Mapping[str, Any]) -> Rule:
        self.index, self.name = index, None
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            raise self.fail(None, "name", "every rule needs a name (a non-empty string)")
        self.name = name = " ".join(name.split())
        self.keys(item, RULE_KEYS, None)
        on = self.strings(item, None, "on") or ("new_conversation",)
        for trigger in on:
            if trigger not in TRIGGERS:
                raise self.fail(None, "on", f"unknown trigger {trigger!r}; expected {', '.join(TRIGGERS)}")
        when = self.table(item, "when")
        then = self.table(item, "then")
        if not then:
            raise self.fail(None, "then", "a rule needs actions (then = { ... })")
        enabled = item.get("enabled", True)
        if not isinstance(enabled, bool):
            raise self.fail(None, "enabled", "expected true or false")
        rule = Rule(name, tuple(dict.fromkeys(on)), self.conditions(when), self.actions(then),
                    self.lines.of(index) or 0)
        return rule if enabled else Rule(name, (), rule.when, rule.then, rule.line)

    def keys(self, table: Mapping[str, Any], allowed: set[str], section: str | None) -> None:
        for key in table:
            if key not in allowed:
                raise self.fail(section, key, f"unknown key; expected one of {', '.join(sorted(allowed))}")

    def table(self, item: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        value = item.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(None, key, f"expected a table ({key} = {{ ... }} or [rules.{key}])")
        self.keys(value, WHEN_KEYS if key == "when" else THEN_KEYS, key)
        return value

    def strings(self, table: Mapping[str, Any], section: str | None, key: str) -> tuple[str, ...]:
        value = table.get(key)
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail(section, key, "expected a string or a list of strings")
        return tuple(v.strip() for v in value)

    def string(self, table: Mapping[str, Any], section: str, key: str,
               choices: tuple[str, ...] = ()) -> str | None:
        value = table.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(section, key, "expected a non-empty string")
        value = value.strip()
        if choices and value.lower() not in choices:
            raise self.fail(section, key, f"expected one of {', '.join(choices)}, got {value!r}")
        return value.lower() if choices else value

    def conditions(self, when: Mapping[str, Any]) -> Conditions:
        query = None
        text = self.string(when, "when", "query")
        if text is not None:
            query = self.query(text)
        hours = self.string(when, "when", "hours", HOURS)
        calendar = self.string(when, "when", "calendar")
        if calendar is not None and hours is None:
            raise self.fail("when", "calendar", "goes with hours = \"inside\" or \"outside\"")
        if hours is not None and self.calendars is not None:
            if not self.calendars:
                raise self.fail("when", "hours", "business hours need a calendar: configure [calendars.NAME]")
            if calendar is not None and calendar not in self.calendars:
                raise self.fail("when", "calendar", f"unknown calendar {calendar!r};"
                                f" known: {', '.join(self.calendars)}")
        return Conditions(
            channels=self.strings(when, "when", "channel"),
            query=query,
            tiers=tuple(t.lower() for t in self.strings(when, "when", "tier")),
            languages=tuple(x.lower() for x in self.strings(when, "when", "language")),
            hours=hours,
            calendar=calendar,
            message=self.string(when, "when", "message", MESSAGE_KINDS),
        )

    def query(self, text: str) -> Query:
        try:
            query = parse(text)
        except QueryError as exc:
            raise self.fail("when", "query", str(exc)) from None
        for node in walk(query.root):
            if isinstance(node, Field) and (node.value == "me" or (node.name == "is" and node.value in (
                    "mine", "unread", "read"))):
                raise self.fail("when", "query", f"'{node.name}:{node.value}' needs an acting agent;"
                                " a rule acts for nobody")
        return query

    def actions(self, then: Mapping[str, Any]) -> Actions:
        assign = self.string(then, "then", "assign")
        team = self.string(then, "then", "team")
        strategy = self.string(then, "then", "strategy", STRATEGIES)
        if assign is not None and strategy is not None:
            raise self.fail("then", "strategy", "give an agent (assign) or a strategy, not both")
        if assign is not None and assign != "none" and self.agents is not None and assign not in self.agents:
            raise self.fail("then", "assign", f"unknown agent {assign!r}"
                            + (f"; known: {', '.join(sorted(self.agents))}" if self.agents else ""))
        if team is not None and self.teams is not None and team not in self.teams:
            raise self.fail("then", "team", f"unknown team {team!r}"
                            + (f"; known: {', '.join(sorted(self.teams))}" if self.teams else ""))
        tags = self.strings(then, "then", "tag")
        for tag in tags:
            if not re.match(r"^[^\s\x00-\x1f\x7f,\"']{1,64}$", tag) or tag.startswith("-"):
                raise self.fail("then", "tag", f"bad tag name {tag!r}")
        status = self.string(then, "then", "status", RULE_STATUSES)
        snooze = self.string(then, "then", "snooze")
        snooze_ms = None
        if snooze is not None:
            if status is not None:
                raise self.fail("then", "snooze", "a rule sets a status or snoozes, not both")
            try:
                snooze_ms = parse_duration(snooze)
            except ValueError as exc:
                raise self.fail("then", "snooze", str(exc)) from None
        note = then.get("note")
        if note is not None and (not isinstance(note, str) or not note.strip()):
            raise self.fail("then", "note", "expected the note's text")
        stop = then.get("stop", False)
        if not isinstance(stop, bool):
            raise self.fail("then", "stop", "expected true or false")
        return Actions(assign=assign, team=team, strategy=strategy, tags=tags,
                       priority=self.string(then, "then", "priority", PRIORITIES), status=status,
                       snooze_ms=snooze_ms, note=note, stop=stop)
