"""Business-hours arithmetic against a slow reference that steps minute by minute, and DST tables."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omnidesk.sla.config import parse_shift
from omnidesk.sla.hours import ALWAYS_OPEN, BusinessCalendar, NeverOpen
from omnidesk.sla.policy import CalendarSpec, build_calendar

MINUTE = 60_000
HOUR = 60 * MINUTE
ZONES = ["Europe/Budapest", "America/New_York", "Australia/Sydney", "Australia/Lord_Howe", "Asia/Tehran",
         "UTC"]
#: The days of those zones' DST changes (2026), where the arithmetic is most likely wrong.
DST_DAYS = [("America/New_York", date(2026, 3, 8)), ("America/New_York", date(2026, 11, 1)),
            ("Europe/Budapest", date(2026, 3, 29)), ("Europe/Budapest", date(2026, 10, 25)),
            ("Australia/Sydney", date(2026, 4, 5)), ("Australia/Sydney", date(2026, 10, 4)),
            ("Australia/Lord_Howe", date(2026, 4, 5)), ("Australia/Lord_Howe", date(2026, 10, 4))]


def ms(zone: str, *args: int) -> int:
    """Epoch ms of a wall time in a zone (fold 0)."""
    return int(datetime(*args, tzinfo=ZoneInfo(zone)).timestamp() * 1000)


def utc(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp() * 1000)


def calendar(zone: str, week: dict[int, list[str]], holidays: tuple[date, ...] = ()) -> BusinessCalendar:
    shifts = tuple(tuple(parse_shift(s) for s in week.get(i, ())) for i in range(7))
    return build_calendar(CalendarSpec("t", zone, shifts, holidays))  # type: ignore[arg-type]


# -- the reference ---------------------------------------------------------------------------


def ref_first_instant(tz: ZoneInfo, day: date, minute: int) -> int:
    """The first minute whose wall clock shows day+minute or later, found by walking UTC minutes."""
    wall = datetime(day.year, day.month, day.day) + timedelta(minutes=minute)
    at = int(wall.replace(tzinfo=UTC).timestamp() * 1000) - 15 * HOUR  # before any offset could put it
    while datetime.fromtimestamp(at / 1000, tz).replace(tzinfo=None) < wall:
        at += MINUTE
    return at


def ref_open_minutes(zone: str, week: dict[int, list[str]], holidays: set[date], start: int,
                     end: int) -> list[int]:
    """Every minute in [start, end) (minute-aligned) that some shift covers, sorted."""
    tz = ZoneInfo(zone)
    first = datetime.fromtimestamp(start / 1000, tz).date() - timedelta(days=2)
    last = datetime.fromtimestamp(end / 1000, tz).date() + timedelta(days=1)
    minutes: set[int] = set()
    day = first
    while day <= last:
        if day not in holidays:
            for text in week.get(day.weekday(), ()):
                s, e = parse_shift(text)  # type: ignore[misc]
                a, b = ref_first_instant(tz, day, s), ref_first_instant(tz, day, e)
                minutes.update(range(max(a, start), min(b, end), MINUTE))
        day += timedelta(days=1)
    return sorted(minutes)


# -- property tests --------------------------------------------------------------------------

TIMES = [f"{h:02d}:{m:02d}" for h in range(24) for m in (0, 30)]
#: Wall times in or next to the changes' gaps and repeated hours, drawn often.
NEAR_CHANGES = ["01:30", "01:45", "02:00", "02:15", "02:30", "02:45", "03:00"]
CLOCK = st.one_of(st.sampled_from(NEAR_CHANGES), st.sampled_from(TIMES))


@st.composite
def shift_text(draw: st.DrawFn) -> str:
    start = draw(CLOCK)
    end = draw(st.one_of(CLOCK, st.just("24:00")).filter(lambda t: t != start))
    return f"{start}-{end}"


@st.composite
def scenario(draw: st.DrawFn) -> tuple[str, dict[int, list[str]], set[date], int, int]:
    zone, around = draw(st.one_of(
        st.sampled_from(DST_DAYS),
        st.tuples(st.sampled_from(ZONES), st.dates(min_value=date(2025, 1, 1),
                                                   max_value=date(2027, 12, 31)))))
    week = {i: draw(st.lists(shift_text(), max_size=2)) for i in range(7)}
    if not any(week.values()):
        week[draw(st.integers(0, 6))] = ["09:00-17:00"]
    holidays = set(draw(st.lists(st.integers(-3, 3).map(lambda d: around + timedelta(days=d)), max_size=3)))
    base = int(datetime(around.year, around.month, around.day, tzinfo=UTC).timestamp() * 1000)
    start = base + draw(st.integers(-36 * 60, 36 * 60)) * MINUTE
    length = draw(st.integers(0, 3 * 24 * 60)) * MINUTE
    return zone, week, holidays, start, start + length


PROPERTY = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(scenario())
def test_between_and_is_open_agree_with_minute_stepping(case: tuple) -> None:
    zone, week, holidays, start, end = case
    cal = calendar(zone, week, tuple(sorted(holidays)))
    open_minutes = ref_open_minutes(zone, week, holidays, start, end)
    assert cal.between(start, end) == len(open_minutes) * MINUTE
    assert cal.between(end, start) == -len(open_minutes) * MINUTE
    opened = set(open_minutes)
    for at in range(start, end, max(MINUTE, (end - start) // 50 // MINUTE * MINUTE)):
        assert cal.is_open(at) == (at in opened), datetime.fromtimestamp(at / 1000, ZoneInfo(zone))


@PROPERTY
@given(scenario(), st.integers(0, 600))
def test_add_and_next_open_agree_with_minute_stepping(case: tuple, minutes: int) -> None:
    zone, week, holidays, start, _ = case
    cal = calendar(zone, week, tuple(sorted(holidays)))
    horizon = start + 12 * 24 * HOUR  # a week always holds open time unless closed dates cover it
    open_minutes = ref_open_minutes(zone, week, holidays, start, horizon)
    if open_minutes:
        assert cal.next_open(start) == open_minutes[0]
    if 0 < minutes <= len(open_minutes):
        # The n-th open minute's end: the earliest instant by which n minutes of open time passed.
        assert cal.add(start, minutes * MINUTE) == open_minutes[minutes - 1] + MINUTE
        assert cal.between(start, cal.add(start, minutes * MINUTE)) == minutes * MINUTE
    assert cal.add(start, 0) == start


# -- tables: DST nights, gaps, holidays, overnight shifts, several calendars -------------------


@pytest.mark.parametrize(("zone", "night", "hours"), [
    ("Europe/Budapest", date(2026, 3, 28), 7),  # spring forward: the night shift is an hour short
    ("Europe/Budapest", date(2026, 10, 24), 9),  # fall back: an hour long
    ("America/New_York", date(2026, 3, 7), 7),
    ("America/New_York", date(2026, 10, 31), 9),
    ("Australia/Sydney", date(2026, 10, 3), 7),  # the southern spring is in October
    ("Australia/Sydney", date(2026, 4, 4), 9),
    ("Australia/Lord_Howe", date(2026, 10, 3), 7.5),  # a half-hour change
    ("Australia/Lord_Howe", date(2026, 4, 4), 8.5),
    ("Asia/Tehran", date(2026, 3, 21), 8),  # no DST any more
])
def test_a_night_shift_across_a_dst_change_is_real_time(zone: str, night: date, hours: float) -> None:
    cal = calendar(zone, {night.weekday(): ["22:00-06:00"]})
    start = ms(zone, night.year, night.month, night.day, 22)
    next_day = night + timedelta(days=1)
    end = ms(zone, next_day.year, next_day.month, next_day.day, 6)
    assert cal.between(start - HOUR, end + HOUR) == hours * HOUR
    assert cal.add(start, int(hours * HOUR)) == end
    assert cal.is_open(end - 1) and not cal.is_open(end)


def test_a_shift_starting_inside_the_spring_gap_starts_at_the_jump() -> None:
    cal = calendar("Europe/Budapest", {6: ["02:30-05:00"]})  # Sunday 2026-03-29: 02:00 -> 03:00
    assert cal.next_open(utc(2026, 3, 28, 12)) == utc(2026, 3, 29, 1)  # 03:00 CEST
    assert cal.between(utc(2026, 3, 28), utc(2026, 3, 30)) == 2 * HOUR


def test_a_shift_ending_in_the_repeated_hour_ends_at_its_first_occurrence() -> None:
    cal = calendar("Europe/Budapest", {6: ["01:00-02:30"]})  # Sunday 2026-10-25: 03:00 -> 02:00
    assert cal.between(utc(2026, 10, 24), utc(2026, 10, 26)) == 90 * MINUTE
    assert not cal.is_open(utc(2026, 10, 25, 1))  # 02:00 CET, the second time round


def test_a_holiday_closes_its_day_and_the_clock_runs_on_after_the_weekend() -> None:
    nine_to_five = {d: ["09:00-17:00"] for d in range(5)}
    cal = calendar("Europe/Budapest", nine_to_five, (date(2026, 12, 25),))  # a Friday
    thursday = ms("Europe/Budapest", 2026, 12, 24, 15)
    assert cal.add(thursday, 4 * HOUR) == ms("Europe/Budapest", 2026, 12, 28, 11)
    assert not cal.is_open(ms("Europe/Budapest", 2026, 12, 25, 10))
    assert cal.next_open(ms("Europe/Budapest", 2026, 12, 24, 18)) == ms("Europe/Budapest", 2026, 12, 28, 9)


def test_a_night_shift_runs_on_into_a_holiday_but_none_starts_on_it() -> None:
    cal = calendar("UTC", {d: ["22:00-06:00"] for d in range(7)}, (date(2026, 12, 25),))
    assert cal.is_open(utc(2026, 12, 25, 5))  # the 24th's shift
    assert not cal.is_open(utc(2026, 12, 25, 23))
    # the 23rd's shift until 06:00, the 24th's whole, none on the 25th, two hours of the 26th's
    assert cal.between(utc(2026, 12, 24), utc(2026, 12, 27)) == (6 + 8 + 2) * HOUR


def test_overlapping_shifts_count_once() -> None:
    cal = calendar("UTC", {0: ["22:00-06:00"], 1: ["05:00-13:00", "08:00-09:00"]})
    monday = utc(2026, 12, 7, 22)
    assert cal.between(monday, utc(2026, 12, 8, 23)) == 15 * HOUR
    assert cal.add(monday, 15 * HOUR) == utc(2026, 12, 8, 13)


def test_public_holidays_of_a_country() -> None:
    spec = CalendarSpec("hu", "Europe/Budapest", ((parse_shift("09:00-17:00"),),) * 5 + ((), ()),
                        country="HU")  # type: ignore[arg-type]
    cal = build_calendar(spec)
    thursday = ms("Europe/Budapest", 2026, 10, 22, 16, 30)  # Friday the 23rd is National Day
    assert cal.add(thursday, HOUR) == ms("Europe/Budapest", 2026, 10, 26, 9, 30)


def test_several_calendars_answer_for_their_own_zone() -> None:
    week = {d: ["09:00-17:00"] for d in range(5)}
    budapest, new_york = calendar("Europe/Budapest", week), calendar("America/New_York", week)
    noon_budapest = ms("Europe/Budapest", 2026, 12, 9, 12)
    assert budapest.is_open(noon_budapest) and not new_york.is_open(noon_budapest)
    assert new_york.next_open(noon_budapest) == ms("America/New_York", 2026, 12, 9, 9)
    assert budapest.add(noon_budapest, 8 * HOUR) == ms("Europe/Budapest", 2026, 12, 10, 12)


def test_the_always_open_calendar_is_wall_time() -> None:
    at = utc(2026, 3, 29, 0, 30)
    assert ALWAYS_OPEN.add(at, 5 * HOUR) == at + 5 * HOUR
    assert ALWAYS_OPEN.between(at, at + HOUR) == HOUR and ALWAYS_OPEN.is_open(at)


def test_a_calendar_closed_for_good_says_so() -> None:
    cal = BusinessCalendar("x", "UTC", [((540, 1020),)] + [()] * 6, closed=lambda day: day.year >= 2026)
    with pytest.raises(NeverOpen):
        cal.next_open(utc(2026, 1, 1))
    with pytest.raises(ValueError, match="no open hours"):
        BusinessCalendar("y", "UTC", [()] * 7)
