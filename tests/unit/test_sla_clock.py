"""The SLA clock of one conversation: targets, pauses while pending or snoozed, warnings, policy choice."""

from __future__ import annotations

from datetime import UTC, datetime

from omnidesk.sla.clock import Facts, Summary, TargetClock, clocks, summary
from omnidesk.sla.hours import ALWAYS_OPEN, BusinessCalendar
from omnidesk.sla.policy import Policy

MIN = 60_000
HOUR = 60 * MIN
T0 = int(datetime(2026, 12, 7, 9, tzinfo=UTC).timestamp() * 1000)  # a Monday, 09:00 UTC
OFFICE = BusinessCalendar("office", "UTC", [((540, 1020),)] * 5 + [(), ()])  # 09-17 on weekdays

BASIC = Policy("basic", (("first_response", 4 * HOUR), ("next_response", 2 * HOUR),
                         ("resolution", 24 * HOUR)))


def facts(status: str = "open", statuses: tuple[tuple[int, str], ...] = (), *, first_reply: int | None = None,
          unanswered: int | None = None, priority: str = "normal", tags: tuple[str, ...] = ()) -> Facts:
    return Facts(1, status, priority, T0, tags, ("support", "email"), None, first_reply, unanswered, statuses)


def run(f: Facts, policies: tuple[Policy, ...] = (BASIC,), calendar: BusinessCalendar = ALWAYS_OPEN
        ) -> dict[str, TargetClock]:
    return {c.target: c for c in clocks(f, policies, lambda name: calendar)}


def test_an_open_conversation_runs_first_response_and_resolution() -> None:
    running = run(facts())
    assert running["first_response"] == TargetClock("first_response", "basic", T0, T0 + 192 * MIN,
                                                    T0 + 4 * HOUR, None)
    assert running["resolution"].due_at == T0 + 24 * HOUR and "next_response" not in running
    assert summary(list(running.values())) == Summary("first_response", T0 + 4 * HOUR, T0 + 192 * MIN, None)


def test_pending_stops_the_clock_and_open_starts_it_where_it_stood() -> None:
    pending = T0 + HOUR
    standing = run(facts("pending", ((pending, "pending"),)))["first_response"]
    assert (standing.due_at, standing.warn_at, standing.left_ms) == (None, None, 3 * HOUR)
    resumed = T0 + 5 * HOUR
    running = run(facts("open", ((pending, "pending"), (resumed, "open"))))["first_response"]
    assert running.due_at == resumed + 3 * HOUR and running.left_ms is None
    assert summary(list(run(facts("pending", ((pending, "pending"),))).values())) == \
        Summary("first_response", None, None, 3 * HOUR)


def test_snoozed_stops_the_clock_too_and_a_wake_up_starts_it() -> None:
    snoozed, woken = T0 + 30 * MIN, T0 + 10 * HOUR
    assert run(facts("snoozed", ((snoozed, "snoozed"),)))["resolution"].left_ms == 23 * HOUR + 30 * MIN
    running = run(facts("open", ((snoozed, "snoozed"), (woken, "open"))))
    assert running["first_response"].due_at == woken + 3 * HOUR + 30 * MIN
    assert running["resolution"].due_at == woken + 23 * HOUR + 30 * MIN


def test_a_target_breached_before_the_pause_stays_breached() -> None:
    late_pause = T0 + 5 * HOUR
    standing = run(facts("pending", ((late_pause, "pending"),)))["first_response"]
    assert standing.due_at == T0 + 4 * HOUR and standing.left_ms is None


def test_a_reply_meets_first_response_and_a_new_message_starts_next_response() -> None:
    running = run(facts(first_reply=T0 + HOUR))
    assert set(running) == {"resolution"}
    running = run(facts(first_reply=T0 + HOUR, unanswered=T0 + 3 * HOUR))
    assert running["next_response"].started_at == T0 + 3 * HOUR
    assert running["next_response"].due_at == T0 + 5 * HOUR


def test_resolved_time_does_not_count_when_reopened() -> None:
    assert run(facts("resolved", ((T0 + HOUR, "resolved"),))) == {}
    running = run(facts("open", ((T0 + HOUR, "resolved"), (T0 + 48 * HOUR, "open")), first_reply=T0))
    assert running["resolution"].due_at == T0 + 48 * HOUR + 23 * HOUR


def test_business_hours_carry_the_clock_over_the_night_and_the_weekend() -> None:
    friday_four = T0 + 4 * 24 * HOUR + 7 * HOUR  # Friday 16:00
    f = Facts(1, "open", "normal", friday_four, (), (None, None), None, None, None, ())
    running = {c.target: c for c in clocks(f, (BASIC,), lambda name: OFFICE)}
    monday = T0 + 7 * 24 * HOUR
    assert running["first_response"].due_at == monday + 3 * HOUR  # 1 h on Friday, 3 on Monday
    assert running["first_response"].warn_at == monday + 2 * HOUR + 12 * MIN  # 80% of 4 h = 3 h 12 m


def test_the_first_matching_policy_applies_and_a_warning_can_be_a_duration() -> None:
    vip = Policy("vip", (("first_response", HOUR),), tags=frozenset({"vip"}), warning_fraction=None,
                 warning_ms=15 * MIN)
    urgent = Policy("urgent", (("first_response", 2 * HOUR),), priorities=frozenset({"urgent"}))
    chosen = run(facts(priority="urgent", tags=("VIP",)), (vip, urgent))["first_response"]
    assert (chosen.policy, chosen.due_at, chosen.warn_at) == ("vip", T0 + HOUR, T0 + 45 * MIN)
    assert run(facts(priority="urgent"), (vip, urgent))["first_response"].policy == "urgent"
    assert run(facts(priority="low"), (vip, urgent)) == {}


def test_a_status_change_without_an_event_is_taken_from_the_row() -> None:
    standing = run(facts("pending"))["first_response"]  # no event said so: pending since creation
    assert standing.left_ms == 4 * HOUR
