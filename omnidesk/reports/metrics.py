"""The metrics, named once: what each measures, its unit and how a report shows it.

The definitions in words are docs/reports.md; the SQL that computes them is
omnidesk/store/reports.py. Times are calendar time: business-hours calendars are
not configured on this desk yet, and every report says so.
"""

from __future__ import annotations

from typing import NamedTuple

BUSINESS_HOURS = "not configured"


class Metric(NamedTuple):
    """`kind`: time (ms, shown as median/p90/mean), number (per conversation), rate (0..1), count."""

    name: str
    kind: str
    column: str  # the short name in grouped reports' columns
    description: str


METRICS = (
    Metric("conversations", "count", "conversations", "conversations created in the period"),
    Metric("resolved", "count", "resolved", "of those, resolved before the period's end"),
    Metric("unanswered", "count", "unanswered",
           "customer waits (first or next response) with no reply before the period's end"),
    Metric("first_response_time", "time", "frt", "first customer message to the first agent reply"),
    Metric("next_response_time", "time", "nrt",
           "each later customer message after a reply, to the next reply"),
    Metric("resolution_time", "time", "resolution", "creation to the first resolution"),
    Metric("resolution_time_active", "time", "active_resolution",
           "resolution time less the time spent pending or snoozed"),
    Metric("reopen_rate", "rate", "reopen_rate", "resolved conversations reopened afterwards"),
    Metric("fcr_rate", "rate", "fcr_rate",
           "resolved with exactly one agent reply and not reopened within the reopen window"),
    Metric("replies_per_conversation", "number", "replies", "agent replies per conversation"),
    Metric("transfers_per_conversation", "number", "transfers",
           "reassignments (agent to another agent, team to another team) per conversation"),
    Metric("replies", "count", "replies", "agent replies (per agent)"),
)
BY_NAME = {m.name: m for m in METRICS}
UNITS = {"time": "seconds", "number": "per conversation", "rate": "fraction", "count": "count"}
