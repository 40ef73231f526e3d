"""The csat report: CSAT %, NPS and response rates of the surveys asked in the period (docs/reports.md).

One row for the desk, then one per agent (the conversation's assignee when it was asked) and
one per channel (the one it was asked through); the counting is one GROUP BY per grouping.
"""

from __future__ import annotations

from typing import Any

from omnidesk.desk import Desk
from omnidesk.reports.compute import Filters, channel_only
from omnidesk.store import surveys as store

FIELDS = ("group", "name", "csat_asked", "csat_answered", "csat_response_rate", "csat_rate",
          "nps_asked", "nps_answered", "nps_response_rate", "promoters", "passives", "detractors", "nps")


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def row(group: str, name: str, f: store.Figures) -> dict[str, Any]:
    """One row: CSAT % = ratings 4-5 of all CSAT ratings; NPS = % promoters - % detractors (-100..100)."""
    nps = None
    if f.nps_answered:
        nps = round(100 * (f.promoters - f.detractors) / f.nps_answered, 1)
    return {"group": group, "name": name, "csat_asked": f.csat_asked, "csat_answered": f.csat_answered,
            "csat_response_rate": _share(f.csat_answered, f.csat_asked),
            "csat_rate": _share(f.csat_satisfied, f.csat_answered),
            "nps_asked": f.nps_asked, "nps_answered": f.nps_answered,
            "nps_response_rate": _share(f.nps_answered, f.nps_asked),
            "promoters": f.promoters, "passives": f.passives, "detractors": f.detractors, "nps": nps}


async def rows(desk: Desk, filters: Filters) -> list[dict[str, Any]]:
    """The desk's row, then one per agent and one per channel."""
    since, until = filters.since, filters.until
    channel_id = await channel_only(desk, "csat", filters)
    empty = store.Figures(None, 0, 0, 0, 0, 0, 0, 0, 0)
    [total] = await store.figures(desk.db, since, until, None, channel_id) or [empty]
    out = [row("all", "", total)]
    for group in ("agent", "channel"):
        out += [row(group, f.key or "(none)", f) for f in await store.figures(desk.db, since, until, group,
                                                                              channel_id)]
    return out
