"""Service actions that change conversation fields: assign, tag, status, priority, undo, agents."""

from __future__ import annotations

import asyncio

import pytest

from omnidesk.conversations import reads
from omnidesk.desk import Desk
from omnidesk.errors import NotFound, UserError
from omnidesk.services import services
from omnidesk.settings import AgentSettings
from omnidesk.store.agents import list_agents, sync_agents
from omnidesk.store.db import Database
from omnidesk.timeutil import now_ms
from tests.unit import factories


@pytest.fixture
async def alice_desk(desk: Desk) -> Desk:
    """The empty desk with agents alice (acting, team billing) and bob (team tech)."""
    alice = await factories.agent(desk, "alice", os_user="alice_os", teams=("billing",))
    await factories.agent(desk, "bob", teams=("tech",))
    return desk.as_agent(alice)


@pytest.fixture
async def three(alice_desk: Desk) -> list[int]:
    channel = await factories.email_channel(alice_desk)
    ids = []
    for i, (name, addr) in enumerate(
        [
            ("Ann Lee", "ann@example.com"),
            ("Kovács Dániel", "dani@example.hu"),
            ("زهرا احمدی", "zahra@example.ir"),
        ]
    ):
        t = await factories.thread(alice_desk, channel, subject=f"Question {i}", name=name, address=addr)
        ids.append(t.conversation_id)
    return ids


async def _summaries(desk: Desk, ids: list[int]):
    return [(await reads.get_conversation(desk, c)).summary for c in ids]


async def _assignees(desk: Desk, ids: list[int]) -> list[str | None]:
    return [s.assignee for s in await _summaries(desk, ids)]


async def _events(desk: Desk, cid: int, kind: str | None = None):
    conv = await reads.get_conversation(desk, cid)
    return [e for e in conv.events if kind is None or e.kind == kind]


# -- assign ---------------------------------------------------------------------------------


async def test_assign_sets_assignee_and_records_event(alice_desk: Desk, three: list[int]) -> None:
    result = await services.assign(alice_desk, [three[0]], "bob")
    conv = await reads.get_conversation(alice_desk, three[0])
    assert conv.summary.assignee == "bob"
    (event,) = await _events(alice_desk, three[0], "assigned")
    assert event.agent == "alice"
    assert event.before == {"assignee": None, "team": None}
    assert event.after == {"assignee": "bob", "team": None}
    assert result.event_ids == (event.id,)
    assert result.conversation_ids == (three[0],)
    assert result.description == f"Assigned #{three[0]} to bob"


async def test_assign_me_is_the_acting_agent(alice_desk: Desk, three: list[int]) -> None:
    await services.assign(alice_desk, three[:1], "me")
    assert (await reads.get_conversation(alice_desk, three[0])).summary.assignee == "alice"


async def test_assign_me_without_acting_agent_is_a_user_error(alice_desk: Desk, three: list[int]) -> None:
    with pytest.raises(UserError, match="'me' needs an acting agent"):
        await services.assign(alice_desk.as_agent(None), three[:1], "me")


async def test_assign_unknown_agent_names_it_and_the_known_ones(alice_desk: Desk, three: list[int]) -> None:
    with pytest.raises(NotFound, match="unknown agent 'carol'") as info:
        await services.assign(alice_desk, three, "carol")
    assert info.value.hint == "known agents: alice, bob"
    assert await _assignees(alice_desk, three) == [None, None, None]


async def test_bulk_assign_is_all_or_nothing_on_unknown_id(alice_desk: Desk, three: list[int]) -> None:
    with pytest.raises(NotFound, match="no such conversation: #9999"):
        await services.assign(alice_desk, [three[0], 9999, three[1]], "bob")
    assert await _assignees(alice_desk, three) == [None, None, None]


async def test_bulk_assign_writes_one_event_per_changed_conversation(
    alice_desk: Desk, three: list[int]
) -> None:
    await services.assign(alice_desk, [three[1]], "bob")
    result = await services.assign(alice_desk, [three[0], three[1], three[2], three[0]], "bob")
    assert result.conversation_ids == tuple(three)  # duplicates dropped, order kept
    assert len(result.event_ids) == 2  # three[1] was bob's already
    assert result.description == "Assigned 3 conversations to bob (1 unchanged)"
    for cid in three:
        assert (await reads.get_conversation(alice_desk, cid)).summary.assignee == "bob"
    assert len(await _events(alice_desk, three[1], "assigned")) == 1


