"""Report values for people: durations as `1h 05m`, rates as `66.7%`, the period as a title."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from omnidesk.reports.metrics import BUSINESS_HOURS, BY_NAME
from omnidesk.textsafe import one_line
from omnidesk.timeutil import local

if TYPE_CHECKING:
    from omnidesk.reports.compute import Report


def duration(seconds: float) -> str:
    """`45s`, `12m`, `1h 05m`, `3d 4h`."""
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    minutes, hours, days = s // 60, s // 3600, s // 86400
    if hours == 0:
        return f"{minutes}m"
    if days == 0:
        return f"{hours}h {minutes % 60:02d}m"
    return f"{days}d {hours % 24}h"


def _kind_of(report: Report, row: dict[str, Any], field: str) -> str:
    """How a field is shown: the summary's row says by its unit, grouped columns by their name."""
    if report.kind == "summary":
        metric = BY_NAME.get(row["metric"])
        return metric.kind if metric and field in ("median", "p90", "mean", "total") else ""
    if field.endswith(("_median", "_p90", "_mean")):
        column = field.rsplit("_", 1)[0]
        return next((m.kind for m in BY_NAME.values() if m.column == column), "")
    return "rate" if field.endswith("_rate") else ""


def cell(report: Report, row: dict[str, Any], field: str) -> str:
    value = row.get(field)
    if value is None:
        return "" if field not in report.fields[:1] else "(none)"
    kind = _kind_of(report, row, field)
    if kind == "time":
        return duration(value)
    if kind == "rate" and isinstance(value, float | int) and field != "total":
        return f"{value * 100:.1f}%"
    return one_line(str(value))


def title(report: Report) -> str:
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(report.timezone)
    since = local(report.filters.since, tz).strftime("%Y-%m-%d %H:%M")
    until = local(report.filters.until, tz).strftime("%Y-%m-%d %H:%M")
    what = {"csat": "surveys asked", "sla": "SLA clocks started"}.get(report.kind, "conversations created")
    return (f"{report.kind.title()}: {what} {since} to {until} ({report.timezone}); "
            f"calendar time, business hours: {BUSINESS_HOURS}")
