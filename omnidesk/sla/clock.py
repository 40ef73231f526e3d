"""The SLA clock of one conversation: which targets run, when each warns and is due.

Pure: the facts come from the store (omnidesk/store/sla.py), the policies and calendars
from the config. A target's clock counts business time of its policy's calendar from
the moment the target started, and stands still while the conversation is not open
(pending on the customer, snoozed, resolved), so its due time is only known while it
runs; while it stands, what is left is kept instead.

- first response: from the conversation's start until the first reply;
- next response: from the first customer message after the latest reply until the next
  reply (only once there has been a first reply);
- resolution: from the start until resolved (time resolved does not count if reopened).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from omnidesk.sla.hours import BusinessCalendar
from omnidesk.sla.policy import Policy, choose

RUNNING = "open"  # the one status in which the clock runs
#: Statuses with no clock at all.
DONE = frozenset({"resolved", "spam"})


class Facts(NamedTuple):
    """What the clock needs to know of a conversation."""

    id: int
    status: str
    priority: str
    created_at: int
    tags: tuple[str, ...]
    channel: tuple[str | None, str | None]  # (name, kind) of the latest inbound message's channel
    tier: str | None
    first_reply_at: int | None
    unanswered_since: int | None  # the first customer message after the latest reply, if any
    statuses: tuple[tuple[int, str], ...]  # (when, new status) after creation, oldest first


class TargetClock(NamedTuple):
    """One running (or standing) target."""

    target: str
    policy: str
    started_at: int
    warn_at: int | None  # None while the clock stands
    due_at: int | None
    left_ms: int | None  # business ms left while the clock stands (None while it runs)


class Summary(NamedTuple):
    """What the conversation row shows: the target due first (or, all standing, the least left)."""

    target: str | None = None
    due_at: int | None = None
    warn_at: int | None = None
    left_ms: int | None = None


def _segments(facts: Facts) -> list[tuple[int, int | None, str]]:
    """(from, to, status) since creation; the last one open-ended. The current status wins at the end."""
    later = sorted((max(at, facts.created_at), status) for at, status in facts.statuses)
    changes = [(facts.created_at, "open"), *later]
    if changes[-1][1] != facts.status:  # a change that wrote no event: trust the row from its last event on
        changes.append((changes[-1][0], facts.status))
    out = []
    for (at, status), following in zip(changes, [*changes[1:], None], strict=True):
        out.append((at, following[0] if following is not None else None, status))
    return out


def _run(calendar: BusinessCalendar, segments: Sequence[tuple[int, int | None, str]], start: int,
         warn_ms: int, target_ms: int) -> tuple[int | None, int | None, int | None]:
    """(warn_at, due_at, left_ms) of a target of `target_ms` warning after `warn_ms`, started at `start`."""
    elapsed = 0
    warn_at = None
    for begin, end, status in segments:
        if end is not None and end <= start:
            continue
        begin = max(begin, start)
        if status != RUNNING:
            if end is None:  # standing now (a target reached before would have returned)
                return None, None, target_ms - elapsed
            continue
        span = calendar.between(begin, end) if end is not None else None
        if warn_at is None and (span is None or elapsed + span >= warn_ms):
            warn_at = calendar.add(begin, warn_ms - elapsed)
        if span is None or elapsed + span >= target_ms:
            return warn_at, calendar.add(begin, target_ms - elapsed), None
        elapsed += span
    raise AssertionError("the last segment is open-ended")  # pragma: no cover


def clocks(facts: Facts, policies: Sequence[Policy],
           calendar_of: Callable[[str], BusinessCalendar]) -> list[TargetClock]:
    """The targets running (or standing) for a conversation, under the first policy it falls under."""
    if facts.status in DONE:
        return []
    policy = choose(policies, facts.priority, facts.tags, facts.channel, facts.tier)
    if policy is None:
        return []
    starts = {"first_response": facts.created_at if facts.first_reply_at is None else None,
              "next_response": facts.unanswered_since if facts.first_reply_at is not None else None,
              "resolution": facts.created_at}
    calendar = calendar_of(policy.calendar)
    segments = _segments(facts)
    out = []
    for target, target_ms in policy.targets:
        start = starts[target]
        if start is None:
            continue
        warn_at, due_at, left = _run(calendar, segments, start, policy.warn_after(target_ms), target_ms)
        out.append(TargetClock(target, policy.name, start, warn_at, due_at, left))
    return out


def summary(running: Sequence[TargetClock]) -> Summary:
    """The target the conversation row shows: due first, else (all standing) the one with least left."""
    timed = [c for c in running if c.due_at is not None]
    if timed:
        first = min(timed, key=lambda c: (c.due_at, c.target))
        return Summary(first.target, first.due_at, first.warn_at, None)
    standing = [c for c in running if c.left_ms is not None]
    if standing:
        first = min(standing, key=lambda c: (c.left_ms, c.target))
        return Summary(first.target, None, None, first.left_ms)
    return Summary()