async def test_unassign_and_teams(alice_desk: Desk, three: list[int]) -> None:
    await services.assign(alice_desk, three[:1], "bob", team="tech")
    summary = (await reads.get_conversation(alice_desk, three[0])).summary
    assert (summary.assignee, summary.team) == ("bob", "tech")
    await services.assign(alice_desk, three[:1], None)  # unassigns the agent, keeps the team
    summary = (await reads.get_conversation(alice_desk, three[0])).summary
    assert (summary.assignee, summary.team) == (None, "tech")
    await services.assign(alice_desk, three[:1], None, team="")  # clears the team too
    summary = (await reads.get_conversation(alice_desk, three[0])).summary
    assert (summary.assignee, summary.team) == (None, None)
    with pytest.raises(NotFound, match="unknown team 'sales'") as info:
        await services.assign(alice_desk, three[:1], None, team="sales")
    assert info.value.hint == "known teams: billing, tech"


async def test_empty_id_list_changes_nothing(alice_desk: Desk) -> None:
    result = await services.assign(alice_desk, [], "bob")
    assert result.event_ids == () and result.description == "Nothing to change"


async def test_bad_ids_are_user_errors(alice_desk: Desk) -> None:
    with pytest.raises(UserError, match="not a conversation id"):
        await services.set_priority(alice_desk, [0], "high")


# -- tags -------------------------------------------------------------------------------------


async def test_tag_add_and_remove_records_before_and_after(alice_desk: Desk, three: list[int]) -> None:
    await services.tag(alice_desk, three, add=["billing", "számlázás", "退款"])
    result = await services.tag(alice_desk, three[:2], add=["vip"], remove=["billing"])
    assert len(result.event_ids) == 2
    summary = (await reads.get_conversation(alice_desk, three[0])).summary
    assert set(summary.tags) == {"számlázás", "退款", "vip"}
    assert set((await reads.get_conversation(alice_desk, three[2])).summary.tags) == {
        "billing",
        "számlázás",
        "退款",
    }
    last = (await _events(alice_desk, three[0], "tagged"))[-1]
    assert set(last.before["tags"]) == {"billing", "számlázás", "退款"}
    assert set(last.after["tags"]) == {"számlázás", "退款", "vip"}
    assert last.agent == "alice"


async def test_tag_is_case_insensitive_and_idempotent(alice_desk: Desk, three: list[int]) -> None:
    await services.tag(alice_desk, three[:1], add=["Billing"])
    again = await services.tag(alice_desk, three[:1], add=["billing"])
    assert again.event_ids == ()
    assert (await reads.get_conversation(alice_desk, three[0])).summary.tags == ("Billing",)


async def test_removing_an_unknown_tag_is_not_found(alice_desk: Desk, three: list[int]) -> None:
    await services.tag(alice_desk, three[:1], add=["billing"])
    with pytest.raises(NotFound, match="unknown tag 'nosuch'"):
        await services.tag(alice_desk, three[:1], add=["new"], remove=["nosuch"])
    assert await alice_desk.db.fetchone("SELECT 1 FROM tags WHERE name = 'new'") is None  # rolled back
    # nothing happened, not even the add
    assert (await reads.get_conversation(alice_desk, three[0])).summary.tags == ("billing",)


@pytest.mark.parametrize("bad", ["", "two words", "-neg", "a\x1bb", "x" * 65, "comma,tag"])
async def test_bad_tag_names_are_refused(alice_desk: Desk, three: list[int], bad: str) -> None:
    with pytest.raises(UserError, match="bad tag name"):
        await services.tag(alice_desk, three[:1], add=[bad])


async def test_tag_needs_a_tag_and_not_both_ways(alice_desk: Desk, three: list[int]) -> None:
    with pytest.raises(UserError, match="no tags given"):
        await services.tag(alice_desk, three[:1])
    with pytest.raises(UserError, match="cannot add and remove the same tag"):
        await services.tag(alice_desk, three[:1], add=["a"], remove=["A"])


# -- status and priority ----------------------------------------------------------------------


async def test_resolve_sets_resolved_at_and_event(alice_desk: Desk, three: list[int]) -> None:
    before = now_ms()
    result = await services.set_status(alice_desk, three, "resolved")
    assert result.description == "Resolved 3 conversations"
    for cid in three:
        conv = await reads.get_conversation(alice_desk, cid)
        assert conv.summary.status == "resolved"
        (event,) = await _events(alice_desk, cid, "status")
        assert event.before["status"] == "open" and event.after == {
            "status": "resolved",
            "snoozed_until": None,
        }
    rows = await alice_desk.db.fetchall("SELECT resolved_at FROM conversations")
    assert all(r[0] >= before for r in rows)


