"""SLA policies and calendars as configured, and which policy a conversation falls under.

Records only (NamedTuples: they are defined at every start-up that reads a config with
`[calendars]` or `[sla]`); the arithmetic is omnidesk/sla/hours.py, the clock
omnidesk/sla/clock.py.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from functools import lru_cache
from typing import NamedTuple

from omnidesk.sla.hours import ALWAYS_OPEN, BusinessCalendar, Shift

#: The targets, in the order a conversation meets them.
TARGETS = ("first_response", "next_response", "resolution")
#: The name of the calendar a policy without `calendar` counts in.
ALWAYS_OPEN_NAME = ALWAYS_OPEN.name


class CalendarSpec(NamedTuple):
    """One [calendars.NAME] table, validated (hashable, so a built calendar is cached per spec)."""

    name: str
    timezone: str
    week: tuple[tuple[Shift, ...], ...]  # Monday first
    holidays: tuple[date, ...] = ()
    country: str | None = None  # public holidays of this country (the holidays library)
    subdivision: str | None = None  # a state or region of `country`


class Escalation(NamedTuple):
    """What happens once when a target reaches its warning point or is breached."""

    tags: tuple[str, ...] = ()
    priority: str | None = None  # "raise" (one step up) or a priority name
    assign: str | None = None  # an agent name
    team: str | None = None
    note: str | None = None
    notify: tuple[str, ...] = ()  # agents told in the console

    @property
    def empty(self) -> bool:
        return self == Escalation()


class Policy(NamedTuple):
    """One [sla.NAME] table: which conversations, the targets (business ms), warning, escalations."""

    name: str
    targets: tuple[tuple[str, int], ...]  # (target, business ms), in TARGETS order
    priorities: frozenset[str] = frozenset()  # empty: any
    tags: frozenset[str] = frozenset()  # any of them (case-insensitive); empty: any
    channels: frozenset[str] = frozenset()  # channel names or kinds; empty: any
    tiers: frozenset[str] = frozenset()  # customer tiers; empty: any
    calendar: str = ALWAYS_OPEN_NAME
    warning_fraction: float | None = 0.8  # warn at this share of the target...
    warning_ms: int | None = None  # ...or this long before it is due
    on_warning: Escalation = Escalation()
    on_breach: Escalation = Escalation()

    def matches(self, priority: str, tags: Collection[str], channel: tuple[str | None, str | None],
                tier: str | None) -> bool:
        """Does a conversation with these facts fall under this policy? `channel` is (name, kind)."""
        if self.priorities and priority not in self.priorities:
            return False
        if self.tags and not self.tags & {t.casefold() for t in tags}:
            return False
        if self.channels and not self.channels & {c for c in channel if c}:
            return False
        return not self.tiers or (tier or "").casefold() in self.tiers

    def warn_after(self, target_ms: int) -> int:
        """Business ms into a target at which it warns."""
        if self.warning_ms is not None:
            return max(0, target_ms - self.warning_ms)
        return int(target_ms * (self.warning_fraction if self.warning_fraction is not None else 1.0))


def choose(policies: Collection[Policy], priority: str, tags: Collection[str],
           channel: tuple[str | None, str | None], tier: str | None) -> Policy | None:
    """The first policy (in file order) the conversation falls under, or None."""
    return next((p for p in policies if p.matches(priority, tags, channel, tier)), None)


@lru_cache(maxsize=64)
def build_calendar(spec: CalendarSpec) -> BusinessCalendar:
    """A calendar from its spec; the same spec gives the same (cached) calendar."""
    closed_dates = frozenset(spec.holidays)
    country = None
    if spec.country:
        import holidays  # only calendars that name a country need it

        country = holidays.country_holidays(spec.country, subdiv=spec.subdivision)

    def closed(day: date) -> bool:
        return day in closed_dates or (country is not None and day in country)

    has_closed = bool(closed_dates) or country is not None
    return BusinessCalendar(spec.name, spec.timezone, spec.week, closed if has_closed else None)


def calendar_named(specs: Collection[CalendarSpec], name: str) -> BusinessCalendar:
    """The built calendar of that name (the always-open one for ALWAYS_OPEN_NAME)."""
    for spec in specs:
        if spec.name == name:
            return build_calendar(spec)
    return ALWAYS_OPEN
