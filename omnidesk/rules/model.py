"""A rule as loaded: when it runs, what it asks of the conversation, what it does."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from omnidesk.query import Query

STRATEGIES = ("round-robin", "least-open", "skills")
HOURS = ("inside", "outside")
MESSAGE_KINDS = ("first", "reply")


@dataclass(frozen=True, slots=True)
class Conditions:
    """All must hold; an empty one always does."""

    channels: tuple[str, ...] = ()  # channel names or kinds
    query: Query | None = None  # the search language, on this conversation alone
    tiers: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    hours: str | None = None  # inside | outside business hours
    calendar: str | None = None  # of this [calendars.NAME]; None: the first configured
    message: str | None = None  # first | reply


@dataclass(frozen=True, slots=True)
class Actions:
    """What a rule does, in this order: assign, tag, priority, status or snooze, note; then maybe stop."""

    assign: str | None = None  # an agent's name, or "none" to unassign
    team: str | None = None
    strategy: str | None = None  # one of STRATEGIES: picks an agent (of `team`, when given)
    tags: tuple[str, ...] = ()
    priority: str | None = None
    status: str | None = None
    snooze_ms: int | None = None
    note: str | None = None
    stop: bool = False


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    on: tuple[str, ...]  # store.routing.TRIGGERS
    when: Conditions
    then: Actions
    line: int  # of its [[rules]] header, for messages

    def runs_on(self, trigger: str) -> bool:
        """A new conversation is also a new inbound message (its first)."""
        return trigger in self.on or (trigger == "new_conversation" and "inbound_message" in self.on)


@dataclass(frozen=True, slots=True)
class RuleSet:
    rules: tuple[Rule, ...] = ()
    source: Path | None = None
    signature: tuple[int, int, int] | None = field(default=None, compare=False)  # the file's stat when read
