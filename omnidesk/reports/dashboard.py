"""What the console's Reports screen shows, loaded in as few statements as the figures allow.

The figures are `omnidesk report`'s (compute.build_many shares the backlog and the
distributions between the summary, backlog, days and agents of the last `DAYS` days, and
sorts the values of the distributions shown only, `SHOWN`);
today's volume by channel is `report channels` from the desk's local midnight. A refresh
when `PRAGMA data_version` has not moved and the figures are under a minute old keeps them.
"""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from omnidesk.desk import Desk
from omnidesk.reports import compute
from omnidesk.timeutil import local, to_ms

DAYS = 30
DAY_MS = 86_400_000
#: How long unchanged figures are kept: the period slides with the clock even when nothing is written.
MAX_AGE_MS = 60_000
MONTH_KINDS = ("summary", "backlog", "days", "agents")
#: The distributions the screen shows of each (its counts and rates all come): the others are not
#: computed, and come out empty.
SHOWN = {"summary": ("first_response_time", "resolution_time"), "days": ("first_response_time",),
         "agents": ("first_response_time", "next_response_time")}


def periods(now: int, timezone: str) -> tuple[compute.Filters, compute.Filters]:
    """(the last DAYS days, today since local midnight) ending at `now`."""
    tz = ZoneInfo(timezone)
    today = to_ms(datetime.combine(local(now, tz).date(), time(0), tz))
    return compute.Filters(now - DAYS * DAY_MS, now), compute.Filters(min(today, now - 1), now)


async def load(desk: Desk, now: int) -> dict[str, compute.Report]:
    """The screen's reports: MONTH_KINDS over the last DAYS days and `channels` for today."""
    month, today = periods(now, desk.settings.desk.timezone)
    reports = await compute.build_many(desk, MONTH_KINDS, month, SHOWN)
    reports["channels"] = await compute.build(desk, "channels", today)
    return reports


class Dashboard:
    """The screen's figures and the store version they were read at."""

    def __init__(self) -> None:
        self.reports: dict[str, compute.Report] = {}
        self._version: int | None = None
        self._at = 0

    async def refresh(self, desk: Desk, now: int) -> bool:
        """Load again unless nothing was written since the last load and it is recent; True if loaded.

        The version is read before the load, so a commit during it makes the next refresh load.
        """
        version = await desk.db.data_version()
        if self.reports and version == self._version and now - self._at < MAX_AGE_MS:
            return False
        self.reports = await load(desk, now)
        self._version, self._at = version, now
        return True
