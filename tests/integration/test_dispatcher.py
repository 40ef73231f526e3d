"""The outbox dispatcher through the real email adapter against an aiosmtpd server (issue 4, Sending)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from omnidesk.outbound.outbox import Dispatcher
from omnidesk.services import services
from omnidesk.store import outbox as store
from omnidesk.timeutil import now_ms
from tests.fakes.smtp_server import FakeSMTPServer
from tests.integration.outbox_env import message_row, open_test_desk, queue_replies


async def until(condition, timeout: float = 10.0, interval: float = 0.02):  # type: ignore[no-untyped-def]
    """Poll an async condition until it is truthy; its value, or AssertionError after `timeout`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await condition()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


@pytest.fixture
def smtp():  # type: ignore[no-untyped-def]
    with FakeSMTPServer() as server:
        yield server


async def test_accepted_reply_is_sent_with_our_message_id(tmp_path: Path, smtp: FakeSMTPServer) -> None:
    desk = await open_test_desk(tmp_path, smtp.port)
    try:
        _, (mid,) = await queue_replies(desk, text="Árvíztűrő tükörfúrógép, 退款 已处理, بازپرداخت انجام شد")
        before = await message_row(desk, mid)
        stats = await Dispatcher(desk).run_once()
        assert (stats.sent, stats.retried, stats.failed) == (1, 0, 0)

        received = await smtp.wait_for(1)
        msg = received[0].message
        row = await message_row(desk, mid)
        assert row["delivery"] == "sent" and row["delivery_error"] is None
        # The Message-ID was generated before sending and stays the message's external id.
        assert msg["Message-ID"] == before["external_id"] == row["external_id"]
        assert received[0].rcpt_tos == ("customer0@example.com",)
        # It answers the customer's message (factories' ids look like <mN@customer.example>).
        assert msg["In-Reply-To"].endswith("@customer.example>")
        assert msg["Subject"] == "Re: Refund 0 [#1]"
        assert "退款 已处理" in msg.get_body(("plain",)).get_content()
        meta = json.loads(row["meta"])
        assert meta["receipt"]["external_id"] == row["external_id"]
        assert "250" in meta["receipt"]["smtp_response"] or "OK" in meta["receipt"]["smtp_response"]
        assert row["first_response_at"] == row["sent_at"]
        out = await store.delivery_of(desk.db, mid)
        assert out is not None and out["state"] == "sent"
        assert out["attempts"] == 1 and out["lease_owner"] is None
    finally:
        await desk.db.close()


async def test_4xx_is_retried_with_backoff_then_sent(tmp_path: Path, smtp: FakeSMTPServer) -> None:
    smtp.set_mode("tempfail", fail_times=2)
    desk = await open_test_desk(tmp_path, smtp.port)
    try:
        _, (mid,) = await queue_replies(desk)
        dispatcher = Dispatcher(desk, backoff_base=0.05)
        first = await dispatcher.run_once()
        assert first.retried == 1 and "451" in first.errors[0]
        row = await store.delivery_of(desk.db, mid)
        assert row is not None and row["state"] == "queued" and row["next_attempt_at"] > row["not_before"]
        assert (await message_row(desk, mid))["delivery_error"].startswith("SMTP server said: 451")

        async def sent() -> bool:
            await dispatcher.run_once()
            return (await message_row(desk, mid))["delivery"] == "sent"

        await until(sent)
        assert smtp.attempts == 3 and len(smtp.messages) == 1
        final = await store.delivery_of(desk.db, mid)
        assert final is not None and final["attempts"] == 3 and final["last_error"] is None
    finally:
        await desk.db.close()


async def test_5xx_fails_with_the_servers_words_and_is_not_retried(tmp_path: Path,
                                                                   smtp: FakeSMTPServer) -> None:
    smtp.set_mode("reject")
    desk = await open_test_desk(tmp_path, smtp.port)
    try:
        _, (mid,) = await queue_replies(desk)
        dispatcher = Dispatcher(desk, backoff_base=0.01)
        stats = await dispatcher.run_once()
        assert stats.failed == 1
        row = await message_row(desk, mid)
        assert row["delivery"] == "failed"
        assert "554 5.7.1 Message rejected: policy violation" in row["delivery_error"]
        assert (await dispatcher.run_once()).sent == 0
        assert smtp.attempts == 1 and smtp.messages == []
        # An agent retries it (services.retry_reply) once the server is fixed: it leaves.
        smtp.set_mode("accept")
        await services.retry_reply(desk, mid)
        assert (await dispatcher.run_once()).sent == 1
        assert (await message_row(desk, mid))["delivery"] == "sent"
    finally:
        await desk.db.close()


