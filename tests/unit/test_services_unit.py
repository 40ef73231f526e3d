"""A unit of work: several actions commit together, roll back together and undo as one."""

from __future__ import annotations

import dataclasses
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from omnidesk.conversations import reads
from omnidesk.conversations.eventtext import describe
from omnidesk.desk import Desk
from omnidesk.errors import UserError
from omnidesk.services import services
from omnidesk.services.unit import unit_of_work
from omnidesk.settings import DeskSettings, Settings
from tests.unit import factories

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
async def adesk(desk: Desk) -> Desk:
    alice = await factories.agent(desk, "alice", teams=("billing",))
    await factories.agent(desk, "bob")
    settings = Settings(desk=DeskSettings(name="Acme Support", undo_seconds=5.0, quote_last_message=False))
    return dataclasses.replace(desk, settings=settings).as_agent(alice)


@pytest.fixture
async def two(adesk: Desk) -> list[int]:
    channel = await factories.email_channel(adesk)
    ids = []
    for name, address in (("Kovács Dániel", "dani@example.hu"), ("زهرا احمدی", "zahra@example.ir")):
        t = await factories.thread(adesk, channel, subject="számla 退款", name=name, address=address)
        ids.append(t.conversation_id)
    return ids


def _outside(desk: Desk, sql: str, params: tuple = ()) -> list[tuple]:
    """What another connection (another process) sees: only committed rows."""
    c = sqlite3.connect(desk.db.path)
    try:
        return [tuple(r) for r in c.execute(sql, params)]
    finally:
        c.close()


def _groups(desk: Desk, event_ids: tuple[int, ...]) -> set[int]:
    marks = ",".join("?" * len(event_ids))
    return {g for (g,) in _outside(desk, f"SELECT group_id FROM events WHERE id IN ({marks})", event_ids)}


async def _state(desk: Desk, cid: int) -> tuple:
    conv = await reads.get_conversation(desk, cid)
    s = conv.summary
    notes = [m.text for m in conv.messages if m.direction == "note"]
    out = [(m.text, m.delivery) for m in conv.messages if m.direction == "out"]
    return s.assignee, sorted(s.tags), s.priority, s.status, notes, out


async def _routing(desk: Desk, cid: int) -> None:
    await services.tag(desk, [cid], add=["billing", "számla"])
    await services.assign(desk, [cid], "bob", team="billing")
    await services.set_priority(desk, [cid], "high")
    await services.queue_reply(desk, cid, "Köszönjük, a számlát megnéztük.")
    await services.add_note(desk, cid, "routed: 账单")


async def test_actions_in_a_unit_commit_together_as_one_group(adesk: Desk, two: list[int]) -> None:
    cid = two[0]
    events_before = _outside(adesk, "SELECT count(*) FROM events")[0][0]
    async with unit_of_work(adesk) as uow:
        await _routing(adesk, cid)
        # Inside, the unit sees its own changes; nobody else sees any of them yet.
        assert (await _state(adesk, cid))[0] == "bob"
        assert _outside(adesk, "SELECT count(*) FROM events")[0][0] == events_before
        assert _outside(adesk, "SELECT count(*) FROM outbox") == [(0,)]
    assert await _state(adesk, cid) == (
        "bob", ["billing", "számla"], "high", "open", ["routed: 账单"],
        [("Köszönjük, a számlát megnéztük.", "queued")],
    )
    rows = _outside(adesk, "SELECT id, kind, group_id FROM events WHERE id > ? ORDER BY id", (events_before,))
    assert [k for _, k, _ in rows] == ["tagged", "assigned", "priority", "reply_queued", "note"]
    assert len({g for _, _, g in rows}) == 1 and rows[0][2] is not None
    result = uow.result("Routed to billing")
    assert result.event_ids == tuple(i for i, _, _ in rows)
    assert result.conversation_ids == (cid,)


async def test_an_exception_in_a_unit_rolls_back_everything_events_included(
    adesk: Desk, two: list[int]
) -> None:
    cid = two[0]
    before = await _state(adesk, cid)
    counts = ("SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM messages),"
              " (SELECT count(*) FROM outbox)")
    was = _outside(adesk, counts)
    with pytest.raises(UserError, match="unknown status"):
        async with unit_of_work(adesk):
            await _routing(adesk, cid)
            await services.set_status(adesk, [cid], "closed")  # type: ignore[arg-type]
    assert await _state(adesk, cid) == before
    assert _outside(adesk, counts) == was
    assert await adesk.db.fetchall("SELECT rowid FROM message_fts WHERE message_fts MATCH '账单'") == []
    assert adesk.db.transaction is None and not adesk.db.conn.in_transaction


