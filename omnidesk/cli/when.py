"""Parse a point in time typed by a person: `30m`, `4h`, `2d`, `1w`, `tomorrow`, a date, an ISO time.

Dates and "tomorrow" mean 09:00 in the desk's time zone, when people start work.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from omnidesk.errors import UserError
from omnidesk.timeutil import MIN_MS, ahead_ms, check_ahead, local, now_ms, to_ms

_RELATIVE = re.compile(r"^\+?(\d+)\s*(m|min|h|d|w)$", re.IGNORECASE)
_UNIT_MS = {"m": 60_000, "min": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000}
START_OF_DAY = time(9, 0)


def parse_when(text: str, timezone: str = "UTC", *, now: int | None = None) -> int:
    """Epoch ms for `text`; a UserError naming the value when it is not understood."""
    now = now_ms() if now is None else now
    value = text.strip()
    tz = ZoneInfo(timezone)
    m = _RELATIVE.match(value)
    if m:
        return now + ahead_ms(m.group(1), _UNIT_MS[m.group(2).lower()], text)
    local_now = local(now, tz)
    if value.lower() == "tomorrow":
        day = local_now.date() + timedelta(days=1)
        return to_ms(datetime.combine(day, START_OF_DAY, tz))
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UserError(f"cannot read the time {text!r}; use e.g. 30m, 4h, 2d, 1w, tomorrow, "
                        "2026-12-01 or 2026-12-01T14:00") from None
    if len(value) == 10:  # a date alone
        parsed = datetime.combine(parsed.date(), START_OF_DAY, tz)
    elif parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    try:
        result = to_ms(parsed)
    except (OverflowError, ValueError):  # 0001-01-01 in a zone east of UTC
        result = MIN_MS
    if result <= now:
        raise UserError(f"{text!r} is in the past")
    return check_ahead(result, now, text)
