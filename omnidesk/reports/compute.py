"""Reports as rows: a period and filters in, the metrics of omnidesk/reports/metrics.py out.

The heavy lifting is SQL (omnidesk/store/reports.py); this module names groups,
converts ms to seconds, sums the backlog's quarter-hour changes into day ends and
places message buckets on the desk's local hours, all over a few rows per group,
day or quarter hour, never one per conversation.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from omnidesk.desk import Desk
from omnidesk.errors import NotFound, UserError
from omnidesk.reports.metrics import BUSINESS_HOURS, BY_NAME, METRICS, UNITS
from omnidesk.store import reports as store
from omnidesk.timeutil import iso, local, to_ms

KINDS = ("summary", "agents", "channels", "tags", "languages", "days", "hours", "backlog", "sla", "csat")
DEFAULT_REOPEN_WINDOW_MS = 7 * 86_400_000
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
#: Each grouped report: the grouping, the key its rows carry, and its metrics in column order.
GROUPED = {
    "channels": ("channel", "channel"),
    "tags": ("tag", "tag"),
    "languages": ("language", "language"),
    "agents": ("agent", "agent"),
    "days": ("day", "date"),
}
_GROUP_METRICS = ("conversations", "resolved", "first_response_time", "next_response_time",
                  "resolution_time", "resolution_time_active", "reopen_rate", "fcr_rate",
                  "replies_per_conversation", "transfers_per_conversation")
_AGENT_METRICS = ("replies", "first_response_time", "next_response_time", "resolved", "resolution_time",
                  "resolution_time_active", "reopen_rate", "fcr_rate")


class Filters(NamedTuple):
    since: int
    until: int
    team: str | None = None
    channel: str | None = None
    query: str | None = None
    reopen_window_ms: int = DEFAULT_REOPEN_WINDOW_MS


class Report(NamedTuple):
    """A report's rows and what they cover; `fields` is the order of every row's keys."""

    kind: str
    filters: Filters
    timezone: str
    fields: tuple[str, ...]
    rows: list[dict[str, Any]]

    def header(self) -> dict[str, Any]:
        """The JSON object around the rows (docs/reports.md "JSON")."""
        f = self.filters
        return {"report": self.kind, "since": iso(f.since), "until": iso(f.until), "timezone": self.timezone,
                "time": "calendar", "business_hours": BUSINESS_HOURS,
                "reopen_window_seconds": f.reopen_window_ms // 1000,
                "filters": {"team": f.team, "channel": f.channel, "query": f.query}}


async def scope_of(desk: Desk, filters: Filters) -> store.Scope:
    """The store's scope: channel by name, team checked, query compiled (conversations as they are now)."""
    from omnidesk.query import QueryError, parse
    from omnidesk.store import channels, reads, search

    channel_id = None
    if filters.channel is not None:
        found = await channels.get_channel(desk.db, filters.channel)
        if found is None:
            known = ", ".join(c.name for c in await channels.list_channels(desk.db)) or "none"
            raise NotFound(f"unknown channel {filters.channel!r}", hint=f"known channels: {known}")
        channel_id = found.id
    if filters.team is not None and filters.team not in await reads.known_teams(desk.db):
        raise NotFound(f"unknown team {filters.team!r}")
    where, params = "1", ()
    if filters.query:
        try:
            parsed = parse(filters.query)
        except QueryError as exc:
            raise UserError(f"bad --query: {exc}") from None
        compiled = await search.compile_with_lookups(desk.db, parsed, search.context(desk), counting=True)
        where, params = compiled.where, tuple(compiled.params)
    # The `days` grouping cuts days at the desk's UTC offset at the period's end (SQL has no zones).
    offset = local(filters.until, ZoneInfo(desk.settings.desk.timezone)).utcoffset()
    offset_ms = int(offset.total_seconds() * 1000) if offset else 0
    return store.Scope(filters.since, filters.until, where, params, filters.team, channel_id, offset_ms)


async def channel_only(desk: Desk, kind: str, filters: Filters) -> int | None:
    """The channel id of a report that takes --channel but not --team or --query (csat, sla)."""
    if filters.team is not None or filters.query is not None:
        raise UserError(f"the {kind} report takes --since, --until and --channel (not --team or --query)")
    if filters.channel is None:
        return None
    from omnidesk.store import channels

    found = await channels.get_channel(desk.db, filters.channel)
    if found is None:
        raise UserError(f"unknown channel {filters.channel!r}")
    return found.id


