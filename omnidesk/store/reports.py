"""SQL for reports: every figure from events and messages, aggregated inside SQLite.

The definitions are in docs/reports.md; omnidesk/reports/ names them and shapes the rows.
Nothing here loads a row per conversation into Python: distributions are computed by
ordered window queries (`row_number()` and `count(*)` over the values of each group,
nearest-rank percentiles picked in the same pass), and the backlog comes back as one
net change per quarter hour, which the caller sums into day ends.

Every query reads only what was written before the period's end (`until`), so a past
period gives the same figures whenever it is asked for. Times are `min(sent_at,
received_at)` of a message (as ingest's `rec.at`), `created_at` of an event, in ms.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from omnidesk.store.db import Database

#: Quarter hours: every UTC offset in use is a whole number of them, so buckets of this size
#: fall on local hour and day boundaries in any time zone.
BUCKET_MS = 900_000

#: Statuses in which a conversation is waiting on the desk (the backlog counts them).
UNRESOLVED = ("open", "pending", "snoozed")
GROUPINGS = ("none", "channel", "tag", "language", "agent", "day")


class Scope(NamedTuple):
    """Which conversations: created in [since, until), and the caller's filters.

    `where` is a condition over `c` (conversations) with positional `params`
    (from search.compile_query for --query); `team` and `channel_id` are plain filters.
    """

    since: int
    until: int
    where: str = "1"
    params: tuple[object, ...] = ()
    team: str | None = None
    channel_id: int | None = None
    day_offset_ms: int = 0  # the desk's UTC offset, for the `day` grouping's day boundaries


class Distribution(NamedTuple):
    """One metric in one group: n values, their sum, mean, median and p90 (nearest rank)."""

    group: str
    metric: str
    n: int
    total: float
    mean: float | None
    median: float | None
    p90: float | None


_START_CHANNEL = "coalesce(json_extract(ce.after, '$.channel_id'), c.channel_id)"
# Replies that left or are leaving, and customer messages a person wrote (not responders, bounces,
# nor the desk's own automatic acknowledgements, which are flagged auto-reply too).
_COUNTED = ("m.direction IN ('in', 'out') AND coalesce(m.delivery, '') NOT IN ('cancelled', 'failed')"
            " AND NOT (instr(m.flags, '\"auto-reply\"') OR instr(m.flags, '\"bounce\"'))")
_AT = "min(m.sent_at, m.received_at)"


def _filters(scope: Scope) -> tuple[str, list[object]]:
    parts, params = [f"({scope.where})"], list(scope.params)
    if scope.team is not None:
        parts.append("c.team = ?")
        params.append(scope.team)
    if scope.channel_id is not None:
        parts.append(f"{_START_CHANNEL} = ?")
        params.append(scope.channel_id)
    return " AND ".join(parts), params


# A conversation's language: its first customer message's, else its customer's, else ''.
_LANGUAGE = ("coalesce((SELECT m.language FROM messages m WHERE m.conversation_id = c.id"
             " AND m.direction = 'in' AND m.language IS NOT NULL ORDER BY m.sent_at, m.id LIMIT 1),"
             " (SELECT cu.language FROM customers cu WHERE cu.id = c.customer_id), '')")
#: The group of a conversation, where it is one per conversation (tags and agents are not).
_COHORT_GROUP = {"channel": f"coalesce({_START_CHANNEL}, '')", "language": _LANGUAGE}


def _cohort(scope: Scope, grouping: str = "none") -> tuple[str, list[object]]:
    """`sc`: the conversations created in the period, live (not merged away, not spam), and their group."""
    where, params = _filters(scope)
    group = _COHORT_GROUP.get(grouping, "''")
    if grouping == "day":  # days since the epoch where the desk is (an int: safe in the SQL text)
        group = f"(c.created_at + {int(scope.day_offset_ms)}) / 86400000"
    sql = (
        "sc AS MATERIALIZED (SELECT c.id, c.created_at AS start,"
        f" {group} AS g FROM conversations c"
        " LEFT JOIN events ce ON ce.conversation_id = c.id AND ce.kind = 'created'"
        " WHERE c.created_at >= ? AND c.created_at < ? AND c.merged_into IS NULL AND c.status != 'spam'"
        f" AND {where})"
    )
    return sql, [scope.since, scope.until, *params]


# The customer's waits: a customer message after nothing or after our reply starts one; it ends at
# our next reply. A running count of replies, plus one on customer messages, gives each reply and
# the customer messages since the previous reply the same number k, so one GROUP BY finds each
# wait's start and its reply (no query per message). Wait 1 holds customer messages only when the
# customer wrote first: that is the first response.
_MESSAGES = (
    f"mm AS (SELECT m.conversation_id AS c, sc.g, m.id, {_AT} AS t, m.direction AS d, m.author_agent_id AS a"
    f" FROM sc JOIN messages m ON m.conversation_id = sc.id WHERE {_COUNTED} AND {_AT} < ?),"
    " mw AS (SELECT c, g, t, d, a, (d = 'in')"
    " + sum(d = 'out') OVER (PARTITION BY c ORDER BY t, id ROWS UNBOUNDED PRECEDING) AS k FROM mm),"
    " waits AS (SELECT c, g, k = 1 AS first, min(CASE WHEN d = 'in' THEN t END) AS t,"
    " max(CASE WHEN d = 'out' THEN t END) AS reply_t, max(CASE WHEN d = 'out' THEN a END) AS reply_a"
    " FROM mw GROUP BY c, k HAVING min(CASE WHEN d = 'in' THEN t END) IS NOT NULL)"
)

# Each status-setting event of the cohort: the status it leaves the conversation in (created and
# reopened: open) and the one it found (`was`; a status or reopened event records it, so no window
# over the conversation's history is needed). `fr`: each conversation's first resolution.
_STATES = (
    "ev AS (SELECT e.conversation_id AS c, e.created_at AS t, e.agent_id AS a,"
    " CASE e.kind WHEN 'status' THEN json_extract(e.after, '$.status') ELSE 'open' END AS st,"
    " CASE e.kind WHEN 'created' THEN NULL"
    " ELSE coalesce(json_extract(e.before, '$.status'), 'open') END AS was"
    " FROM sc JOIN events e ON e.conversation_id = sc.id"
    " WHERE e.kind IN ('created', 'reopened', 'status') AND e.created_at < ?),"
    " fr AS (SELECT c, min(t) AS first_res FROM ev WHERE st = 'resolved' GROUP BY c)"
)

_PAUSED = "('pending', 'snoozed')"
_FACTS = (
    # The time paused before the first resolution: each entry into pending/snoozed subtracts its
    # time, each exit adds its own (the first resolution itself ends a pause it finds).
    "res AS (SELECT ev.c, fr.first_res,"
    " max(CASE WHEN ev.t = fr.first_res AND ev.st = 'resolved' THEN ev.a END) AS resolver,"
    " min(CASE WHEN ev.was = 'resolved' AND ev.st IN ('open', 'pending', 'snoozed') THEN ev.t END)"
    " AS reopen_t,"
    f" total(CASE WHEN ev.was IN {_PAUSED} AND ev.st NOT IN {_PAUSED} AND ev.t <= fr.first_res THEN ev.t"
    f" WHEN ev.st IN {_PAUSED} AND coalesce(ev.was NOT IN {_PAUSED}, 1) AND ev.t < fr.first_res THEN -ev.t"
    " ELSE 0 END) AS paused"
    " FROM ev LEFT JOIN fr ON fr.c = ev.c GROUP BY ev.c),"
    " xfer AS (SELECT e.conversation_id AS c, count(*) AS n"
    " FROM sc CROSS JOIN events e ON e.conversation_id = sc.id"  # CROSS: from the cohort, not all events
    " WHERE e.kind = 'assigned' AND e.created_at < ? AND ("
    "(json_extract(e.before, '$.assignee') IS NOT NULL AND json_extract(e.after, '$.assignee') IS NOT NULL"
    " AND json_extract(e.before, '$.assignee') != json_extract(e.after, '$.assignee'))"
    " OR (json_extract(e.before, '$.team') IS NOT NULL AND json_extract(e.after, '$.team') IS NOT NULL"
    " AND json_extract(e.before, '$.team') != json_extract(e.after, '$.team'))) GROUP BY e.conversation_id),"
    # Replies, and those up to the first resolution (first-contact resolution wants one).
    " replies AS (SELECT mm.c, count(*) AS n, count(CASE WHEN mm.t <= fr.first_res THEN 1 END) AS early"
    " FROM mm LEFT JOIN fr ON fr.c = mm.c WHERE mm.d = 'out' GROUP BY mm.c),"
    " facts AS (SELECT sc.id, sc.start, sc.g, res.first_res, res.resolver, res.reopen_t,"
    " res.paused, coalesce(replies.n, 0) AS replies, coalesce(xfer.n, 0) AS transfers,"
    " coalesce(replies.early, 0) AS early_replies FROM sc LEFT JOIN res ON res.c = sc.id"
    " LEFT JOIN replies ON replies.c = sc.id LEFT JOIN xfer ON xfer.c = sc.id)"
)

# The group of each value, when it is not the conversation's: `agent` groups a conversation's
# outcome under the agent who first resolved it, a wait under the agent who answered it.
_GROUP_OF = {"agent": ("coalesce(f.resolver, '')", "coalesce(w.reply_a, '')")}


def _sources(grouping: str) -> tuple[str, str, str, str]:
    """(conversation facts FROM, waits FROM, their group expressions) for a grouping."""
    if grouping == "tag":
        # A conversation counts under each of its tags (as they are now), and under '' without any.
        tagged = (" LEFT JOIN conversation_tags ct ON ct.conversation_id = {}"
                  " LEFT JOIN tags tg ON tg.id = ct.tag_id")
        return ("facts f" + tagged.format("f.id"), "waits w" + tagged.format("w.c"),
                "coalesce(tg.name, '')", "coalesce(tg.name, '')")
    if grouping == "none":
        return ("facts f", "waits w", "''", "''")
    return ("facts f", "waits w", *_GROUP_OF.get(grouping, ("f.g", "w.g")))


def _values(grouping: str, only: Collection[str] | None = None) -> str:
    """Rows of `vals(k, g, metric, v)` for one grouping `k`: one per value of each metric reported
    as a distribution (ms for times, a count for replies and transfers); of those in `only` if given."""
    fact_from, wait_from, g_fact, g_wait = _sources(grouping)
    resolved = "f.first_res IS NOT NULL"
    fact_metrics = [
        ("resolution_time", f"CASE WHEN {resolved} THEN f.first_res - f.start END"),
        ("resolution_time_active", f"CASE WHEN {resolved} THEN f.first_res - f.start - f.paused END"),
    ]
    if grouping != "agent":  # per agent, replies are the agent's own (a tally), transfers nobody's
        fact_metrics += [("replies_per_conversation", "f.replies"),
                         ("transfers_per_conversation", "f.transfers")]
    k = f"'{grouping}'"  # a name from GROUPINGS: safe in the SQL text
    parts = [(name, f"SELECT {k}, {g_fact}, '{name}', {expr} FROM {fact_from}")
             for name, expr in fact_metrics]
    parts += [
        ("first_response_time",
         f"SELECT {k}, {g_wait}, 'first_response_time', w.reply_t - w.t FROM {wait_from} WHERE w.first"),
        ("next_response_time",
         f"SELECT {k}, {g_wait}, 'next_response_time', w.reply_t - w.t FROM {wait_from} WHERE NOT w.first"),
    ]
    # Sorting values is most of a distribution's cost: a caller showing a few skips the rest.
    return " UNION ALL ".join([sql for name, sql in parts if only is None or name in only]
                              or [f"SELECT {k}, '', '', NULL"])


def _tallies(grouping: str) -> tuple[str, str]:
    """(its CTEs, rows of `tallies(k, g, metric, n, total)`) for one grouping `k`: counts and rates,
    summed per group without sorting values.

    For a rate, n is the conversations it is a share of and total those that count (mean = total / n).
    The reopen window comes from the statement's first CTE, `reopen_window(ms)`.
    """
    fact_from, wait_from, g_fact, g_wait = _sources(grouping)
    k, ft, wt = f"'{grouping}'", f"ft_{grouping}", f"wt_{grouping}"
    resolved = "f.first_res IS NOT NULL"
    reopened_soon = "(f.reopen_t IS NOT NULL AND f.reopen_t < f.first_res + (SELECT ms FROM reopen_window))"
    per_fact = (
        f"{ft} AS (SELECT {g_fact} AS g, count(*) AS conversations, count(f.first_res) AS resolved,"
        " count(f.reopen_t) AS reopened,"
        f" total(CASE WHEN {resolved} THEN f.early_replies = 1 AND NOT {reopened_soon} END) AS fcr"
        f" FROM {fact_from} GROUP BY 1),"
        f" {wt} AS (SELECT {g_wait} AS g, count(*) AS waits, count(*) - count(w.reply_t) AS unanswered"
        f" FROM {wait_from} GROUP BY 1)"
    )
    rows = [
        f"SELECT {k}, g, 'resolved', conversations, resolved FROM {ft}",
        f"SELECT {k}, g, 'reopen_rate', resolved, reopened FROM {ft}",
        f"SELECT {k}, g, 'fcr_rate', resolved, fcr FROM {ft}",
        f"SELECT {k}, g, 'unanswered', waits, unanswered FROM {wt}",
    ]
    if grouping == "agent":
        rows.append(f"SELECT {k}, coalesce(mm.a, ''), 'replies', count(*), count(*) FROM mm"
                    " WHERE mm.d = 'out' GROUP BY 2")
    else:
        rows.append(f"SELECT {k}, g, 'conversations', conversations, conversations FROM {ft}")
    return per_fact, " UNION ALL ".join(rows)


_DISTRIBUTION = (
    " o AS (SELECT k, g, metric, v, row_number() OVER (PARTITION BY k, g, metric ORDER BY v) AS rn,"
    " count(*) OVER (PARTITION BY k, g, metric) AS n FROM vals WHERE v IS NOT NULL)"
    " SELECT k, g, metric, max(n) AS n, total(v) AS total, avg(v) AS mean,"
    " max(CASE WHEN rn = (n * 50 + 99) / 100 THEN v END) AS median,"
    " max(CASE WHEN rn = (n * 90 + 99) / 100 THEN v END) AS p90"
    " FROM o GROUP BY k, g, metric"
    " UNION ALL SELECT k, g, metric, n, total, CASE WHEN n > 0 THEN 1.0 * total / n END, NULL, NULL"
    " FROM tallies"
)
#: Groupings that are one value per conversation, taken in the cohort (at most one per statement).
IN_COHORT = ("channel", "language", "day")


async def distributions(db: Database, scope: Scope, *, grouping: str = "none",
                        reopen_window_ms: int) -> list[Distribution]:
    """Every metric of the conversations in `scope`, per group (docs/reports.md)."""
    found = await distributions_by(db, scope, (grouping,), reopen_window_ms=reopen_window_ms)
    return found[grouping]


async def distributions_by(
    db: Database, scope: Scope, groupings: Sequence[str], *, reopen_window_ms: int,
    only: Mapping[str, Collection[str]] | None = None,
) -> dict[str, list[Distribution]]:
    """`distributions` for several groupings of the same scope, in one statement (the console's
    dashboard): each conversation's facts once, then its values under each grouping. `only`
    names, per grouping, the distributions wanted (counts and rates always come).

    One statement: the facts of each conversation, one row per value, then per (grouping, group,
    metric) n, sum, mean, median and p90 by nearest rank (the value at rank ceil(p * n)).
    """
    unknown = [g for g in groupings if g not in GROUPINGS]
    if unknown or not groupings:
        raise ValueError(f"unknown grouping {unknown or groupings!r}")
    in_cohort = [g for g in groupings if g in IN_COHORT]
    if len(in_cohort) > 1:
        raise ValueError(f"groupings {in_cohort!r} cannot share one statement")
    cohort, params = _cohort(scope, in_cohort[0] if in_cohort else "none")
    tallies = [_tallies(g) for g in groupings]
    values = " UNION ALL ".join(_values(g, (only or {}).get(g)) for g in groupings)
    sql = (f"WITH reopen_window(ms) AS (SELECT ?), {cohort}, {_MESSAGES}, {_STATES},"
           f" {_FACTS}, vals(k, g, metric, v) AS ({values}),"
           f" {', '.join(ctes for ctes, _ in tallies)},"
           f" tallies(k, g, metric, n, total) AS ({' UNION ALL '.join(rows for _, rows in tallies)}),"
           f" {_DISTRIBUTION}")
    rows = await db.fetchall(sql, [reopen_window_ms, *params, scope.until, scope.until, scope.until])
    found: dict[str, list[Distribution]] = {g: [] for g in groupings}
    for r in rows:
        found[r["k"]].append(
            Distribution(str(r["g"]), r["metric"], r["n"], r["total"], r["mean"], r["median"], r["p90"]))
    return found


_OPEN = "IN ('open', 'pending', 'snoozed')"
# The status a conversation had at an event `e` (its latest status-setting event before it).
_STATUS_AT = ("(SELECT CASE p.kind WHEN 'status' THEN json_extract(p.after, '$.status') ELSE 'open' END"
              " FROM events p WHERE p.conversation_id = e.conversation_id AND p.created_at <= e.created_at"
              " AND p.id < e.id AND p.kind IN ('created', 'reopened', 'status')"
              " ORDER BY p.created_at DESC, p.id DESC LIMIT 1)")
# How much each event changes the unresolved count: a status event knows the status it left, so
# this needs no window over a conversation's history; only a merge (rare) looks the status up.
_DELTA = (
    "CASE e.kind WHEN 'created' THEN 1"
    f" WHEN 'reopened' THEN 1 - (coalesce(json_extract(e.before, '$.status'), 'open') {_OPEN})"
    f" WHEN 'status' THEN (json_extract(e.after, '$.status') {_OPEN})"
    f" - (coalesce(json_extract(e.before, '$.status'), 'open') {_OPEN})"
    f" WHEN 'merged_into' THEN -(coalesce({_STATUS_AT}, 'open') {_OPEN})"
    f" ELSE (coalesce({_STATUS_AT}, 'open') {_OPEN}) END"  # unmerged: counted again
)


async def backlog_changes(db: Database, scope: Scope) -> list[tuple[int, int]]:
    """(quarter-hour bucket, net change) of the unresolved count, oldest first; bucket -1 sums
    every change before `since` (the backlog the period starts with).

    Over every conversation that matches the filters, merged away or not: a conversation is
    unresolved from its creation while its status is open, pending or snoozed, and not while
    merged into another (until unmerged). One pass over the events before `until`.
    """
    where, params = _filters(scope)
    matching = ""
    if where != "(1)":
        matching = (" AND e.conversation_id IN (SELECT c.id FROM conversations c LEFT JOIN events ce"
                    f" ON ce.conversation_id = c.id AND ce.kind = 'created' WHERE {where})")
    sql = (
        f"WITH d AS (SELECT e.created_at AS t, {_DELTA} AS delta FROM events e"
        " WHERE e.created_at < ? AND (e.kind IN ('created', 'reopened', 'status', 'merged_into')"
        " OR (e.kind = 'unmerged' AND json_extract(e.before, '$.merged_into') IS NOT NULL))"
        f"{matching})"
        " SELECT CASE WHEN t < ? THEN -1 ELSE t / ? END AS b, sum(delta) AS n FROM d WHERE delta != 0"
        " GROUP BY b ORDER BY b"
    )
    rows = await db.fetchall(sql, [scope.until, *params, scope.since, BUCKET_MS])
    return [(r["b"], r["n"]) for r in rows]


async def inbound_buckets(db: Database, scope: Scope) -> list[tuple[int, int, int]]:
    """(quarter-hour bucket, customer messages, conversations created) in [since, until), oldest first.

    Messages of any conversation that matches the filters, whenever it was created; spam left out.
    """
    where, params = _filters(scope)
    matching = ("JOIN conversations c ON c.id = m.conversation_id"
                " LEFT JOIN events ce ON ce.conversation_id = c.id AND ce.kind = 'created'")
    sql = (
        f"WITH hits AS (SELECT {_AT} AS t, 1 AS msg, 0 AS conv FROM messages m {matching}"
        f" WHERE m.direction = 'in' AND {_AT} >= ? AND {_AT} < ? AND c.status != 'spam' AND {where}"
        " UNION ALL SELECT c.created_at, 0, 1 FROM conversations c"
        " LEFT JOIN events ce ON ce.conversation_id = c.id AND ce.kind = 'created'"
        " WHERE c.created_at >= ? AND c.created_at < ? AND c.merged_into IS NULL AND c.status != 'spam'"
        f" AND {where})"
        " SELECT t / ? AS b, sum(msg) AS n, sum(conv) AS s FROM hits GROUP BY b ORDER BY b"
    )
    rows = await db.fetchall(sql, [scope.since, scope.until, *params, scope.since, scope.until, *params,
                                   BUCKET_MS])
    return [(r["b"], r["n"], r["s"]) for r in rows]


async def names(db: Database, table: str, ids: Sequence[int]) -> dict[int, str]:
    """Names of channels or agents by id (for the groups of a report)."""
    if table not in ("channels", "agents"):
        raise ValueError(table)
    if not ids:
        return {}
    rows = await db.fetchall(f"SELECT id, name FROM {table} WHERE id IN ({','.join('?' * len(ids))})",
                             list(ids))
    return {r["id"]: r["name"] for r in rows}