async def test_server_down_then_back(tmp_path: Path, smtp: FakeSMTPServer) -> None:
    smtp.down()
    desk = await open_test_desk(tmp_path, smtp.port)
    try:
        _, (mid,) = await queue_replies(desk)
        dispatcher = Dispatcher(desk, backoff_base=0.05, backoff_max=0.2)
        stats = await dispatcher.run_once()
        assert stats.retried == 1
        assert "127.0.0.1" in stats.errors[0], stats.errors  # "SMTP server 127.0.0.1:N unreachable: ..."
        assert (await message_row(desk, mid))["delivery"] == "queued"
        smtp.up()
        stop = asyncio.Event()
        runner = asyncio.create_task(dispatcher.run(stop))
        try:
            await until(lambda: _delivery_is(desk, mid, "sent"))
        finally:
            stop.set()
            await runner
        assert len(smtp.messages) == 1
    finally:
        await desk.db.close()


async def _delivery_is(desk, mid: int, state: str) -> bool:  # type: ignore[no-untyped-def]
    return (await message_row(desk, mid))["delivery"] == state


async def test_two_dispatchers_never_send_the_same_row(tmp_path: Path, smtp: FakeSMTPServer) -> None:
    """Two dispatchers on two connections (as two processes would be) drain one outbox."""
    desk = await open_test_desk(tmp_path, smtp.port)
    other = await open_test_desk(tmp_path, smtp.port)
    try:
        _, mids = await queue_replies(desk, 30)
        a = Dispatcher(desk, batch_size=3)
        b = Dispatcher(other, batch_size=3)
        stats = await asyncio.gather(a.run_once(), b.run_once(), a.run_once(), b.run_once())
        assert sum(s.sent for s in stats) == 30
        assert all(s.sent for s in stats[:2]), "both dispatchers took part"
        received = await smtp.wait_for(30)
        ids = [r.message["Message-ID"] for r in received]
        assert len(ids) == len(set(ids)) == 30
        for mid in mids:
            assert (await message_row(desk, mid))["delivery"] == "sent"
    finally:
        await other.db.close()
        await desk.db.close()


async def test_reply_cancelled_in_the_undo_window_never_leaves(tmp_path: Path, smtp: FakeSMTPServer) -> None:
    desk = await open_test_desk(tmp_path, smtp.port, undo_seconds=0.5)
    try:
        acting, (mid, kept) = await queue_replies(desk, 2)
        dispatcher = Dispatcher(desk)
        assert (await dispatcher.run_once()).sent == 0, "inside the undo window nothing is due"
        await services.cancel_reply(acting, mid)
        row = await store.delivery_of(desk.db, mid)
        assert row is not None
        await until(lambda: _now_past(row["not_before"]))

        async def kept_sent() -> bool:
            await dispatcher.run_once()
            return await _delivery_is(desk, kept, "sent")

        await until(kept_sent)
        assert (await message_row(desk, mid))["delivery"] == "cancelled"
        kept_id = (await message_row(desk, kept))["external_id"]
        assert [r.message["Message-ID"] for r in smtp.messages] == [kept_id]
    finally:
        await desk.db.close()


async def _now_past(ms: int) -> bool:
    return now_ms() > ms


async def test_attempts_are_bounded(tmp_path: Path, smtp: FakeSMTPServer) -> None:
    smtp.set_mode("tempfail", fail_times=100)
    desk = await open_test_desk(tmp_path, smtp.port)
    try:
        _, (mid,) = await queue_replies(desk)
        dispatcher = Dispatcher(desk, backoff_base=0.001, max_attempts=3)

        async def failed() -> bool:
            await dispatcher.run_once()
            return await _delivery_is(desk, mid, "failed")

        await until(failed)
        row = await message_row(desk, mid)
        assert row["delivery_error"].startswith("gave up after 3 attempts: SMTP server said: 451")
        assert smtp.attempts == 3
    finally:
        await desk.db.close()
