"""SLA clocks kept current by the services: replies, priority and tag changes, pending and snoozed."""

from __future__ import annotations

import asyncio
import dataclasses
import json

import pytest

from omnidesk.desk import Desk
from omnidesk.services import services, sla
from omnidesk.services.sync import run_sync
from omnidesk.settings import Settings
from omnidesk.sla.policy import Policy
from omnidesk.store import reads as store_reads
from omnidesk.timeutil import now_ms
from tests.unit import factories

MIN = 60_000
HOUR = 60 * MIN
POLICIES = (
    Policy("urgent", (("first_response", 30 * MIN), ("resolution", 2 * HOUR)),
           priorities=frozenset({"urgent"})),
    Policy("vip", (("first_response", 20 * MIN),), tags=frozenset({"vip"})),
    Policy("normal", (("first_response", 4 * HOUR), ("next_response", 2 * HOUR), ("resolution", 24 * HOUR))),
)


@pytest.fixture
async def sdesk(desk: Desk) -> Desk:
    alice = await factories.agent(desk, "alice")
    return dataclasses.replace(desk, settings=Settings(sla=POLICIES)).as_agent(alice)


async def row(desk: Desk, cid: int):
    found = await store_reads.conversation_row(desk.db, cid)
    assert found is not None
    return found


async def status_event_at(desk: Desk, cid: int, status: str) -> int:
    rows = await desk.db.fetchall("SELECT after, created_at FROM events WHERE conversation_id = ? AND"
                                  " kind = 'status' ORDER BY id", (cid,))
    return [r["created_at"] for r in rows if json.loads(r["after"])["status"] == status][-1]


async def test_reply_and_priority_change_move_the_due_time(sdesk: Desk) -> None:
    channel = await factories.email_channel(sdesk)
    t = await factories.thread(sdesk, channel)
    created = (await row(sdesk, t.conversation_id))["created_at"]
    assert await sla.recompute(sdesk, [t.conversation_id]) == [t.conversation_id]
    r = await row(sdesk, t.conversation_id)
    assert (r["sla_target"], r["sla_due_at"], r["sla_warn_at"]) == \
        ("first_response", created + 4 * HOUR, created + 192 * MIN)

    await services.set_priority(sdesk, [t.conversation_id], "urgent")
    r = await row(sdesk, t.conversation_id)
    assert (r["sla_target"], r["sla_due_at"]) == ("first_response", created + 30 * MIN)  # breached already

    await services.queue_reply(sdesk, t.conversation_id, "We are on it.")
    r = await row(sdesk, t.conversation_id)
    assert (r["sla_target"], r["sla_due_at"]) == ("resolution", created + 2 * HOUR)
    clocks = await sdesk.db.fetchall("SELECT target, due_at, next_at FROM sla_clocks"
                                     " WHERE conversation_id = ? ORDER BY target", (t.conversation_id,))
    assert [(c["target"], c["due_at"] is None, c["next_at"] is None) for c in clocks] == \
        [("first_response", True, True), ("resolution", False, False)]

    await services.set_priority(sdesk, [t.conversation_id], "normal")
    later = now_ms()
    await factories.add_inbound(sdesk, t, channel, "Any news?", when=later)
    await sla.recompute(sdesk, [t.conversation_id])
    r = await row(sdesk, t.conversation_id)
    assert (r["sla_target"], r["sla_due_at"]) == ("next_response", later + 2 * HOUR)

    await services.set_status(sdesk, [t.conversation_id], "resolved")
    r = await row(sdesk, t.conversation_id)
    assert (r["sla_target"], r["sla_due_at"], r["sla_left_ms"]) == (None, None, None)


async def test_a_tag_can_put_a_conversation_under_another_policy(sdesk: Desk) -> None:
    t = await factories.thread(sdesk, await factories.email_channel(sdesk))
    created = (await row(sdesk, t.conversation_id))["created_at"]
    await services.tag(sdesk, [t.conversation_id], add=["VIP"])
    assert (await row(sdesk, t.conversation_id))["sla_due_at"] == created + 20 * MIN
    await services.tag(sdesk, [t.conversation_id], remove=["VIP"])
    assert (await row(sdesk, t.conversation_id))["sla_due_at"] == created + 4 * HOUR