async def test_snooze_needs_a_future_time(alice_desk: Desk, three: list[int]) -> None:
    with pytest.raises(UserError, match="needs a time"):
        await services.set_status(alice_desk, three, "snoozed")
    with pytest.raises(UserError, match="in the past"):
        await services.set_status(alice_desk, three, "snoozed", snooze_until=now_ms() - 1)
    with pytest.raises(UserError, match="only goes with status snoozed"):
        await services.set_status(alice_desk, three, "open", snooze_until=now_ms() + 1000)
    until = now_ms() + 3_600_000
    await services.set_status(alice_desk, three[:1], "snoozed", snooze_until=until)
    summary = (await reads.get_conversation(alice_desk, three[0])).summary
    assert (summary.status, summary.snoozed_until) == ("snoozed", until)
    await services.set_status(alice_desk, three[:1], "open")
    summary = (await reads.get_conversation(alice_desk, three[0])).summary
    assert (summary.status, summary.snoozed_until) == ("open", None)


async def test_unknown_status_and_priority(alice_desk: Desk, three: list[int]) -> None:
    with pytest.raises(UserError, match="unknown status 'closed'"):
        await services.set_status(alice_desk, three, "closed")  # type: ignore[arg-type]
    with pytest.raises(UserError, match="unknown priority 'asap'"):
        await services.set_priority(alice_desk, three, "asap")  # type: ignore[arg-type]


async def test_priority_event(alice_desk: Desk, three: list[int]) -> None:
    result = await services.set_priority(alice_desk, three[1:], "urgent")
    assert result.description == "Set priority 2 conversations to urgent"
    (event,) = await _events(alice_desk, three[1], "priority")
    assert (event.before, event.after, event.agent) == (
        {"priority": "normal"},
        {"priority": "urgent"},
        "alice",
    )


# -- undo ---------------------------------------------------------------------------------------


async def test_undo_assign_restores_and_logs(alice_desk: Desk, three: list[int]) -> None:
    await services.assign(alice_desk, three[:1], "alice")
    result = await services.assign(alice_desk, three, "bob")
    undone = await services.undo(alice_desk, result)
    assert undone.action == "undo"
    assert await _assignees(alice_desk, three) == ["alice", None, None]
    last = (await _events(alice_desk, three[0], "assigned"))[-1]
    assert last.before == {"assignee": "bob", "team": None}
    assert last.after == {"assignee": "alice", "team": None, "undo_of": result.event_ids[0]}
    # undoing the undo redoes
    await services.undo(alice_desk, undone)
    assert await _assignees(alice_desk, three) == ["bob"] * 3


async def test_undo_refuses_when_changed_since(alice_desk: Desk, three: list[int]) -> None:
    result = await services.assign(alice_desk, three[:2], "bob")
    await services.assign(alice_desk.as_agent(None), three[1:2], "alice")
    with pytest.raises(UserError, match=f"#{three[1]} has changed since"):
        await services.undo(alice_desk, result)
    assert await _assignees(alice_desk, three[:2]) == ["bob", "alice"]


async def test_undo_tag_is_the_inverse_change(alice_desk: Desk, three: list[int]) -> None:
    await services.tag(alice_desk, three[:1], add=["old"])
    result = await services.tag(alice_desk, three[:1], add=["new"], remove=["old"])
    await services.tag(alice_desk, three[:1], add=["other"])  # a later change survives the undo
    await services.undo(alice_desk, result)
    assert set((await reads.get_conversation(alice_desk, three[0])).summary.tags) == {"old", "other"}


async def test_undo_status_restores_snooze_and_resolved_at(alice_desk: Desk, three: list[int]) -> None:
    until = now_ms() + 86_400_000
    await services.set_status(alice_desk, three[:1], "snoozed", snooze_until=until)
    result = await services.set_status(alice_desk, three[:1], "resolved")
    await services.undo(alice_desk, result)
    row = await alice_desk.db.fetchone(
        "SELECT status, snoozed_until, resolved_at FROM conversations WHERE id = ?", (three[0],)
    )
    assert tuple(row) == ("snoozed", until, None)


async def test_undo_priority_and_nothing(alice_desk: Desk, three: list[int]) -> None:
    result = await services.set_priority(alice_desk, three, "low")
    await services.undo(alice_desk, result)
    assert {s.priority for s in await _summaries(alice_desk, three)} == {"normal"}
    noop = await services.set_priority(alice_desk, three, "normal")
    assert (await services.undo(alice_desk, noop)).description == "Nothing to undo"


# -- acting agent -----------------------------------------------------------------------------


async def test_events_carry_the_acting_agent(alice_desk: Desk, three: list[int]) -> None:
    bob = await reads.list_agents(alice_desk)
    bob_agent = next(a for a in bob if a.name == "bob")
    await services.set_priority(alice_desk.as_agent(bob_agent), three[:1], "high")
    await services.set_priority(alice_desk.as_agent(None), three[:1], "low")
    events = await _events(alice_desk, three[0], "priority")
    assert [e.agent for e in events] == ["bob", None]


