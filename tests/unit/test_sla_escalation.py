"""SLA escalations: each warning and breach runs its actions once, in one unit, across restarts."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from omnidesk.conversations import reads
from omnidesk.desk import Desk
from omnidesk.services import escalation, services, sla
from omnidesk.services.sync import run_sync
from omnidesk.settings import Settings
from omnidesk.sla.policy import Escalation, Policy
from omnidesk.store import sla as store_sla
from omnidesk.store.db import Database
from omnidesk.timeutil import now_ms
from tests.unit import factories

MIN = 60_000
HOUR = 60 * MIN
POLICY = Policy(
    "normal", (("first_response", HOUR), ("resolution", 8 * HOUR)),
    on_warning=Escalation(tags=("sla-warning",), notify=("lead",)),
    on_breach=Escalation(tags=("sla-breached",), priority="raise", assign="ghost",
                         note="Breached: over to a lead.", notify=("lead",)))
SETTINGS = Settings(sla=(POLICY,))


async def open_desk(path: Path) -> Desk:
    db = await Database.open(path / "omnidesk.db")
    return Desk(db=db, settings=SETTINGS, data_dir=path)


async def late_conversation(desk: Desk, age: int = 2 * HOUR) -> int:
    """A conversation whose first response is breached (and its warning past), resolution not yet."""
    t = await factories.thread(desk, await factories.email_channel(desk), start=now_ms() - age)
    await sla.recompute(desk, [t.conversation_id])
    return t.conversation_id


async def later_than(ms: int) -> int:
    """Wait (at most a second) until the clock is past `ms`; the time then."""
    async with asyncio.timeout(1):
        while now_ms() <= ms:
            await asyncio.sleep(0.001)
    return now_ms()


async def sla_events(desk: Desk, cid: int) -> list[tuple[str, str | None]]:
    conv = await reads.get_conversation(desk, cid)
    return [(e.kind, e.reason) for e in conv.events if e.kind.startswith("sla_")]


async def test_warning_and_breach_fire_once_across_a_restart(tmp_path: Path) -> None:
    desk = await open_desk(tmp_path)
    cid = await late_conversation(desk)
    report = await run_sync(desk, once=True, stop=asyncio.Event(), dispatch=False)
    assert [(s.target, s.stage) for s in report.escalations] == [("first_response", "warning"),
                                                                ("first_response", "breach")]
    await desk.db.close()

    desk = await open_desk(tmp_path)  # the daemon again, from nothing but the database
    try:
        again = await run_sync(desk, once=True, stop=asyncio.Event(), dispatch=False)
        assert again.escalations == []
        assert await sla_events(desk, cid) == [("sla_warning", "SLA policy 'normal'"),
                                               ("sla_breached", "SLA policy 'normal'")]
        conv = await reads.get_conversation(desk, cid)
        assert set(conv.summary.tags) == {"sla-warning", "sla-breached"}
        assert conv.summary.priority == "high"  # raised one step, once
        notes = [m.text for m in conv.messages if m.direction == "note"]
        assert notes[0] == "Breached: over to a lead."
        assert notes[1].startswith("SLA escalation could not assign: unknown agent 'ghost'")
        tagged = [e for e in conv.events if e.kind == "tagged"]
        assert all(e.reason == "SLA policy 'normal'" and e.agent is None for e in tagged)
        # The resolution target's stages are still to come, and nothing else is due.
        clocks = await desk.db.fetchall("SELECT target, warned_at, breached_at, next_at FROM sla_clocks"
                                        " WHERE conversation_id = ? ORDER BY target", (cid,))
        (first, resolution) = clocks
        assert first["warned_at"] and first["breached_at"] and first["next_at"] is None
        assert resolution["warned_at"] is None and resolution["next_at"] > now_ms()
    finally:
        await desk.db.close()


async def test_a_crash_inside_the_unit_fires_it_later_once(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    desk = await open_desk(tmp_path)
    try:
        cid = await late_conversation(desk)
        real_note = services.add_note

        async def crash(*args: object, **kwargs: object) -> None:
            raise RuntimeError("power cut")

        monkeypatch.setattr(services, "add_note", crash)
        with pytest.raises(RuntimeError):
            await escalation.run_due(desk)
        # The warning (no note) committed; the breach rolled back whole: no tag, no priority, no mark.
        assert await sla_events(desk, cid) == [("sla_warning", "SLA policy 'normal'")]
        summary = (await reads.get_conversation(desk, cid)).summary
        assert summary.priority == "normal" and "sla-breached" not in summary.tags
        monkeypatch.setattr(services, "add_note", real_note)
        fired = await escalation.run_due(desk)
        assert [(f.stage.stage, f.skipped) for f in fired] == [("breach", ("assign: unknown agent 'ghost'",))]
        assert await escalation.run_due(desk) == []
        assert [k for k, _ in await sla_events(desk, cid)] == ["sla_warning", "sla_breached"]
    finally:
        await desk.db.close()


async def test_two_daemons_at_once_fire_each_stage_once(tmp_path: Path) -> None:
    one, two = await open_desk(tmp_path), await open_desk(tmp_path)
    try:
        cid = await late_conversation(one)
        results = await asyncio.gather(escalation.run_due(one), escalation.run_due(two))
        assert sorted(f.stage.stage for r in results for f in r) == ["breach", "warning"]
        assert [k for k, _ in await sla_events(one, cid)] == ["sla_warning", "sla_breached"]
    finally:
        await one.db.close()
        await two.db.close()


async def test_the_lead_is_told_and_others_are_not(tmp_path: Path) -> None:
    desk = await open_desk(tmp_path)
    try:
        newest, nothing = await store_sla.notices(desk.db, "lead", None)
        assert nothing == []
        cid = await late_conversation(desk)
        await escalation.run_due(desk)
        _, told = await store_sla.notices(desk.db, "lead", newest)
        assert [(n.conversation_id, n.kind, n.target) for n in told] == [
            (cid, "sla_warning", "first_response"), (cid, "sla_breached", "first_response")]
        assert (await store_sla.notices(desk.db, "ann", newest))[1] == []
    finally:
        await desk.db.close()


async def test_a_new_customer_message_is_a_new_cycle_that_may_fire_again(tmp_path: Path) -> None:
    policy = Policy("chat", (("next_response", 10 * MIN),), on_breach=Escalation(tags=("late",)))
    desk = await open_desk(tmp_path)
    try:
        desk = Desk(db=desk.db, settings=Settings(sla=(policy,)), data_dir=tmp_path)
        agent = await factories.agent(desk, "alice")
        channel = await factories.email_channel(desk)
        t = await factories.thread(desk, channel, start=now_ms() - 3 * HOUR)
        await services.queue_reply(desk.as_agent(agent), t.conversation_id, "Hello")
        for _ in range(2):  # the customer writes after our reply; an hour later both stages are due
            written = await later_than(now_ms())
            await factories.add_inbound(desk, t, channel, "still there?", when=written)
            await sla.recompute(desk, [t.conversation_id])
            fired = await escalation.run_due(desk, now=now_ms() + HOUR)
            assert [f.stage.stage for f in fired] == ["warning", "breach"]
            assert await escalation.run_due(desk, now=now_ms() + HOUR) == []
            await later_than(written)  # our answer comes after the customer's message
            await services.queue_reply(desk.as_agent(agent), t.conversation_id, "Yes")
        kinds = [k for k, _ in await sla_events(desk, t.conversation_id)]
        assert kinds == ["sla_warning", "sla_breached"] * 2
    finally:
        await desk.db.close()


async def test_each_stage_fired_queues_its_routing_rules_once(tmp_path: Path) -> None:
    """A warning and a breach queue `sla_warning` and `sla_breach` for the rules (docs/rules.md),
    in the unit that marks them fired, so a second run queues nothing more."""
    desk = await open_desk(tmp_path)
    try:
        cid = await late_conversation(desk)
        for _ in range(2):
            await run_sync(desk, once=True, stop=asyncio.Event(), dispatch=False)
        rows = await desk.db.fetchall("SELECT trigger FROM pending_routing WHERE conversation_id = ?"
                                      " AND trigger LIKE 'sla_%' ORDER BY id", (cid,))
        assert [r[0] for r in rows] == ["sla_warning", "sla_breach"]
    finally:
        await desk.db.close()
