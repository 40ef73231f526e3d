"""Business-hours arithmetic: is a calendar open, when it opens next, adding and counting business time.

A calendar is a time zone, shifts per weekday (several a day; one ending at or before
its start runs past midnight, `22:00-06:00`), and closed dates. Times are epoch
milliseconds (the store's unit), and business time is real elapsed time while open,
so a night shift across a DST change is 7 or 9 hours long, not 8.

What a shift is, exactly: it starts at the first instant the wall clock of its zone
shows its start on its date, and ends at the first instant it shows its end. A start
or end inside a DST gap (02:30 on a spring-forward night) is therefore the moment of
the jump; one inside a repeated hour (fall back) is its first occurrence. A closed
date closes the shifts that start on it; a shift of the evening before runs on into it.
Shifts that overlap (Monday's night shift and Tuesday's early one) count once.

Only zoneinfo is used for the zone rules. Each date's shifts become UTC instants
once (cached per calendar), so the arithmetic over many conversations is mostly
integer comparisons.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

#: Minutes of one local day; a shift's end may reach into the next day (up to start + 24 h).
DAY_MINUTES = 24 * 60
#: How far `next_open` and `add` look before deciding the calendar never opens (closed dates
#: only run out: validation refuses a week without hours). About 20 years.
HORIZON_DAYS = 7305

#: (start, end) minutes after the local midnight of the shift's date; end > start, end <= start + 1440.
Shift = tuple[int, int]


class NeverOpen(ValueError):
    """The calendar has no open time within HORIZON_DAYS of the instant asked about."""


def _first_instant(tz: ZoneInfo, day: date, minute: int) -> int:
    """Epoch ms of the first instant whose wall clock in `tz` shows `day` + `minute` minutes or later."""
    naive = datetime(day.year, day.month, day.day) + timedelta(minutes=minute)
    early = naive.replace(tzinfo=tz, fold=0)
    utc = early.astimezone(UTC)
    if utc.astimezone(tz).replace(tzinfo=None) == naive:  # exists; fold=0 is the first occurrence
        return _ms(utc)
    # In a gap: the answer is the jump. fold=1 reads the time with the later offset, which lands
    # before the jump; fold=0 reads it with the earlier one, after. Bisect between them.
    low = _ms(naive.replace(tzinfo=tz, fold=1).astimezone(UTC))
    high = _ms(utc)
    offset_after = utc.astimezone(tz).utcoffset()
    while high - low > 1000:
        mid = (low + high) // 2 // 1000 * 1000
        if datetime.fromtimestamp(mid / 1000, tz).utcoffset() == offset_after:
            high = mid
        else:
            low = mid
    return high


def _ms(dt: datetime) -> int:
    return int(dt.timestamp()) * 1000 + dt.microsecond // 1000


class BusinessCalendar:
    """Open hours in one zone, with arithmetic in epoch ms."""

    def __init__(self, name: str, timezone: str, week: Sequence[Sequence[Shift]],
                 closed: Callable[[date], bool] | None = None) -> None:
        """`week[0]` is Monday's shifts; `closed(day)` says whether a date is a holiday."""
        if len(week) != 7:
            raise ValueError("a week has seven days")
        self.name = name
        self.timezone = timezone
        self.tz = ZoneInfo(timezone)
        self.week = tuple(tuple(sorted(day)) for day in week)
        self.closed = closed
        if not any(self.week):
            raise ValueError(f"calendar {name!r} has no open hours")
        # Every day open around the clock and no closed dates: open at every instant.
        self.always = closed is None and all(day == ((0, DAY_MINUTES),) for day in self.week)
        self._day = lru_cache(maxsize=4096)(self._day_uncached)

    def __repr__(self) -> str:
        return f"BusinessCalendar({self.name!r}, {self.timezone!r})"

    # -- the open intervals --------------------------------------------------------------

    def _day_uncached(self, ordinal: int) -> tuple[tuple[int, int], ...]:
        """The shifts starting on local date `ordinal`, as (start, end) epoch ms."""
        day = date.fromordinal(ordinal)
        if self.closed is not None and self.closed(day):
            return ()
        return tuple((_first_instant(self.tz, day, start), _first_instant(self.tz, day, end))
                     for start, end in self.week[day.weekday()])

    def _local_ordinal(self, ms: int) -> int:
        return datetime.fromtimestamp(ms / 1000, self.tz).toordinal()

    def intervals(self, since: int) -> Iterator[tuple[int, int]]:
        """Open intervals [start, end) in time order, merged, from the one holding `since` (or after).

        Raises NeverOpen after HORIZON_DAYS without one.
        """
        ordinal = self._local_ordinal(since) - 1  # yesterday's night shift may still run
        current: tuple[int, int] | None = None
        empty = 0
        while True:
            shifts = self._day(ordinal)
            ordinal += 1
            if not shifts:
                empty += 1
                if empty > HORIZON_DAYS:
                    if current is not None:
                        yield current
                    raise NeverOpen(f"calendar {self.name!r} does not open within {HORIZON_DAYS} days")
                continue
            empty = 0
            for start, end in shifts:  # sorted by start; later days start later
                if end <= start:
                    continue  # a shift wholly inside a DST gap
                if current is None:
                    current = (start, end)
                elif start <= current[1]:
                    current = (current[0], max(current[1], end))
                else:
                    if current[1] > since:
                        yield current
                    current = (start, end)

    # -- arithmetic ----------------------------------------------------------------------

    def is_open(self, at: int) -> bool:
        if self.always:
            return True
        for start, end in self.intervals(at):
            return start <= at < end
        return False  # pragma: no cover - intervals raises rather than ending

    def next_open(self, at: int) -> int:
        """`at` when open, else the instant it next opens."""
        if self.always:
            return at
        for start, _end in self.intervals(at):
            return max(start, at)
        raise AssertionError("unreachable")  # pragma: no cover

    def add(self, at: int, business_ms: int) -> int:
        """The earliest instant by which `business_ms` of open time has passed since `at`."""
        if business_ms <= 0 or self.always:
            return at + max(0, business_ms)
        left = business_ms
        for start, end in self.intervals(at):
            begin = max(start, at)
            if begin + left <= end:
                return begin + left
            left -= end - begin
        raise AssertionError("unreachable")  # pragma: no cover

    def between(self, start: int, end: int) -> int:
        """Open milliseconds in [start, end); negative when end is before start."""
        if end < start:
            return -self.between(end, start)
        if self.always:
            return end - start
        total = 0
        for a, b in self.intervals(start):
            if a >= end:
                break
            total += min(b, end) - max(a, start)
        return total


#: The calendar used where a policy names none: open every moment.
ALWAYS_OPEN = BusinessCalendar("24x7", "UTC", [((0, DAY_MINUTES),)] * 7)
