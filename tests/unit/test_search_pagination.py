"""Keyset pagination: pages cover every match exactly once, ties included, while rows change."""

from __future__ import annotations

import random

import pytest

from omnidesk.conversations import reads
from omnidesk.desk import Desk
from omnidesk.errors import UserError
from omnidesk.query import parse
from omnidesk.store import search
from tests.unit.test_search import BASE, MINUTE, Seed


async def walk(desk: Desk, query: str, limit: int) -> list[list[int]]:
    pages, after = [], None
    while True:
        page = await reads.list_conversations(desk, query, limit=limit, after=after)
        pages.append([s.id for s in page.items])
        if page.next_after is None:
            return pages
        after = page.next_after
        assert len(pages) < 1000, "pagination does not terminate"


@pytest.fixture
async def tied(desk: Desk) -> list[tuple[int, int]]:
    """61 conversations on only 7 distinct activity times (many ties), mixed statuses."""
    seed = Seed(desk)
    customer, _ = await seed.customer("Tie", "tie@example.com")
    rng = random.Random(7)
    rows = []
    for i in range(61):
        activity = BASE + rng.randrange(7) * MINUTE
        status = "open" if i % 3 else "pending"
        conv = await seed.conversation(customer, f"c{i}", status=status, activity=activity)
        await seed.message(conv, f"tieword number{i}", sent_at=activity)
        rows.append((activity, conv))
    return rows


@pytest.mark.parametrize("limit", [1, 2, 7, 10, 60, 61, 62, 500])
async def test_pages_cover_every_row_once_in_order_with_ties(desk: Desk, tied, limit: int) -> None:
    expected = [conv for _, conv in sorted(tied, reverse=True)]  # activity DESC, then id DESC
    pages = await walk(desk, "", limit)
    assert [i for page in pages for i in page] == expected
    assert all(len(p) == limit for p in pages[:-1]) and 0 < len(pages[-1]) <= limit


@pytest.mark.parametrize("query", ["status:open", "tieword", "tieword -status:pending", "number3*"])
async def test_filtered_pages_match_the_unpaged_list(desk: Desk, tied, query: str) -> None:
    everything = await reads.conversation_ids(desk, query)
    assert everything, query
    for limit in (1, 4, 9):
        assert [i for page in await walk(desk, query, limit) for i in page] == everything


async def test_new_activity_during_paging_neither_skips_nor_repeats_older_rows(desk: Desk, tied) -> None:
    seed = Seed(desk)
    first = await reads.list_conversations(desk, "", limit=10)
    customer, _ = await seed.customer("Late", "late@example.com")
    newer = await seed.conversation(customer, "arrives while paging", activity=BASE + 60 * MINUTE)
    rest = [i for page in await walk_from(desk, first.next_after, 10) for i in page]
    seen = [s.id for s in first.items] + rest
    assert newer not in seen  # it sorts before the cursor: the next refresh shows it
    assert sorted(seen) == sorted(conv for _, conv in tied)
    assert len(seen) == len(set(seen))


async def walk_from(desk: Desk, after: str | None, limit: int) -> list[list[int]]:
    pages = []
    while after is not None:
        page = await reads.list_conversations(desk, "", limit=limit, after=after)
        pages.append([s.id for s in page.items])
        after = page.next_after
    return pages


async def test_total_is_given_only_when_asked(desk: Desk, tied) -> None:
    page = await reads.list_conversations(desk, "status:open", limit=5)
    assert page.total is None
    page = await reads.list_conversations(desk, "status:open", limit=5, with_total=True)
    assert page.total == sum(1 for i in range(61) if i % 3)


@pytest.mark.parametrize("after", ["", "abc", "12", "1:x", "x:1"])
async def test_malformed_cursors_are_user_errors(desk: Desk, tied, after: str) -> None:
    with pytest.raises(UserError, match="bad page cursor"):
        await reads.list_conversations(desk, "", after=after)


# -- every query plan gives the same answer -------------------------------------------------------
# Conversation lists pick a plan by how many messages a word matches (store/search.py); the bench
# desk exercises each for speed, this forces each on a small desk for correctness.

PLAN_QUERIES = ["tieword", "number1*", "tieword -number5", "-tieword", "number1 OR number2",
                "status:open tieword", "(number7 status:open) OR number8", "-number2* status:pending"]


@pytest.mark.parametrize(("few", "many"), [(10**9, 10**9), (0, 10**9), (0, 0)],
                         ids=["conversations", "rowids", "seek"])
async def test_every_list_plan_agrees(desk: Desk, tied, monkeypatch, few: int, many: int) -> None:
    expected = {q: await reads.conversation_ids(desk, q) for q in PLAN_QUERIES}  # counts use one plan
    monkeypatch.setattr(search, "FEW_MATCHES", few)
    monkeypatch.setattr(search, "MANY_MATCHES", many)
    for query, ids in expected.items():
        assert [i for page in await walk(desk, query, 8) for i in page] == ids, query


async def test_search_candidate_cap_keeps_the_newest_matches(desk: Desk, tied) -> None:
    found = await search.matching_messages(desk.db, parse("tieword"), search.context(desk), limit=100,
                                           candidates=5)
    assert len(found.rows) == 5
    newest = sorted((await reads.search_messages(desk, "tieword", limit=100)), key=lambda h: -h.message_id)
    assert {r["id"] for r in found.rows} == {h.message_id for h in newest[:5]}


@pytest.mark.parametrize("window", [1, 5, 20, 10**6])
@pytest.mark.parametrize("query", ["", "status:open", "status:pending", "-status:open", "#3"])
async def test_the_bounded_newest_first_walk_agrees_with_the_full_sort(desk: Desk, tied, monkeypatch,
                                                                       window: int, query: str) -> None:
    # Pages first walk the newest WINDOW conversations; whether that fills a page or falls back
    # to collecting every match must not change a single row.
    expected = await reads.conversation_ids(desk, query)
    monkeypatch.setattr(search, "WINDOW", window)
    for limit in (1, 3, 8):
        assert [i for page in await walk(desk, query, limit) for i in page] == expected
