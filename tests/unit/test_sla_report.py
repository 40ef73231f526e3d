"""`report sla`: per policy and target, the clocks started in the period met, breached or running."""

from __future__ import annotations

import dataclasses

import pytest

from omnidesk.desk import Desk
from omnidesk.errors import UserError
from omnidesk.reports.compute import Filters, build
from omnidesk.reports.format import cell
from omnidesk.services import escalation, services, sla
from omnidesk.settings import Settings
from omnidesk.sla.policy import Policy
from omnidesk.timeutil import now_ms
from tests.unit import factories

HOUR = 3_600_000
POLICIES = (Policy("vip", (("first_response", HOUR),), priorities=frozenset({"urgent"})),
            Policy("normal", (("first_response", 4 * HOUR), ("resolution", 8 * HOUR))))


async def test_met_breached_and_running_per_policy_and_target(desk: Desk) -> None:
    desk = dataclasses.replace(desk, settings=Settings(sla=POLICIES))
    support = await factories.email_channel(desk)
    other = await factories.email_channel(desk, "other", "other@example.com")
    now = now_ms()

    async def started(name: str, age: int, channel=support) -> int:
        t = await factories.thread(desk, channel, subject=name, address=f"{name}@example.hu", start=now - age)
        await sla.recompute(desk, [t.conversation_id])
        return t.conversation_id

    fired = await started("fired", 6 * HOUR)  # breached (the daemon fired it), answered late
    assert [f.stage.stage for f in await escalation.run_due(desk)] == ["warning", "breach"]
    await services.queue_reply(desk, fired, "Elnézést, késve válaszolunk")
    late = await started("late", 5 * HOUR)  # past due, not fired yet, unanswered
    met = await started("met", HOUR, other)  # answered and resolved in time
    await services.queue_reply(desk, met, "已解决")
    await services.set_status(desk, [met], "resolved")
    await started("before", 3 * 24 * HOUR)  # started before the period
    await sla.recompute(desk, [fired, late, met])

    report = await build(desk, "sla", Filters(now - 24 * HOUR, now + HOUR))
    assert [tuple(r.values()) for r in report.rows] == [
        ("vip", "first_response", 0, 0, 0, 0, None),
        ("normal", "first_response", 3, 1, 2, 0, 0.6667),
        ("normal", "resolution", 3, 1, 0, 2, 0.0),
    ]
    assert report.fields == tuple(report.rows[0])
    assert cell(report, report.rows[1], "breach_rate") == "66.7%"
    only = await build(desk, "sla", Filters(now - 24 * HOUR, now + HOUR, channel="other"))
    assert [(r["target"], r["measured"], r["met"]) for r in only.rows[1:]] == [("first_response", 1, 1),
                                                                              ("resolution", 1, 1)]


async def test_without_policies_it_is_one_line(desk: Desk) -> None:
    with pytest.raises(UserError, match="needs SLA policies"):
        await build(desk, "sla", Filters(0, now_ms()))
    sdesk = dataclasses.replace(desk, settings=Settings(sla=POLICIES))
    with pytest.raises(UserError, match="not --team or --query"):
        await build(sdesk, "sla", Filters(0, now_ms(), query="is:open"))
