"""The csat report: CSAT %, NPS and response rates of the surveys asked in the period (docs/reports.md).

One row for the desk, then one per agent (the conversation's assignee when it was asked) and
one per channel (the one it was asked through); the counting is one GROUP BY per grouping.
"""

from __future__ import annotations

from typing import Any

from omnidesk.desk import Desk
from omnidesk.errors import UserError
from omnidesk.store import channels
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


async def rows(desk: Desk, since: int, until: int, *, channel: str | None, team: str | None,
               query: str | None) -> list[dict[str, Any]]:
    if team is not None or query is not None:
        raise UserError("the csat report takes --since, --until and --channel (not --team or --query)")
    channel_id = None
    if channel is not None:
        found = await channels.get_channel(desk.db, channel)
        if found is None:
            raise UserError(f"unknown channel {channel!r}")
        channel_id = found.id
    empty = store.Figures(None, 0, 0, 0, 0, 0, 0, 0, 0)
    [total] = await store.figures(desk.db, since, until, None, channel_id) or [empty]
    out = [row("all", "", total)]
    for group in ("agent", "channel"):
        out += [row(group, f.key or "(none)", f) for f in await store.figures(desk.db, since, until, group,
                                                                              channel_id)]
    return out