async def test_pending_pauses_and_reopening_resumes_with_what_was_left(sdesk: Desk) -> None:
    t = await factories.thread(sdesk, await factories.email_channel(sdesk))
    cid = t.conversation_id
    created = (await row(sdesk, cid))["created_at"]
    await services.set_status(sdesk, [cid], "pending")
    paused = await status_event_at(sdesk, cid, "pending")
    r = await row(sdesk, cid)
    assert (r["sla_target"], r["sla_due_at"], r["sla_warn_at"]) == ("first_response", None, None)
    assert r["sla_left_ms"] == 4 * HOUR - (paused - created)
    await services.set_status(sdesk, [cid], "open")
    resumed = await status_event_at(sdesk, cid, "open")
    r = await row(sdesk, cid)
    assert r["sla_due_at"] == resumed + 4 * HOUR - (paused - created) and r["sla_left_ms"] is None


async def test_snoozed_pauses_and_the_daemon_s_wake_up_resumes(sdesk: Desk) -> None:
    t = await factories.thread(sdesk, await factories.email_channel(sdesk))
    cid = t.conversation_id
    created = (await row(sdesk, cid))["created_at"]
    until = now_ms() + 300
    await services.set_status(sdesk, [cid], "snoozed", snooze_until=until)
    snoozed = await status_event_at(sdesk, cid, "snoozed")
    assert (await row(sdesk, cid))["sla_left_ms"] == 4 * HOUR - (snoozed - created)
    async with asyncio.timeout(10):
        while now_ms() <= until:
            await asyncio.sleep(0.05)
    report = await run_sync(sdesk.as_agent(None), once=True, stop=asyncio.Event(), dispatch=False)
    assert report.woken == [cid]
    woken = await status_event_at(sdesk, cid, "open")
    r = await row(sdesk, cid)
    assert r["sla_due_at"] == woken + 4 * HOUR - (snoozed - created) and r["sla_left_ms"] is None


async def test_a_changed_config_recomputes_everything_once(sdesk: Desk) -> None:
    channel = await factories.email_channel(sdesk)
    ids = [(await factories.thread(sdesk, channel, address=f"c{i}@example.com")).conversation_id
           for i in range(3)]
    first = await sla.ensure_current(sdesk)
    assert first == sla.Recomputed(3, 3) and await sla.ensure_current(sdesk) is None
    faster = (Policy("normal", (("first_response", HOUR),)),)
    changed = dataclasses.replace(sdesk, settings=Settings(sla=faster))
    assert await sla.ensure_current(changed) == sla.Recomputed(3, 3)
    created = (await row(sdesk, ids[0]))["created_at"]
    assert (await row(sdesk, ids[0]))["sla_due_at"] == created + HOUR
    none = dataclasses.replace(sdesk, settings=Settings())
    assert await sla.ensure_current(none) == sla.Recomputed(3, 3)  # the clocks go with the policies
    assert (await row(sdesk, ids[0]))["sla_target"] is None


async def test_a_desk_without_policies_computes_nothing(desk: Desk) -> None:
    t = await factories.thread(desk, await factories.email_channel(desk))
    assert await sla.recompute(desk, [t.conversation_id]) == []
    assert (await row(desk, t.conversation_id))["sla_due_at"] is None


async def test_an_action_and_its_recompute_commit_together(sdesk: Desk,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from omnidesk.store import sla as store_sla

    t = await factories.thread(sdesk, await factories.email_channel(sdesk))

    async def broken(*args: object) -> list[int]:
        raise RuntimeError("disk full")

    monkeypatch.setattr(store_sla, "recompute", broken)
    with pytest.raises(RuntimeError):
        await services.set_priority(sdesk, [t.conversation_id], "urgent")
    assert (await row(sdesk, t.conversation_id))["priority"] == "normal"  # rolled back with it
