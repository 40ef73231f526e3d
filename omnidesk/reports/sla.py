"""The sla report: per policy and target, how the clocks started in the period ended (docs/reports.md).

A clock row holds a target's latest cycle only (a next response's earlier cycles are
overwritten) and no time it was met, so the report counts outcomes, not times.
"""

from __future__ import annotations

from typing import Any

from omnidesk.desk import Desk
from omnidesk.errors import UserError
from omnidesk.reports.compute import Filters, channel_only
from omnidesk.sla.policy import TARGETS
from omnidesk.store import sla as store
from omnidesk.timeutil import now_ms

FIELDS = ("policy", "target", "measured", "met", "breached", "running", "breach_rate")


def _row(o: store.Outcome) -> dict[str, Any]:
    """Breach rate = breached of the clocks that ended one way or the other (running ones wait)."""
    ended = o.met + o.breached
    return {"policy": o.policy, "target": o.target, "measured": o.measured, "met": o.met,
            "breached": o.breached, "running": o.running,
            "breach_rate": round(o.breached / ended, 4) if ended else None}


async def rows(desk: Desk, filters: Filters) -> list[dict[str, Any]]:
    """One row per configured policy and target (in config order), then any older policy's clocks."""
    if not desk.settings.sla:
        raise UserError("the sla report needs SLA policies ([sla.NAME] in the config); this desk has none")
    channel_id = await channel_only(desk, "sla", filters)
    found = await store.outcomes(desk.db, filters.since, filters.until, now_ms(), channel_id)
    counted = {(o.policy, o.target): o for o in found}
    keys = [(p.name, target) for p in desk.settings.sla for target, _ in p.targets]
    keys += sorted(set(counted) - set(keys), key=lambda k: (k[0], TARGETS.index(k[1])))
    return [_row(counted.get(k) or store.Outcome(*k, 0, 0, 0, 0)) for k in keys]
