"""A report's period from what a person types: `30d` (ago), `2026-11-01`, `2026-11-01T14:00`."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from omnidesk.errors import UserError
from omnidesk.timeutil import parse_duration, to_ms

__all__ = ["parse_duration", "parse_point", "period"]

_AGO = re.compile(r"^(\d{1,5})\s*(h|d|w|y)$", re.IGNORECASE)
_UNIT = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1), "y": timedelta(days=365)}
#: At most ten years back: enough for any desk, and keeps every time inside datetime's range.
MAX_AGO = timedelta(days=3660)


def parse_point(text: str, option: str, timezone: str, now: int) -> int:
    """Epoch ms: `Nh|Nd|Nw|Ny` before `now`, or a date (its local midnight) or local/ISO time."""
    value = text.strip()
    m = _AGO.match(value)
    if m:
        ago = int(m.group(1)) * _UNIT[m.group(2).lower()]
        if ago > MAX_AGO:
            raise UserError(f"{option} {text!r} is more than ten years back")
        return now - int(ago.total_seconds() * 1000)
    tz = ZoneInfo(timezone)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UserError(f"cannot read {option} {text!r}; use e.g. 30d, 12h, 2w, 1y, 2026-11-01 "
                        "or 2026-11-01T14:00") from None
    if len(value) == 10:  # a date alone: the start of that day where the desk is
        parsed = datetime.combine(parsed.date(), time(0), tz)
    elif parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    if not 1970 <= parsed.year <= 9999:
        raise UserError(f"{option} {text!r} is out of range")
    return to_ms(parsed)


def period(since: str, until: str | None, timezone: str, now: int) -> tuple[int, int]:
    """[since, until) in epoch ms; until defaults to now. One line when it is empty or backwards."""
    start = parse_point(since, "--since", timezone, now)
    end = now if until is None else parse_point(until, "--until", timezone, now)
    if start >= end:
        raise UserError(f"--since {since!r} is not before --until {until or 'now'!r}")
    return start, end
