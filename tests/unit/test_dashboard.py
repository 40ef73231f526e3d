"""The Reports screen's data path: the same figures as `omnidesk report`, loaded again only after a write."""

from __future__ import annotations

import dataclasses

import pytest

from omnidesk.desk import Desk
from omnidesk.reports import compute, dashboard
from omnidesk.settings import DeskSettings, Settings
from omnidesk.tui.screens.reports import AGENT_COLUMNS
from tests.unit import reportdesk as rd

NOW = rd.at(1440)


@pytest.fixture
async def built(desk: Desk) -> Desk:
    await rd.build(desk)
    return desk


@pytest.mark.parametrize("timezone", ["UTC", "Asia/Tehran", "Europe/Budapest"])
async def test_every_dashboard_figure_is_the_reports(built: Desk, timezone: str) -> None:
    desk = dataclasses.replace(built, settings=Settings(desk=DeskSettings(timezone=timezone)))
    loaded = await dashboard.load(desk, NOW)
    month, today = dashboard.periods(NOW, timezone)
    report = {kind: (await compute.build(desk, kind, month)).rows for kind in dashboard.MONTH_KINDS}
    assert all(loaded[kind].filters == month for kind in dashboard.MONTH_KINDS)
    assert loaded["backlog"].rows == report["backlog"]
    assert loaded["channels"].rows == (await compute.build(desk, "channels", today)).rows
    shown = ("conversations", "resolved", "fcr_rate", "reopen_rate", "backlog", *dashboard.SHOWN["summary"])
    summary = {r["metric"]: r for r in loaded["summary"].rows}
    expected = {r["metric"]: r for r in report["summary"] if r["metric"] in shown}
    assert {m: summary[m] for m in shown} == expected
    assert [(r["date"], r["frt_median"]) for r in loaded["days"].rows] == [
        (r["date"], r["frt_median"]) for r in report["days"]]
    columns = [key for key, _ in AGENT_COLUMNS]
    assert [[r[k] for k in columns] for r in loaded["agents"].rows] == [
        [r[k] for k in columns] for r in report["agents"]]
    assert any(r["frt_median"] is not None for r in loaded["days"].rows)
    assert summary["conversations"]["total"] == 5  # the hand-computed desk, not an empty one
    assert summary["backlog"]["total"] == loaded["backlog"].rows[-1]["backlog"] == 3
    assert [r["agent"] for r in loaded["agents"].rows] == ["alice", "bob"]


async def test_groupings_in_one_statement_equal_each_alone(built: Desk) -> None:
    """Every kind together (two of them by a cohort grouping, which need statements of their own)."""
    filters = compute.Filters(rd.T0, NOW)
    kinds = ("summary", "backlog", "channels", "tags", "languages", "agents", "days")
    together = await compute.build_many(built, kinds, filters)
    fewer = await compute.build_many(built, kinds, filters, {"summary": ("resolution_time",)})
    for kind in kinds:
        alone = await compute.build(built, kind, filters)
        assert together[kind].rows == alone.rows and together[kind].fields == alone.fields, kind
        if kind != "summary":
            assert fewer[kind].rows == alone.rows, kind
    summary = {r["metric"]: r for r in fewer["summary"].rows}
    assert summary["first_response_time"]["n"] == 0 and summary["resolution_time"]["n"] == 3


async def test_a_refresh_loads_again_only_after_a_write_or_a_minute(built: Desk) -> None:
    board = dashboard.Dashboard()
    assert await board.refresh(built, NOW) is True
    first = board.reports
    assert await board.refresh(built, NOW + 1000) is False and board.reports is first

    # Another connection's commit moves data_version.
    await rd.add_elsewhere(built.db.path, "Zoë", "新しい", 1400)
    assert await board.refresh(built, NOW + 2000) is True
    summary = {r["metric"]: r for r in board.reports["summary"].rows}
    assert summary["conversations"]["total"] == 6
    assert await board.refresh(built, NOW + 2000 + dashboard.MAX_AGE_MS) is True  # the period slid


async def test_an_empty_desk_loads_empty_figures(desk: Desk) -> None:
    loaded = await dashboard.load(desk, NOW)
    summary = {r["metric"]: r for r in loaded["summary"].rows}
    assert summary["conversations"]["total"] == 0 and loaded["channels"].rows == []
    assert loaded["agents"].rows == [] and loaded["days"].rows == []
