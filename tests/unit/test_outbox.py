"""Outbox claiming, leases and settling (store level), backoff, and the adapter registry."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from adapters.base import Batch, Outbound, PermanentError, Receipt, TransientError
from omnidesk import registry
from omnidesk.desk import Desk
from omnidesk.errors import ConfigError
from omnidesk.outbound.outbox import Dispatcher
from omnidesk.settings import ChannelSettings
from omnidesk.store import outbox as store
from omnidesk.store.db import Database
from omnidesk.timeutil import now_ms
from tests.integration.outbox_env import open_test_desk, queue_replies


@pytest.fixture
async def queued(tmp_path: Path):  # type: ignore[no-untyped-def]
    desk = await open_test_desk(tmp_path, 9)  # port 9: never used, these tests do not send
    try:
        _, mids = await queue_replies(desk, 3)
        yield desk, mids
    finally:
        await desk.db.close()


async def test_claim_takes_each_row_once_and_marks_the_message_sending(queued) -> None:  # type: ignore[no-untyped-def]
    desk, mids = queued
    now = now_ms() + 1
    first = await store.claim_due(desk.db, owner="a", now=now, lease_ms=60_000, limit=2)
    second = await store.claim_due(desk.db, owner="b", now=now, lease_ms=60_000, limit=10)
    assert [c.message_id for c in first] == mids[:2]
    assert [c.message_id for c in second] == mids[2:]
    assert await store.claim_due(desk.db, owner="c", now=now, lease_ms=60_000) == []
    assert first[0].channel_name == "support" and first[0].channel_kind == "email"
    row = await desk.db.fetchone("SELECT delivery FROM messages WHERE id = ?", (mids[0],))
    assert row["delivery"] == "sending"


async def test_rows_wait_for_the_undo_window(queued) -> None:  # type: ignore[no-untyped-def]
    desk, mids = queued
    row = await store.delivery_of(desk.db, mids[0])
    assert row is not None
    early = await store.claim_due(desk.db, owner="a", now=row["not_before"] - 1, lease_ms=1000)
    assert early == []
    assert await store.next_due_at(desk.db) == row["not_before"]


async def test_an_expired_lease_is_taken_over_and_the_old_owner_cannot_settle(queued) -> None:  # type: ignore[no-untyped-def]
    desk, _ = queued
    now = now_ms() + 1
    (dead,) = await store.claim_due(desk.db, owner="dead", now=now, lease_ms=1000, limit=1)
    early = await store.claim_due(desk.db, owner="new", now=now + 999, lease_ms=1000)
    assert dead.id not in [c.id for c in early], "a live lease is never taken"
    taken = [c for c in await store.claim_due(desk.db, owner="new", now=now + 1001, lease_ms=1000)
             if c.id == dead.id]
    assert taken and taken[0].attempts == 2
    assert not await store.mark_sent(desk.db, dead.id, owner="dead", sent_at=now, now=now, receipt={})
    assert not await store.extend_lease(desk.db, dead.id, owner="dead", until=now + 5000)
    assert await store.mark_sent(desk.db, dead.id, owner="new", sent_at=now, now=now, receipt={"x": 1})
    assert (await store.delivery_of(desk.db, dead.message_id))["state"] == "sent"  # type: ignore[index]


async def test_release_gives_unsent_rows_back(queued) -> None:  # type: ignore[no-untyped-def]
    desk, _ = queued
    now = now_ms() + 1
    claimed = await store.claim_due(desk.db, owner="a", now=now, lease_ms=60_000)
    assert await store.release(desk.db, [c.id for c in claimed], owner="a", now=now) == 3
    again = await store.claim_due(desk.db, owner="b", now=now, lease_ms=60_000)
    assert [c.attempts for c in again] == [1, 1, 1]


async def test_state_counts(queued) -> None:  # type: ignore[no-untyped-def]
    desk, _ = queued
    assert await store.state_counts(desk.db) == {"queued": 3}


def test_backoff_grows_exponentially_with_jitter_and_is_capped(desk: Desk) -> None:
    d = Dispatcher(desk, backoff_base=10, backoff_max=100)
    for attempts, step in ((1, 10), (2, 20), (3, 40), (4, 80), (5, 100), (30, 100)):
        for _ in range(20):
            assert step * 0.5 <= d.backoff(attempts) <= step
    assert d.backoff(1, retry_after=60) >= 60
    assert d.backoff(1, retry_after=10_000) <= 100


class _Scripted:
    """A test channel (adapters.base.Adapter) whose sends fail as scripted."""

    kind = "scripted"

    def __init__(self, name: str, options, secret) -> None:  # type: ignore[no-untyped-def]
        self.name = name
        self.outcomes = list(options.get("outcomes", []))
        self.sent: list[Outbound] = []

    async def poll(self, cursor):  # type: ignore[no-untyped-def]
        if False:
            yield Batch([], cursor)

    async def wait_for_changes(self, timeout: float) -> None:
        await asyncio.sleep(0)

    async def send(self, outbound: Outbound) -> Receipt:
        outcome = self.outcomes.pop(0) if self.outcomes else "ok"
        if outcome == "transient":
            raise TransientError("busy", retry_after=0.01)
        if outcome == "permanent":
            raise PermanentError("550 no such user")
        if outcome == "bug":
            raise ValueError("adapter bug")
        self.sent.append(outbound)
        from datetime import UTC, datetime

        return Receipt(external_id="chan-42", sent_at=datetime.now(UTC), meta={"ts": "42.1"})

    async def close(self) -> None:
        pass


async def test_unexpected_adapter_errors_are_retried_and_receipts_kept(queued) -> None:  # type: ignore[no-untyped-def]
    desk, mids = queued
    adapter = _Scripted("support", {"outcomes": ["bug", "transient"]}, None)
    dispatcher = Dispatcher(desk, adapter_for=lambda name: adapter, backoff_base=0.001, batch_size=1)
    stats = await dispatcher.run_once()
    while stats.sent < 3:
        await asyncio.sleep(0.005)
        stats.add(await dispatcher.run_once())
    assert stats.retried == 2 and stats.errors[:2] == ["adapter bug", "busy"]
    row = await desk.db.fetchone("SELECT external_id, meta FROM messages WHERE id = ?", (mids[0],))
    assert row["external_id"].startswith("<")  # ours stays; the channel's id is in meta
    assert '"external_id":"chan-42"' in row["meta"] and '"ts":"42.1"' in row["meta"]


class _InParts(_Scripted):
    """A chat channel that posts a long reply as two messages, delivered at once."""

    async def send(self, outbound: Outbound) -> Receipt:
        from datetime import UTC, datetime

        return Receipt(external_id="1700000000.000100", sent_at=datetime.now(UTC), scope="T0TEAM01/C0123ABC",
                       also_ids=("1700000000.000200",), state="delivered")


async def test_every_id_of_a_receipt_becomes_a_reference_and_its_state_the_delivery(queued) -> None:  # type: ignore[no-untyped-def]
    desk, mids = queued
    adapter = _InParts("support", {}, None)
    stats = await Dispatcher(desk, adapter_for=lambda name: adapter).run_once()
    assert stats.sent == 3
    refs = await desk.db.fetchall("SELECT scope, ref FROM message_refs WHERE message_id = ? ORDER BY ref",
                                  (mids[0],))
    own = (await desk.db.fetchone("SELECT external_id FROM messages WHERE id = ?", (mids[0],)))[0]
    assert sorted(tuple(r) for r in refs) == sorted([
        ("", own), ("T0TEAM01/C0123ABC", "1700000000.000100"), ("T0TEAM01/C0123ABC", "1700000000.000200")])
    row = await desk.db.fetchone("SELECT delivery FROM messages WHERE id = ?", (mids[1],))
    assert row["delivery"] == "delivered"


async def test_unknown_channel_fails_the_reply_with_a_clear_error(tmp_path: Path) -> None:
    desk = await open_test_desk(tmp_path, 9)
    try:
        _, (mid,) = await queue_replies(desk)
        from dataclasses import replace

        bare = replace(desk, settings=replace(desk.settings, channels=()))
        stats = await Dispatcher(bare).run_once()
        assert stats.failed == 1
        row = await desk.db.fetchone("SELECT delivery, delivery_error FROM messages WHERE id = ?", (mid,))
        assert row["delivery"] == "failed"
        assert "'support' is not in the configuration" in row["delivery_error"]
    finally:
        await desk.db.close()


def test_registry_knows_the_builtins_and_names_unknown_kinds() -> None:
    assert {"email", "maildir"} <= set(registry.kinds())
    from adapters.email.channel import EmailAdapter

    assert registry.factory_for("email") is EmailAdapter
    with pytest.raises(ConfigError, match=r"no channel adapter of kind 'pigeon'.*known kinds: .*email"):
        registry.factory_for("pigeon")


def test_registry_falls_back_to_builtins_without_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    # The package metadata is missing (a plain source checkout): entry points are empty.
    monkeypatch.setattr(registry, "entry_points", lambda group: [])
    from adapters.email.channel import EmailAdapter

    assert registry.factory_for("email") is EmailAdapter


def test_registry_register_and_build() -> None:
    registry.register("scripted", _Scripted)
    try:
        adapter = registry.build_adapter(
            ChannelSettings(name="x", kind="scripted", address="a@b.example", options={"outcomes": []}),
            secret=lambda name: "",
        )
        assert isinstance(adapter, _Scripted) and adapter.name == "x"
        assert "scripted" in registry.kinds()
    finally:
        registry.unregister("scripted")


async def test_next_due_at_is_none_when_idle(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "x.db")
    try:
        assert await store.next_due_at(db) is None
    finally:
        await db.close()