async def test_resolve_agent(alice_desk: Desk) -> None:
    assert (await services.resolve_agent(alice_desk, "bob", "alice_os")).name == "bob"  # --as wins
    assert (await services.resolve_agent(alice_desk, None, "alice_os")).name == "alice"
    with pytest.raises(NotFound, match="unknown agent 'zed'"):
        await services.resolve_agent(alice_desk, "zed", "alice_os")
    with pytest.raises(UserError, match="no agent is configured for OS user 'root'") as info:
        await services.resolve_agent(alice_desk, None, "root")
    assert "--as NAME" in (info.value.hint or "")
    with pytest.raises(UserError):
        await services.resolve_agent(alice_desk, None, None)


async def test_add_agent(alice_desk: Desk) -> None:
    chen = await services.add_agent(
        alice_desk, "chen", display_name="Chen Wei 陈伟", teams=["tech"], skills=["zh"]
    )
    assert (chen.name, chen.display_name, chen.teams, chen.skills) == (
        "chen",
        "Chen Wei 陈伟",
        ("tech",),
        ("zh",),
    )
    assert [a.name for a in await reads.list_agents(alice_desk)] == ["alice", "bob", "chen"]
    with pytest.raises(UserError, match="exists already"):
        await services.add_agent(alice_desk, "chen")
    with pytest.raises(UserError, match="already acts as agent 'alice'"):
        await services.add_agent(alice_desk, "dora", os_user="alice_os")
    for bad in ("", "me", "two words", "-x"):
        with pytest.raises(UserError, match="bad agent name"):
            await services.add_agent(alice_desk, bad)


async def test_sync_agents_upserts_and_moves_os_user(desk: Desk) -> None:
    await services.add_agent(desk, "local")  # made by the CLI, not in config: kept
    configured = (
        AgentSettings("alice", os_user="u1", teams=("billing",)),
        AgentSettings("bob", os_user="u2"),
    )
    await sync_agents(desk.db, configured)
    await sync_agents(desk.db, configured)  # idempotent
    agents = {a.name: a for a in await list_agents(desk.db)}
    assert set(agents) == {"alice", "bob", "local"}
    assert agents["alice"].teams == ("billing",) and agents["alice"].os_user == "u1"
    # u1 moves from alice to bob, bob's old u2 goes away: no UNIQUE clash half-way
    await sync_agents(
        desk.db, (AgentSettings("alice", display_name="Alice A"), AgentSettings("bob", os_user="u1"))
    )
    agents = {a.name: a for a in await list_agents(desk.db)}
    assert (agents["alice"].os_user, agents["alice"].display_name) == (None, "Alice A")
    assert agents["bob"].os_user == "u1"
    assert agents["alice"].id == next(a.id for a in await list_agents(desk.db) if a.name == "alice")


# -- concurrency ---------------------------------------------------------------------------------


async def test_concurrent_bulk_actions_from_two_connections(alice_desk: Desk, three: list[int]) -> None:
    """Two processes' worth of connections tagging at once: every change lands, each with its event."""
    other_db = await Database.open(alice_desk.db.path)
    other = Desk(
        db=other_db, settings=alice_desk.settings, data_dir=alice_desk.data_dir, agent=alice_desk.agent
    )
    try:
        await asyncio.gather(
            *[services.tag(d, three, add=[f"t{i}"]) for i in range(10) for d in (alice_desk, other)]
        )
    finally:
        await other_db.close()
    for cid in three:
        tags = (await reads.get_conversation(alice_desk, cid)).summary.tags
        assert set(tags) == {f"t{i}" for i in range(10)}
        assert len(await _events(alice_desk, cid, "tagged")) == 10  # the second of each pair changed nothing


async def test_events_survive_in_order_with_times(alice_desk: Desk, three: list[int]) -> None:
    t0 = now_ms()
    await services.assign(alice_desk, three[:1], "bob")
    await services.set_status(alice_desk, three[:1], "pending")
    events = await _events(alice_desk, three[0])
    assert [e.kind for e in events] == ["assigned", "status"]
    assert all(e.created_at >= t0 for e in events)


async def test_mark_read(alice_desk: Desk, three: list[int]) -> None:
    assert (await reads.get_conversation(alice_desk, three[0])).summary.unread
    await services.mark_read(alice_desk, three[0])
    assert not (await reads.get_conversation(alice_desk, three[0])).summary.unread
    assert (await reads.get_conversation(alice_desk, three[1])).summary.unread
    await services.mark_read(alice_desk.as_agent(None), three[1])  # the system reads nothing
    with pytest.raises(NotFound):
        await services.mark_read(alice_desk, 424242)
    assert not await _events(alice_desk, three[0])  # reading is not a change
