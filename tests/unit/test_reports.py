"""Each report definition (docs/reports.md) against the hand-computed desk of tests/unit/reportdesk.py."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from omnidesk.desk import Desk
from omnidesk.reports import compute
from omnidesk.settings import DeskSettings, Settings
from tests.unit import reportdesk as rd

M = 60  # seconds in a minute: the fixture is in minutes, reports in seconds
DAY = compute.Filters(rd.T0, rd.at(1440))


@pytest.fixture
async def built(desk: Desk) -> tuple[Desk, rd.Built]:
    return desk, await rd.build(desk)


async def _summary(desk: Desk, filters: compute.Filters = DAY) -> dict[str, dict]:
    return {r["metric"]: r for r in (await compute.build(desk, "summary", filters)).rows}


def _stats(row: dict) -> tuple:
    return row["n"], row["median"], row["p90"], row["mean"]


async def test_summary_matches_the_hand_computed_desk(built) -> None:
    desk, _ = built
    s = await _summary(desk)
    # #5 was merged into #4 and #7 is spam: five conversations; #1, #2, #3 were resolved.
    assert s["conversations"]["total"] == 5 and s["resolved"]["total"] == 3
    # Waits with no reply: #3 after its reopen at 1300, #6.
    assert s["unanswered"]["total"] == 2
    # First responses 30 (#1), 60 (#2), 80 (#3, answered from Telegram), 60 (#4: from its own 480,
    # the merged #5's 500 joins that wait). Nearest rank: median = 2nd of 4, p90 = 4th.
    assert _stats(s["first_response_time"]) == (4, 60 * M, 80 * M, 57.5 * M)
    # #2's customer wrote at 240 after the reply at 120 (answered 270) and at 400 (answered 430).
    assert _stats(s["next_response_time"]) == (2, 30 * M, 30 * M, 30 * M)
    # Creation to first resolution: 60, 240, 90 minutes.
    assert _stats(s["resolution_time"]) == (3, 90 * M, 240 * M, 130 * M)
    # #2 was pending 121..240 (119 minutes) before its first resolution: 240 - 119 = 121.
    assert _stats(s["resolution_time_active"]) == (3, 90 * M, 121 * M, 5420)
    # Reopened after resolving: #2 (100 minutes later) and #3 (1090 minutes later).
    assert s["reopen_rate"]["total"] == 2 and s["reopen_rate"]["mean"] == pytest.approx(2 / 3, abs=1e-4)
    # One reply and no reopen within 7 days: only #1 (#2 had two replies, #3 was reopened).
    assert s["fcr_rate"]["total"] == 1 and s["fcr_rate"]["mean"] == pytest.approx(1 / 3, abs=1e-4)
    # Replies: #1 1, #2 3, #3 1, #4 1, #6 0. Transfers: #2's alice -> bob only.
    assert _stats(s["replies_per_conversation"]) == (5, 1, 3, 1.2)
    assert _stats(s["transfers_per_conversation"]) == (5, 0, 1, 0.2)
    assert s["transfers_per_conversation"]["total"] == 1
    # Unresolved at the day's end: #3 (reopened), #4, #6.
    assert _stats(s["backlog"]) == (1, 3, 3, 3)


async def test_the_reopen_window_decides_first_contact_resolution(built) -> None:
    desk, _ = built
    # #3 was reopened 1090 minutes after resolving: outside a 12-hour window it is resolved first time.
    s = await _summary(desk, DAY._replace(reopen_window_ms=12 * 3_600_000))
    assert s["fcr_rate"]["total"] == 2
    assert s["reopen_rate"]["total"] == 2  # a reopen is a reopen, whatever the window


async def test_a_past_period_ignores_what_came_after_it(built) -> None:
    desk, _ = built
    # Up to minute 250: #2 was not resolved yet, #3 not reopened, #4.. not created.
    s = await _summary(desk, compute.Filters(rd.T0, rd.at(250)))
    assert s["conversations"]["total"] == 3 and s["resolved"]["total"] == 2
    assert _stats(s["resolution_time"]) == (2, 60 * M, 90 * M, 75 * M)
    assert s["reopen_rate"]["total"] == 0 and s["fcr_rate"]["total"] == 2
    # #2's customer wrote at 240 and is still waiting at 250.
    assert s["unanswered"]["total"] == 1 and s["next_response_time"]["n"] == 0
    assert s["backlog"]["total"] == 1  # #2 (pending, then open again)


async def test_backlog_follows_merges_spam_and_day_ends(built) -> None:
    desk, _ = built
    rows = (await compute.build(desk, "backlog", compute.Filters(rd.at(-1440), rd.at(2880)))).rows
    assert rows == [{"date": "2026-11-01", "backlog": 0}, {"date": "2026-11-02", "backlog": 3},
                    {"date": "2026-11-03", "backlog": 3}]
    # At 510 #4 and #5 were both open (and #2 reopened at 400 was resolved at 460); the merge at 520
    # closes #5, #6 opens at 600, #7 opens at 700 and is spam at 701.
    for minute, expected in ((470, 0), (510, 2), (530, 1), (650, 2), (700.5, 3), (702, 2)):
        got = await compute.build(desk, "backlog", compute.Filters(rd.T0, rd.at(minute)))
        assert got.rows[-1]["backlog"] == expected, minute


async def test_channels_count_where_a_conversation_started(built) -> None:
    desk, _ = built
    rows = {r["channel"]: r for r in (await compute.build(desk, "channels", DAY)).rows}
    # #3 moved to Telegram and was answered there, but it started on support.
    assert rows["support"]["conversations"] == 4 and rows["tg"]["conversations"] == 1
    assert rows["support"]["frt_median"] == 60 * M and rows["tg"]["frt_median"] is None


async def test_agents_answered_and_resolved(built) -> None:
    desk, _ = built
    rows = {r["agent"]: r for r in (await compute.build(desk, "agents", DAY)).rows}
    assert set(rows) == {"alice", "bob"}
    # alice answered #1 (30), #3 (80, from Telegram), #4 (60); bob answered #2 (60) and its two waits.
    alice = rows["alice"]
    assert (alice["replies"], alice["frt_median"], alice["frt_mean"]) == (3, 60 * M, 3400)
    assert (rows["bob"]["replies"], rows["bob"]["nrt_median"]) == (3, 30 * M)
    assert (rows["alice"]["resolved"], rows["bob"]["resolved"]) == (2, 1)
    assert rows["alice"]["fcr_rate"] == 0.5 and rows["bob"]["reopen_rate"] == 1


async def test_tags_and_languages(built) -> None:
    desk, _ = built
    tags = {r["tag"]: r["conversations"] for r in (await compute.build(desk, "tags", DAY)).rows}
    assert tags == {"billing": 2, "refund": 1, None: 3}
    langs = {r["language"]: r["conversations"] for r in (await compute.build(desk, "languages", DAY)).rows}
    assert langs == {"hu": 1, "fa": 1, "zh": 1, None: 2}


async def test_hours_are_local_and_leave_spam_out(built) -> None:
    desk, _ = built
    rows = (await compute.build(desk, "hours", DAY)).rows
    assert len(rows) == 168
    busy = {(r["weekday"], r["hour"]): (r["messages"], r["conversations"]) for r in rows if r["messages"]}
    assert busy == {("Mon", 0): (1, 1), ("Mon", 1): (1, 1), ("Mon", 2): (2, 1), ("Mon", 4): (1, 0),
                    ("Mon", 6): (1, 0), ("Mon", 8): (2, 1), ("Mon", 10): (1, 1), ("Mon", 21): (1, 0)}
    # Tehran is UTC+3:30: minute 0 is 03:30 there, minute 1300 (21:40 UTC) is 01:10 on Tuesday.
    tehran = dataclasses.replace(desk, settings=Settings(desk=DeskSettings(timezone="Asia/Tehran")))
    rows = (await compute.build(tehran, "hours", DAY)).rows
    busy = {(r["weekday"], r["hour"]) for r in rows if r["messages"]}
    assert ("Mon", 3) in busy and ("Tue", 1) in busy and ("Mon", 0) not in busy


async def test_an_empty_desk_reports_nothing_without_failing(desk: Desk) -> None:
    s = await _summary(desk)
    assert s["conversations"]["total"] == 0 and s["first_response_time"]["median"] is None
    assert s["backlog"]["total"] == 0


def test_day_ends_follow_daylight_saving() -> None:
    # Europe/Budapest leaves summer time on 2026-10-25: that day is 25 hours long.
    since = rd.T0 - 9 * 86_400_000  # 2026-10-24T00:00Z = 02:00 local
    ends = compute.day_ends(since, since + 3 * 86_400_000, "Europe/Budapest")
    assert [d for d, _ in ends] == [date(2026, 10, 24), date(2026, 10, 25), date(2026, 10, 26),
                                    date(2026, 10, 27)]
    assert ends[1][1] - ends[0][1] == 25 * 3_600_000


async def test_days_give_the_first_response_trend(built) -> None:
    desk, _ = built
    rows = (await compute.build(desk, "days", compute.Filters(rd.at(-1440), rd.at(1440)))).rows
    assert [(r["date"], r["conversations"], r["frt_median"]) for r in rows] == [("2026-11-02", 5, 60 * M)]


def test_html_labels_are_escaped_and_cleaned() -> None:
    from omnidesk.reports.html import bar_chart

    svg = bar_chart("c", [('<script>"x"</script>\x1b[31m\u202e', 2.0)], ["2"])
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "&quot;x&quot;" in svg
    assert "\x1b" not in svg and "\u202e" not in svg
