"""A dispatcher killed with SIGKILL at the worst moments; another one finishes its work.

At-least-once: a dispatcher that dies after the server accepted the message but
before it recorded "sent" leaves the row to be sent again once its lease has
expired. The copy carries the same Message-ID (generated and stored before the
first attempt), so receivers and our own ingest recognise it as the same message.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from omnidesk.outbound.outbox import Dispatcher
from omnidesk.store import outbox as store
from omnidesk.timeutil import now_ms
from tests.fakes.smtp_server import FakeSMTPServer, free_port
from tests.integration.outbox_env import message_row, open_test_desk, queue_replies
from tests.integration.test_dispatcher import until

REPO = Path(__file__).resolve().parents[2]

CHILD = """
import asyncio, sys
from pathlib import Path
from tests.integration.outbox_env import open_test_desk
from omnidesk.outbound.outbox import Dispatcher

async def main(path, port, lease, owner=None):
    desk = await open_test_desk(Path(path), int(port))
    await Dispatcher(desk, lease_seconds=float(lease), owner=owner).run_once()
    await desk.db.close()

asyncio.run(main(*sys.argv[1:]))
"""


def start_child(tmp_path: Path, port: int, lease: float, owner: str | None = None) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    extra = [owner] if owner else []
    return subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path), str(port), str(lease), *extra],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def kill(child: subprocess.Popen[bytes]) -> None:
    child.send_signal(signal.SIGKILL)
    child.wait(10)


@contextlib.asynccontextmanager
async def hung_send(tmp_path: Path, *, lease: float, owner: str | None = None) -> AsyncIterator[HungSend]:
    """A child dispatcher that claimed the one queued reply and hangs sending it to a silent server."""
    black_hole = socket.socket()  # accepts TCP connections and never says hello
    black_hole.bind(("127.0.0.1", 0))
    black_hole.listen(8)
    desk = await open_test_desk(tmp_path, black_hole.getsockname()[1])
    child = None
    try:
        _, (mid,) = await queue_replies(desk)
        child = start_child(tmp_path, black_hole.getsockname()[1], lease=lease, owner=owner)
        claimed = await until(lambda: _claimed(desk, mid))
        yield HungSend(desk, mid, child, claimed)
    finally:
        if child is not None and child.poll() is None:
            kill(child)
        black_hole.close()
        await desk.db.close()


@dataclass
class HungSend:
    desk: Any
    mid: int
    child: subprocess.Popen[bytes]
    claimed: dict[str, Any]  # the outbox row as the child claimed it


async def test_killed_after_claim_then_taken_up_after_lease_expiry(tmp_path: Path) -> None:
    """A dispatcher of another host dies mid-send: nobody here can tell, so its lease runs out first."""
    async with hung_send(tmp_path, lease=3.0, owner="elsewhere.test:1:a1b2") as hung:
        kill(hung.child)
        claimed, mid = hung.claimed, hung.mid
        assert claimed["lease_owner"] == "elsewhere.test:1:a1b2"

        with FakeSMTPServer() as smtp:
            # The survivor sends to a working server (same desk file, fixed config).
            survivor = await open_test_desk(tmp_path, smtp.port)
            try:
                dispatcher = Dispatcher(survivor)
                if now_ms() < claimed["lease_until"] - 500:
                    assert (await dispatcher.run_once()).sent == 0, "the dead dispatcher's lease still holds"
                    assert (await message_row(survivor, mid))["delivery"] == "sending"

                async def sent() -> bool:
                    await dispatcher.run_once()
                    return (await message_row(survivor, mid))["delivery"] == "sent"

                await until(sent, timeout=15)
                assert now_ms() >= claimed["lease_until"]
                assert len(smtp.messages) == 1
                row = await store.delivery_of(survivor.db, mid)
                assert row is not None and row["attempts"] == 2 and row["lease_owner"] is None
            finally:
                await survivor.db.close()


async def test_a_restarted_dispatcher_takes_up_its_dead_predecessors_send_at_once(tmp_path: Path) -> None:
    async with hung_send(tmp_path, lease=120.0) as hung:
        message_id = (await message_row(hung.desk, hung.mid))["external_id"]
        kill(hung.child)  # mid-send, with 120 s of lease left

        with FakeSMTPServer() as smtp:
            restarted = await open_test_desk(tmp_path, smtp.port)
            try:
                dispatcher = Dispatcher(restarted)

                async def sent() -> bool:
                    await dispatcher.run_once()
                    return (await message_row(restarted, hung.mid))["delivery"] == "sent"

                await until(sent, timeout=15)
                assert now_ms() < hung.claimed["lease_until"] - 60_000, "long before the lease ran out"
                (received,) = await smtp.wait_for(1)
                assert received.message["Message-ID"] == message_id, "the same message, recognisable"
                row = await store.delivery_of(restarted.db, hung.mid)
                assert row is not None and row["attempts"] == 2 and row["state"] == "sent"
            finally:
                await restarted.db.close()


async def test_a_live_dispatchers_lease_is_left_alone(tmp_path: Path) -> None:
    async with hung_send(tmp_path, lease=120.0) as hung:
        with FakeSMTPServer() as smtp:
            other = await open_test_desk(tmp_path, smtp.port)
            try:
                dispatcher = Dispatcher(other)
                assert await dispatcher.reclaim_dead_leases() == 0
                assert (await dispatcher.run_once()).sent == 0
                row = await store.delivery_of(other.db, hung.mid)
                assert row is not None and row["state"] == "sending"
                assert row["lease_owner"] == hung.claimed["lease_owner"]
                assert row["lease_until"] == hung.claimed["lease_until"]
                assert smtp.messages == []
            finally:
                await other.db.close()


async def _claimed(desk: Any, mid: int) -> dict[str, Any] | None:
    row = await store.delivery_of(desk.db, mid)
    return row if row is not None and row["state"] == "sending" else None


class _SlowAck:
    """Records the message, then withholds the 250 while `hang` is set (the at-least-once window)."""

    def __init__(self) -> None:
        self.hang = threading.Event()
        self.hang.set()
        self.received: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(envelope.original_content or envelope.content)
        while self.hang.is_set():
            await asyncio.sleep(0.02)
        return "250 OK"


async def test_killed_after_the_server_accepted_sends_a_recognisable_duplicate(tmp_path: Path) -> None:
    handler = _SlowAck()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    desk = await open_test_desk(tmp_path, port)
    child = None
    try:
        _, (mid,) = await queue_replies(desk)
        child = start_child(tmp_path, port, lease=1.0)

        async def data_arrived() -> bool:
            return len(handler.received) == 1

        await until(data_arrived)
        kill(child)  # the server has the message; the dispatcher never heard "250"
        handler.hang.clear()
        dispatcher = Dispatcher(desk)

        async def sent() -> bool:
            await dispatcher.run_once()
            return (await message_row(desk, mid))["delivery"] == "sent"

        await until(sent, timeout=15)
        assert len(handler.received) == 2
        from email import message_from_bytes, policy

        ids = {message_from_bytes(raw, policy=policy.default)["Message-ID"] for raw in handler.received}
        assert ids == {(await message_row(desk, mid))["external_id"]}, "the duplicate is the same message"
    finally:
        handler.hang.clear()
        if child is not None and child.poll() is None:
            kill(child)
        controller.stop()
        await desk.db.close()


async def test_two_dispatcher_processes_share_an_outbox_without_doubles(tmp_path: Path) -> None:
    with FakeSMTPServer() as smtp:
        desk = await open_test_desk(tmp_path, smtp.port)
        try:
            _, mids = await queue_replies(desk, 40)
            children = [start_child(tmp_path, smtp.port, lease=30.0) for _ in range(2)]
            for child in children:
                _, err = await asyncio.to_thread(child.communicate, timeout=60)
                assert child.returncode == 0, err.decode()
            received = await smtp.wait_for(40)
            ids = [r.message["Message-ID"] for r in received]
            assert len(ids) == len(set(ids)) == 40, "every reply exactly once"
            marks = ",".join("?" * len(mids))
            states = await desk.db.fetchall(
                f"SELECT DISTINCT delivery FROM messages WHERE id IN ({marks})", mids)
            assert [r[0] for r in states] == ["sent"]
        finally:
            await desk.db.close()