async def test_undo_of_a_unit_undoes_all_its_actions_and_only_those(adesk: Desk, two: list[int]) -> None:
    first, other = two
    earlier = await services.set_status(adesk, [first], "pending")  # before the unit: stays
    async with unit_of_work(adesk) as uow:
        await _routing(adesk, first)
        await services.tag(adesk, [other], add=["vip"])
        await services.set_status(adesk, [first], "resolved")  # a field changed twice in one unit
    later = await services.tag(adesk, [other], add=["later"])  # after the unit: stays
    undone = await services.undo(adesk, uow.result("Routed"))
    assert await _state(adesk, first) == (
        None, [], "normal", "pending", [], [("Köszönjük, a számlát megnéztük.", "cancelled")],
    )
    assert (await _state(adesk, other))[1] == ["later"]
    assert set(undone.conversation_ids) == {first, other}
    assert undone.description == "Undid: Routed"
    assert len(_groups(adesk, undone.event_ids)) == 1  # the undo is one unit too
    assert earlier.event_ids and later.event_ids  # their own groups: not undone with the unit
    # Undoing the result of one action inside a unit undoes the whole unit.
    async with unit_of_work(adesk):
        inner = await services.tag(adesk, [other], add=["x"])
        await services.assign(adesk, [other], "bob")
    await services.undo(adesk, inner)
    assert (await _state(adesk, other))[:2] == (None, ["later"])


async def test_a_unit_that_cannot_be_undone_whole_undoes_nothing(adesk: Desk, two: list[int]) -> None:
    cid = two[0]
    async with unit_of_work(adesk) as uow:
        await services.tag(adesk, [cid], add=["billing"])
        await services.add_note(adesk, cid, "note")
        await services.assign(adesk, [cid], "bob")
    await services.assign(adesk.as_agent(None), [cid], "alice")  # changed since: the assignment stays
    with pytest.raises(UserError, match="has changed since"):
        await services.undo(adesk, uow.result("x"))
    assert await _state(adesk, cid) == ("alice", ["billing"], "normal", "open", ["note"], [])


async def test_merges_chained_in_a_unit_are_undone_and_redone_newest_first(adesk: Desk) -> None:
    channel = await factories.email_channel(adesk)
    a, b, c = [(await factories.thread(adesk, channel, subject=f"s{i}", address=f"p{i}@example.com",
                                       texts=(f"text {i}",))).conversation_id for i in range(3)]
    async with unit_of_work(adesk) as uow:
        await services.merge_conversations(adesk, a, b)
        await services.merge_conversations(adesk, b, c)
        await services.tag(adesk, [c], add=["merged"])

    async def where() -> dict[str, int]:
        rows = await adesk.db.fetchall("SELECT text, conversation_id FROM messages WHERE direction = 'in'")
        return {r[0]: r[1] for r in rows}

    assert await where() == {"text 0": c, "text 1": c, "text 2": c}
    undone = await services.undo(adesk, uow.result("merged three"))
    assert await where() == {"text 0": a, "text 1": b, "text 2": c}
    assert (await _state(adesk, c))[1] == []
    await services.undo(adesk, undone)  # undoing the undo merges again, in the same order
    assert await where() == {"text 0": c, "text 1": c, "text 2": c}


async def test_nested_units_join_the_outer_one(adesk: Desk, two: list[int]) -> None:
    cid = two[0]
    async with unit_of_work(adesk) as outer:
        await services.tag(adesk, [cid], add=["a"])
        async with unit_of_work(adesk) as inner:
            await services.assign(adesk, [cid], "bob")
        assert _outside(adesk, "SELECT assignee_id FROM conversations WHERE id = ?", (cid,)) == [(None,)]
        with pytest.raises(UserError):  # a failing inner unit is undone alone; the outer goes on
            async with unit_of_work(adesk):
                await services.set_priority(adesk, [cid], "urgent")
                await services.tag(adesk, [cid], remove=["no-such-tag"])
        await services.add_note(adesk, cid, "after the failed part")
    assert await _state(adesk, cid) == ("bob", ["a"], "normal", "open", ["after the failed part"], [])
    assert len(inner.event_ids) == 1 and set(inner.event_ids) < set(outer.event_ids)
    assert len(outer.event_ids) == 3
    assert len(_groups(adesk, outer.event_ids)) == 1
    with pytest.raises(RuntimeError):  # an outer failure takes the committed-looking inner unit with it
        async with unit_of_work(adesk):
            async with unit_of_work(adesk):
                await services.set_priority(adesk, [cid], "low")
            raise RuntimeError("later in the unit")
    assert (await _state(adesk, cid))[2] == "normal"