async def build(desk: Desk, kind: str, filters: Filters) -> Report:
    """The report `kind` over `filters` (KINDS)."""
    if kind not in KINDS:
        raise UserError(f"unknown report {kind!r}; expected one of {', '.join(KINDS)}")
    if kind in ("csat", "sla"):
        from omnidesk.reports import csat, sla

        module = csat if kind == "csat" else sla
        found = await module.rows(desk, filters)
        return Report(kind, filters, desk.settings.desk.timezone, module.FIELDS, found)
    if kind in ("summary", "backlog", *GROUPED):
        return (await build_many(desk, (kind,), filters))[kind]
    scope = await scope_of(desk, filters)
    tz = desk.settings.desk.timezone
    fields, rows = await _hours(desk, scope, tz)
    return Report(kind, filters, tz, fields, rows)


async def build_many(desk: Desk, kinds: Iterable[str], filters: Filters,
                     only: Mapping[str, Collection[str]] | None = None) -> dict[str, Report]:
    """Several of summary, backlog and the grouped reports over one period, as `build` makes each,
    sharing the work: the backlog is summed once, and the distributions of every kind come from
    one statement (store.distributions_by) when at most one groups by channel, language or day.
    `only` names, per kind, the time and per-conversation metrics wanted; the others come out empty.
    """
    kinds = tuple(kinds)
    scope = await scope_of(desk, filters)
    tz = desk.settings.desk.timezone
    groupings = {k: "none" if k == "summary" else GROUPED[k][0] for k in kinds if k != "backlog"}
    wanted = list(dict.fromkeys(groupings.values()))
    in_cohort = [g for g in wanted if g in store.IN_COHORT]  # one of them per statement
    batches = [[g for g in wanted if g not in in_cohort] + in_cohort[:1], *([g] for g in in_cohort[1:])]
    found: dict[str, list[store.Distribution]] = {}
    for batch in batches:
        if batch:
            found.update(await store.distributions_by(desk.db, scope, batch,
                                                      reopen_window_ms=filters.reopen_window_ms,
                                                      only=_wanted(groupings, only)))
    days = await backlog(desk, scope, tz) if {"summary", "backlog"} & set(kinds) else []
    out = {}
    for kind in kinds:
        if kind == "summary":
            fields, rows = _summary(found["none"], [n for _, n in days])
        elif kind == "backlog":
            fields = ("date", "backlog")
            rows = [{"date": d.isoformat(), "backlog": n} for d, n in days]
        else:
            fields, rows = await _grouped(desk, found[groupings[kind]], kind)
        out[kind] = Report(kind, filters, tz, fields, rows)
    return out


SUMMARY_FIELDS = ("metric", "unit", "n", "total", "median", "p90", "mean")


def _scaled(value: float | None, kind: str, digits: int = 1) -> float | int | None:
    """ms to seconds for times; rates and numbers as they are, rounded."""
    if value is None:
        return None
    if kind == "time":
        value = value / 1000
    if float(value).is_integer():
        return int(value)
    return round(value, 4 if kind == "rate" else digits)


def _summary_row(name: str, d: store.Distribution | None) -> dict[str, Any]:
    m = BY_NAME[name]
    row: dict[str, Any] = {"metric": name, "unit": UNITS[m.kind], "n": d.n if d else 0}
    if m.kind == "count":
        row.update(total=int(d.total) if d else 0, median=None, p90=None, mean=None)
    elif m.kind == "rate":
        row.update(total=int(d.total) if d else 0, median=None, p90=None,
                   mean=_scaled(d.mean, "rate") if d else None)
    else:
        row.update(total=_scaled(d.total, m.kind) if d else None,
                   **{k: _scaled(getattr(d, k), m.kind) if d else None for k in ("median", "p90", "mean")})
    return row


def _wanted(groupings: dict[str, str], only: Mapping[str, Collection[str]] | None) -> dict[str, set[str]]:
    """Per grouping, the distributions its kinds want; a grouping with a kind not in `only` wants all."""
    wanted = {}
    for grouping in set(groupings.values()):
        kinds = [k for k, g in groupings.items() if g == grouping]
        if only is not None and all(k in only for k in kinds):
            wanted[grouping] = set().union(*(only[k] for k in kinds))
    return wanted


def _summary(distributions: list[store.Distribution], days: list[int]) -> tuple[tuple[str, ...], list[dict]]:
    found = {d.metric: d for d in distributions}
    rows = [_summary_row(m.name, found.get(m.name)) for m in METRICS if m.name != "replies"]
    rows.append(_backlog_row(days))
    return SUMMARY_FIELDS, rows


