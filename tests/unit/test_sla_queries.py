"""is:breached, is:due-soon and sort:due over stored SLA clocks, in lists, counts and pages."""

from __future__ import annotations

import dataclasses

import pytest

from omnidesk.conversations import reads
from omnidesk.desk import Desk
from omnidesk.errors import UserError
from omnidesk.query import QueryError, parse
from omnidesk.services import services, sla
from omnidesk.settings import Settings
from omnidesk.sla.policy import Policy
from omnidesk.timeutil import now_ms
from tests.unit import factories

MIN = 60_000
HOUR = 60 * MIN
POLICIES = (Policy("normal", (("first_response", 4 * HOUR),), priorities=frozenset({"normal", "high"})),)


@pytest.fixture
async def four(desk: Desk) -> tuple[Desk, dict[str, int]]:
    """breached (due an hour ago), soon (warned, due in 30 min), fine (due in ~4 h), none (no policy)."""
    sdesk = dataclasses.replace(desk, settings=Settings(sla=POLICIES))
    channel = await factories.email_channel(sdesk)
    now = now_ms()
    ids = {}
    for name, age in (("breached", 5 * HOUR), ("soon", 3 * HOUR + 30 * MIN), ("fine", 10 * MIN),
                      ("none", HOUR)):
        t = await factories.thread(sdesk, channel, subject=name, address=f"{name}@example.com",
                                   start=now - age)
        ids[name] = t.conversation_id
    await services.set_priority(sdesk, [ids["none"]], "low")
    await sla.recompute(sdesk, list(ids.values()))
    return sdesk, ids


async def subjects(desk: Desk, query: str) -> list[str]:
    page = await reads.list_conversations(desk, query, limit=50)
    return [s.subject for s in page.items]


async def test_breached_and_due_soon(four: tuple[Desk, dict[str, int]]) -> None:
    desk, _ = four
    assert await subjects(desk, "is:breached") == ["breached"]
    assert await subjects(desk, "is:due-soon") == ["soon"]
    assert sorted(await subjects(desk, "-is:breached -is:due-soon")) == ["fine", "none"]
    queries = ["is:breached", "is:due-soon", "is:breached OR is:due-soon"]
    counts = await reads.count_conversations(desk, queries)
    assert counts == [1, 1, 2]


async def test_resolved_is_neither(four: tuple[Desk, dict[str, int]]) -> None:
    desk, ids = four
    await services.set_status(desk, [ids["breached"], ids["soon"]], "resolved")
    assert await subjects(desk, "is:breached OR is:due-soon") == []


async def test_sort_due_lists_the_soonest_first_and_pages_through_all(four: tuple[Desk, dict[str, int]]
                                                                      ) -> None:
    desk, _ = four
    assert await subjects(desk, "sort:due") == ["breached", "soon", "fine", "none"]
    assert await subjects(desk, "sort:due -is:breached") == ["soon", "fine", "none"]
    seen, after = [], None
    while True:
        page = await reads.list_conversations(desk, "sort:due", limit=1, after=after)
        seen += [s.subject for s in page.items]
        after = page.next_after
        if after is None:
            break
    assert seen == ["breached", "soon", "fine", "none"]
    assert await subjects(desk, "sort:activity") == ["fine", "none", "soon", "breached"]


async def test_summaries_carry_the_clock(four: tuple[Desk, dict[str, int]]) -> None:
    desk, _ = four
    (soon,) = (await reads.list_conversations(desk, "is:due-soon")).items
    assert soon.sla_target == "first_response" and soon.sla_warn_at is not None
    assert soon.sla_warn_at < now_ms() < soon.sla_due_at  # type: ignore[operator]


async def test_a_cursor_of_one_order_is_refused_by_the_other(four: tuple[Desk, dict[str, int]]) -> None:
    desk, _ = four
    page = await reads.list_conversations(desk, "", limit=1)
    with pytest.raises(UserError, match="bad page cursor"):
        await reads.list_conversations(desk, "sort:due", limit=1, after=page.next_after)
    due_page = await reads.list_conversations(desk, "sort:due", limit=1)
    with pytest.raises(UserError, match="bad page cursor"):
        await reads.list_conversations(desk, "", limit=1, after=due_page.next_after)


@pytest.mark.parametrize(("text", "words"), [
    ("a OR sort:due", "must stand on its own"), ("-sort:due", "must stand on its own"),
    ("(a OR b) (sort:due OR c)", "must stand on its own"), ("sort:due sort:activity", "only one sort:"),
    ("sort:soon", "must be one of due, activity"), ("is:due_soon", "due-soon"),
])
def test_bad_sorts_name_the_token(text: str, words: str) -> None:
    with pytest.raises(QueryError, match=words):
        parse(text)
