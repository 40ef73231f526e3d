"""omnidesk/store/presence.py and omnidesk/store/drafts.py against a real database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from omnidesk.store import drafts, presence
from tests.unit import factories


async def _setup(desk):
    alice = await factories.agent(desk, "alice")
    bob = await factories.agent(desk, "bob")
    channel = await factories.email_channel(desk)
    thread = await factories.thread(desk, channel)
    return alice, bob, thread.conversation_id


async def test_presence_heartbeats_leave_stale_and_dead_runners(desk):
    alice, bob, cid = await _setup(desk)
    me = presence.runner_id()
    now = 1_000_000_000
    await presence.heartbeat(
        desk.db, agent_id=alice.id, conversation_id=cid, activity="viewing", runner=me, now=now
    )
    await presence.heartbeat(
        desk.db, agent_id=bob.id, conversation_id=cid, activity="replying", runner="far:1", now=now - 5_000
    )
    await presence.heartbeat(
        desk.db,
        agent_id=bob.id,
        conversation_id=cid,
        activity="viewing",
        runner="far:2",
        now=now - presence.STALE_MS - 1,
    )
    seen = await presence.others(desk.db, conversation_id=cid, runner=me, now=now)
    assert [(p.agent_name, p.activity, p.runner) for p in seen] == [("bob", "replying", "far:1")]
    # a second heartbeat updates the row instead of adding one
    await presence.heartbeat(
        desk.db, agent_id=bob.id, conversation_id=cid, activity="viewing", runner="far:1", now=now
    )
    seen = await presence.others(desk.db, conversation_id=cid, runner=me, now=now)
    assert [(p.activity, p.heartbeat_at) for p in seen] == [("viewing", now)]
    await presence.leave(desk.db, agent_id=bob.id, conversation_id=cid, runner="far:1")
    assert await presence.others(desk.db, conversation_id=cid, runner=me, now=now) == []
    # a process on this host that died is gone at once, however fresh its heartbeat
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    await presence.heartbeat(
        desk.db,
        agent_id=bob.id,
        conversation_id=cid,
        activity="replying",
        runner=f"{socket.gethostname()}:{dead.pid}",
        now=now,
    )
    await presence.heartbeat(
        desk.db,
        agent_id=bob.id,
        conversation_id=cid,
        activity="viewing",
        runner=f"{socket.gethostname()}:{os.getppid()}",
        now=now,
    )
    seen = await presence.others(desk.db, conversation_id=cid, runner=me, now=now)
    assert [p.runner for p in seen] == [f"{socket.gethostname()}:{os.getppid()}"]
    assert await presence.prune(desk.db, now=now) == 1  # far:2 was stale


async def test_drafts_upsert_per_agent_and_delete(desk):
    alice, bob, cid = await _setup(desk)
    assert await drafts.get_draft(desk.db, conversation_id=cid, agent_id=alice.id) is None
    await drafts.save_draft(desk.db, conversation_id=cid, agent_id=alice.id, body="Szia, 你好, سلام", now=1)
    await drafts.save_draft(
        desk.db,
        conversation_id=cid,
        agent_id=alice.id,
        body="Szia, 你好, سلام!",
        now=2,
        to_address="ann@example.com",
    )
    await drafts.save_draft(desk.db, conversation_id=cid, agent_id=bob.id, body="bob's", now=3)
    mine = await drafts.get_draft(desk.db, conversation_id=cid, agent_id=alice.id)
    assert (mine.body, mine.to_address, mine.updated_at) == ("Szia, 你好, سلام!", "ann@example.com", 2)
    assert [d.body for d in await drafts.drafts_of(desk.db, bob.id)] == ["bob's"]
    huge = "x" * 1_000_000
    await drafts.save_draft(desk.db, conversation_id=cid, agent_id=alice.id, body=huge)
    assert (await drafts.get_draft(desk.db, conversation_id=cid, agent_id=alice.id)).body == huge
    await drafts.delete_draft(desk.db, conversation_id=cid, agent_id=alice.id)
    assert await drafts.get_draft(desk.db, conversation_id=cid, agent_id=alice.id) is None
    assert (await drafts.get_draft(desk.db, conversation_id=cid, agent_id=bob.id)).body == "bob's"


def test_snooze_phrases():
    from datetime import UTC, datetime

    import pytest

    from omnidesk.errors import UserError
    from omnidesk.tui.textfmt import zone
    from omnidesk.tui.when import parse_when

    tz = zone("Asia/Tehran")
    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # a Friday; 15:30 in Tehran
    assert parse_when("1h", now, tz) == now.astimezone(tz).replace() + (parse_when("1h", now, tz) - now)
    assert (parse_when("1h", now, tz) - now).total_seconds() == 3600
    assert parse_when("tomorrow", now, tz).isoformat() == "2026-11-21T09:00:00+03:30"
    assert parse_when("monday", now, tz).isoformat() == "2026-11-23T09:00:00+03:30"
    assert parse_when("fri", now, tz).isoformat() == "2026-11-27T09:00:00+03:30"
    assert parse_when("2026-12-01 14:00", now, tz).isoformat() == "2026-12-01T14:00:00+03:30"
    assert parse_when("2026-12-01", now, tz).isoformat() == "2026-12-01T09:00:00+03:30"
    with pytest.raises(UserError):
        parse_when("2020-01-01", now, tz)
    with pytest.raises(UserError):
        parse_when("whenever", now, tz)
