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
once, merged into a table of open intervals with running sums (cached per calendar,
grown as instants outside it are asked about), so adding or counting business time is
two binary searches whatever the span.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import NamedTuple
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
        self._day = lru_cache(maxsize=8192)(self._day_uncached)
        self._table: _Table | None = None

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

    def _build(self, first_day: int, last_day: int) -> _Table:
        """The merged open intervals of the shifts of days first_day-1 .. last_day, with prefix sums.

        They are exact for instants from the local midnight starting first_day (yesterday's
        night shift is in) to the one ending last_day (no later day's shift starts before it).
        """
        starts: list[int] = []
        ends: list[int] = []
        for ordinal in range(first_day - 1, last_day + 1):
            for start, end in self._day(ordinal):  # sorted by start; later days start later
                if end <= start:
                    continue  # a shift wholly inside a DST gap
                if ends and start <= ends[-1]:
                    ends[-1] = max(ends[-1], end)
                else:
                    starts.append(start)
                    ends.append(end)
        before, through, total = [], [], 0
        for start, end in zip(starts, ends, strict=True):
            before.append(total)
            total += end - start
            through.append(total)
        lo = _first_instant(self.tz, date.fromordinal(first_day), 0)
        hi = _first_instant(self.tz, date.fromordinal(last_day + 1), 0)
        return _Table(lo, hi, first_day, last_day, starts, ends, before, through)

    def _cover(self, low: int, high: int) -> _Table:
        """A table exact for every instant in [low, high]; grown (or moved) when it is not."""
        table = self._table
        if table is not None and table.lo <= low and high < table.hi:
            return table
        first, last = self._local_ordinal(low) - 31, self._local_ordinal(high) + 366
        if table is not None and first - table.last_day < 731 and table.first_day - last < 731:
            first, last = min(first, table.first_day), max(last, table.last_day)  # near: grow it
        self._table = table = self._build(first, last)
        return table

    @staticmethod
    def _open_before(table: _Table, at: int) -> int:
        """Open ms from the table's first interval up to `at`."""
        i = bisect_right(table.starts, at) - 1
        if i < 0:
            return 0
        return table.before[i] + min(at, table.ends[i]) - table.starts[i]

    def _grow(self, at: int, table: _Table) -> _Table:
        """The table extended a year further ahead of `at`; NeverOpen past HORIZON_DAYS."""
        if table.last_day - self._local_ordinal(at) > HORIZON_DAYS:
            raise NeverOpen(f"calendar {self.name!r} does not open within {HORIZON_DAYS} days")
        return self._cover(at, table.hi + 366 * 86_400_000)

    # -- arithmetic ----------------------------------------------------------------------

    def is_open(self, at: int) -> bool:
        if self.always:
            return True
        table = self._cover(at, at)
        i = bisect_right(table.starts, at) - 1
        return i >= 0 and at < table.ends[i]

    def next_open(self, at: int) -> int:
        """`at` when open, else the instant it next opens."""
        if self.always:
            return at
        table = self._cover(at, at)
        while True:
            i = bisect_right(table.starts, at) - 1
            if i >= 0 and at < table.ends[i]:
                return at
            if i + 1 < len(table.starts):
                return table.starts[i + 1]
            table = self._grow(at, table)

    def add(self, at: int, business_ms: int) -> int:
        """The earliest instant by which `business_ms` of open time has passed since `at`."""
        if business_ms <= 0 or self.always:
            return at + max(0, business_ms)
        table = self._cover(at, at)
        while True:
            target = self._open_before(table, at) + business_ms
            j = bisect_left(table.through, target)
            if j < len(table.starts):
                reached = table.starts[j] + target - table.before[j]
                if reached <= table.hi:
                    return reached
            table = self._grow(at, table)

    def between(self, start: int, end: int) -> int:
        """Open milliseconds in [start, end); negative when end is before start."""
        if end < start:
            return -self.between(end, start)
        if self.always:
            return end - start
        table = self._cover(start, end)
        return self._open_before(table, end) - self._open_before(table, start)


class _Table(NamedTuple):
    """A calendar's open intervals over a span of days, for bisecting."""

    lo: int  # exact for instants in [lo, hi)
    hi: int
    first_day: int
    last_day: int
    starts: list[int]
    ends: list[int]
    before: list[int]  # open ms before each interval (from the first)
    through: list[int]  # open ms to each interval's end


#: The calendar used where a policy names none: open every moment.
ALWAYS_OPEN = BusinessCalendar("24x7", "UTC", [((0, DAY_MINUTES),)] * 7)
