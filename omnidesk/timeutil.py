"""Times in the store are integer milliseconds since the epoch, UTC.

Every conversion to a datetime goes through here and is clamped to what a
datetime can hold, so a stored value from a bug, an old version or a hand-edited
database (2**62, -2**62) shows as the first or last representable day instead
of crashing every command that lists it.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta, timezone, tzinfo

from omnidesk.errors import UserError, shown

#: The moments every datetime can show in any UTC offset: 0001-01-02 .. 9999-12-30, in epoch ms.
MIN_MS = -62_135_510_400_000
MAX_MS = 253_402_214_399_000
#: How far ahead a person may set a time (a snooze): ten years.
MAX_AHEAD_YEARS = 10
MAX_AHEAD_MS = MAX_AHEAD_YEARS * 36525 * 864_000


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def to_ms(dt: datetime) -> int:
    """Aware datetime -> epoch ms. A naive datetime is taken as UTC."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def clamp_ms(ms: float) -> float:
    """`ms` inside [MIN_MS, MAX_MS], the range a datetime can be built from."""
    return min(max(ms, MIN_MS), MAX_MS)


def local(ms: float, tz: tzinfo) -> datetime:
    """Epoch ms -> aware datetime in `tz`, clamped (see the module docstring)."""
    return datetime.fromtimestamp(clamp_ms(ms) / 1000, tz)


def from_ms(ms: float, tz_offset_minutes: int | None = None) -> datetime:
    """Epoch ms -> aware datetime, in the given UTC offset (UTC when None)."""
    tz = UTC if tz_offset_minutes is None else timezone(timedelta(minutes=tz_offset_minutes))
    return local(ms, tz)


def offset_minutes(dt: datetime) -> int | None:
    off = dt.utcoffset()
    return None if off is None else int(off.total_seconds() // 60)


def iso(ms: float | None) -> str | None:
    """Epoch ms -> ISO 8601 UTC with a Z, second precision: the machine-readable form."""
    if ms is None:
        return None
    # isoformat, not strftime: %Y does not pad year 1 to four digits on glibc.
    return local(ms, UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def too_far(text: str) -> UserError:
    """The error for a typed time past MAX_AHEAD_MS."""
    return UserError(f"{shown(text.strip())} is too far ahead; at most {MAX_AHEAD_YEARS} years from now")


def ahead_ms(amount: str, unit_ms: int, text: str) -> int:
    """`amount` (digits as typed) times `unit_ms`, at most MAX_AHEAD_MS; else `too_far(text)`."""
    digits = amount.lstrip("0") or "0"
    if len(digits) > 15 or int(digits) * unit_ms > MAX_AHEAD_MS:  # int() of 5,000 digits refuses
        raise too_far(text)
    return int(digits) * unit_ms


def check_ahead(ms: int, now: int, text: str) -> int:
    """`ms` when it is at most MAX_AHEAD_MS after `now`; else `too_far(text)`."""
    if ms - now > MAX_AHEAD_MS:
        raise too_far(text)
    return ms


def span(ms: int) -> str:
    """A length of time in two units at most, to the minute: "45m", "1h20m", "3d4h" ("1m" below a minute)."""
    minutes = max(1, round(abs(ms) / 60_000))
    days, minutes = divmod(minutes, 1440)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days}d{hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h{minutes}m" if minutes else f"{hours}h"
    return f"{minutes}m"


_DURATION = re.compile(r"^(\d{1,5})\s*(m|h|d|w)$", re.IGNORECASE)
_DURATION_MS = {"m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000}


def parse_duration(text: str, option: str) -> int:
    """`30m`, `48h`, `7d`, `2w` in ms (up to ten years)."""
    m = _DURATION.match(text.strip())
    if not m:
        raise UserError(f"cannot read {option} {text!r}; use e.g. 30m, 48h, 7d or 2w")
    value = int(m.group(1)) * _DURATION_MS[m.group(2).lower()]
    if value > MAX_AHEAD_MS:
        raise UserError(f"{option} {text!r} is longer than ten years")
    return value