async def test_actions_outside_a_unit_commit_alone_each_in_its_own_group(adesk: Desk, two: list[int]) -> None:
    a = await services.tag(adesk, two, add=["one"])
    assert _outside(adesk, "SELECT count(*) FROM conversation_tags") == [(2,)]  # committed at once
    b = await services.assign(adesk, two[:1], "bob")
    (ga,), (gb,) = _groups(adesk, a.event_ids), _groups(adesk, b.event_ids)
    assert ga != gb
    await services.undo(adesk, a)  # undoing one action leaves the other
    assert (await _state(adesk, two[0]))[:2] == ("bob", [])


async def test_a_unit_s_reason_is_on_each_of_its_events_and_in_the_timeline(
    adesk: Desk, two: list[int]
) -> None:
    cid = two[0]
    system = adesk.as_agent(None)
    async with unit_of_work(system, reason="rule 'Magyar számla'"):
        await services.assign(system, [cid], "bob")
        async with unit_of_work(system):  # no reason of its own: the outer one
            await services.tag(system, [cid], add=["billing"])
        async with unit_of_work(system, reason="rule 'VIP'"):
            await services.set_priority(system, [cid], "high")
        await services.add_note(system, cid, "routed")
    await services.set_status(adesk, [cid], "pending")  # no unit: no reason
    conv = await reads.get_conversation(adesk, cid)
    lines = [describe(e) for e in conv.events if e.kind != "created"]
    assert lines == [
        "system assigned this to bob by rule 'Magyar számla'",
        "system tagged +billing by rule 'Magyar számla'",
        "system changed priority normal → high by rule 'VIP'",
        "system added an internal note by rule 'Magyar számla'",
        "alice changed status open → pending",
    ]


async def test_the_dispatcher_hears_of_a_reply_in_a_unit_only_once_it_is_committed(
    adesk: Desk, two: list[int]
) -> None:
    seen: list[list[tuple]] = []
    adesk.outbox_changed.subscribe(lambda: seen.append(_outside(adesk, "SELECT count(*) FROM outbox")))
    async with unit_of_work(adesk):
        await services.queue_reply(adesk, two[0], "hello")
        await services.add_note(adesk, two[0], "sent hello")
        assert seen == []
    assert seen == [[(1,)]]


WORKER = r'''
import asyncio, sys
from pathlib import Path
from omnidesk.desk import Desk
from omnidesk.services import services
from omnidesk.services.unit import unit_of_work
from omnidesk.settings import Settings
from omnidesk.store.db import Database

async def main(path, cid, rounds):
    db = await Database.open(path)
    try:
        desk = Desk(db=db, settings=Settings(), data_dir=Path(path).parent)
        for n in range(rounds):
            async with unit_of_work(desk):
                await services.tag(desk, [cid], add=[f"w{cid}-{n}"])
                await services.set_priority(desk, [cid], "high" if n % 2 else "low")
                await services.add_note(desk, cid, f"round {n}")
    finally:
        await db.close()

asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
'''


@pytest.mark.slow
async def test_units_in_several_processes_stay_whole_and_get_groups_of_their_own(
    adesk: Desk, two: list[int], tmp_path: Path
) -> None:
    rounds = 15
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([sys.executable, str(script), str(adesk.db.path), str(cid), str(rounds)],
                              stderr=subprocess.PIPE, text=True, env=env, cwd=REPO) for cid in two]
    for n in range(rounds):  # this process writes units of its own meanwhile
        async with unit_of_work(adesk):
            await services.tag(adesk, two, add=[f"main-{n}"])
            await services.add_note(adesk, two[0], f"main {n}")
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        assert "locked" not in err and "busy" not in err, err
    groups = _outside(adesk, "SELECT group_id, group_concat(kind, ' ') FROM events WHERE group_id IS NOT NULL"
                             " AND agent_id IS NULL GROUP BY group_id ORDER BY group_id")
    mine = _outside(adesk, "SELECT group_id, group_concat(kind, ' ') FROM events WHERE agent_id IS NOT NULL"
                           " AND kind IN ('tagged', 'note') GROUP BY group_id")
    assert [k for _, k in groups] == ["tagged priority note"] * (2 * rounds)  # every unit whole, alone
    assert [k for _, k in mine] == ["tagged tagged note"] * rounds
    assert _outside(adesk, "SELECT count(*) FROM messages WHERE direction = 'note'") == [(3 * rounds,)]
