"""Snooze times as people say them: `1h`, `30m`, `3d`, `tomorrow` (9:00), `monday`, `2026-12-01 14:00`."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta, tzinfo

from omnidesk.errors import UserError
from omnidesk.timeutil import ahead_ms, check_ahead, to_ms

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MORNING = time(9, 0)

#: The choices the snooze picker offers first (value, label).
PRESETS = (("1h", "in 1 hour"), ("tomorrow", "tomorrow 9:00"), ("monday", "Monday 9:00"))

_RELATIVE = re.compile(r"^\+?(\d+)\s*(m|min|h|d|w)$")


def parse_when(text: str, now: datetime, tz: tzinfo) -> datetime:
    """A future moment from what the agent typed, in the agent's time zone."""
    raw = " ".join(text.strip().lower().split())
    local_now = now.astimezone(tz)
    if not raw:
        raise UserError("say when: 1h, tomorrow, monday, or YYYY-MM-DD [HH:MM]")
    match = _RELATIVE.match(raw)
    if match:
        amount, unit = match.group(1), match.group(2)
        step = {
            "m": timedelta(minutes=1),
            "min": timedelta(minutes=1),
            "h": timedelta(hours=1),
            "d": timedelta(days=1),
            "w": timedelta(weeks=1),
        }[unit]
        return local_now + timedelta(milliseconds=ahead_ms(amount, step // timedelta(milliseconds=1), text))
    if raw in ("tomorrow", "tomorrow 9:00"):
        return datetime.combine(local_now.date() + timedelta(days=1), MORNING, tz)
    for index, day in enumerate(WEEKDAYS):
        if raw in (day, day[:3]):
            ahead = (index - local_now.weekday()) % 7 or 7
            return datetime.combine(local_now.date() + timedelta(days=ahead), MORNING, tz)
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d"):
        try:
            moment = datetime.strptime(raw, fmt)
        except ValueError:
            continue
        if fmt == "%Y-%m-%d":
            moment = datetime.combine(moment.date(), MORNING)
        moment = moment.replace(tzinfo=tz)
        if moment <= local_now:
            raise UserError(f"{text.strip()!r} is in the past")
        check_ahead(to_ms(moment), to_ms(local_now), text)
        return moment
    raise UserError(
        f"cannot read {text.strip()!r} as a time", hint="try 1h, 3d, tomorrow, monday, 2026-12-01 14:00"
    )