def _nearest_rank(ordered: list[int], p: int) -> int:
    return ordered[(len(ordered) * p + 99) // 100 - 1]


def _backlog_row(days: list[int]) -> dict[str, Any]:
    """The backlog at each day's end as a distribution (the same nearest rank as the SQL)."""
    row: dict[str, Any] = {"metric": "backlog", "unit": "conversations", "n": len(days),
                           "total": days[-1] if days else None}
    ordered = sorted(days)
    row.update(median=_nearest_rank(ordered, 50) if days else None,
               p90=_nearest_rank(ordered, 90) if days else None,
               mean=_scaled(sum(days) / len(days), "number") if days else None)
    return row


def day_ends(since: int, until: int, timezone: str) -> list[tuple[date, int]]:
    """Each local day the period touches and when it ends (local midnight, or `until` for the last)."""
    tz = ZoneInfo(timezone)
    day, last = local(since, tz).date(), local(until - 1, tz).date()
    out = []
    while day <= last:
        end = to_ms(datetime.combine(day + timedelta(days=1), time(0), tz))
        out.append((day, min(end, until)))
        day += timedelta(days=1)
    return out


async def backlog(desk: Desk, scope: store.Scope, timezone: str) -> list[tuple[date, int]]:
    """(day, unresolved conversations at its end) for each day of the period."""
    changes = await store.backlog_changes(desk.db, scope)
    return sum_into_days(changes, day_ends(scope.since, scope.until, timezone))


def sum_into_days(changes: Iterable[tuple[int, int]], ends: list[tuple[date, int]]) -> list[tuple[date, int]]:
    """Running total of quarter-hour changes (bucket -1: before the period), sampled at each end.

    A bucket starting before an end belongs to it: day ends fall on bucket boundaries.
    """
    out, total, i = [], 0, 0
    for bucket, n in changes:
        start = bucket * store.BUCKET_MS
        while i < len(ends) and bucket >= 0 and start >= ends[i][1]:
            out.append((ends[i][0], total))
            i += 1
        total += n
    out.extend((day, total) for day, _ in ends[i:])
    return out


HOURS_FIELDS = ("weekday", "hour", "messages", "conversations")


async def _hours(desk: Desk, scope: store.Scope, timezone: str) -> tuple[tuple[str, ...], list[dict]]:
    """Customer messages and new conversations by local weekday and hour, all 168 slots."""
    tz = ZoneInfo(timezone)
    slots = {(w, h): [0, 0] for w in range(7) for h in range(24)}
    for bucket, messages, conversations in await store.inbound_buckets(desk.db, scope):
        at = local(bucket * store.BUCKET_MS, tz)
        slot = slots[(at.weekday(), at.hour)]
        slot[0] += messages
        slot[1] += conversations
    rows = [{"weekday": WEEKDAYS[w], "hour": h, "messages": m, "conversations": c}
            for (w, h), (m, c) in slots.items()]
    return HOURS_FIELDS, rows


def grouped_fields(kind: str) -> tuple[str, ...]:
    key = GROUPED[kind][1]
    fields = [key]
    for name in (_AGENT_METRICS if kind == "agents" else _GROUP_METRICS):
        m = BY_NAME[name]
        if m.kind in ("time", "number"):
            fields += [f"{m.column}_median", f"{m.column}_p90", f"{m.column}_mean"]
        else:
            fields.append(m.column)
    return tuple(fields)


async def _grouped(desk: Desk, found: list[store.Distribution],
                   kind: str) -> tuple[tuple[str, ...], list[dict]]:
    grouping, key = GROUPED[kind]
    table = "channels" if grouping == "channel" else "agents" if grouping == "agent" else None
    ids = sorted({int(d.group) for d in found if d.group}) if table else []
    names = await store.names(desk.db, table, ids) if table else {}
    groups: dict[str, dict[str, store.Distribution]] = {}
    for d in found:
        groups.setdefault(d.group, {})[d.metric] = d
    metrics = _AGENT_METRICS if kind == "agents" else _GROUP_METRICS
    rows = []
    for group, by_metric in groups.items():
        if kind == "agents" and not group:  # waits nobody answered, conversations nobody resolved
            continue
        label: Any = names.get(int(group), group) if table and group else group
        if grouping == "day":
            label = (date(1970, 1, 1) + timedelta(days=int(group))).isoformat()
        row: dict[str, Any] = {key: label or None}
        for name in metrics:
            m, d = BY_NAME[name], by_metric.get(name)
            if m.kind in ("time", "number"):
                for stat in ("median", "p90", "mean"):
                    row[f"{m.column}_{stat}"] = _scaled(getattr(d, stat), m.kind) if d else None
            elif m.kind == "rate":
                row[m.column] = _scaled(d.mean, "rate") if d else None
            else:
                row[m.column] = int(d.total) if d else 0
        rows.append(row)
    lead = "replies" if kind == "agents" else "conversations"
    if kind == "days":
        rows.sort(key=lambda r: r[key])
    else:
        rows.sort(key=lambda r: (-(r.get(lead) or 0), str(r[key] or "")))
    return grouped_fields(kind), rows
