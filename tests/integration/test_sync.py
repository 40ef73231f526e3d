"""The sync daemon (omnidesk.services.sync): channels, heartbeats, failing channels, timers, SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from omnidesk.errors import UserError
from omnidesk.services import services
from omnidesk.services.sync import daemon_running, run_sync
from omnidesk.store.channels import channel_health, get_channel, record_heartbeat
from omnidesk.timeutil import now_ms
from tests.fakes.smtp_server import FakeSMTPServer
from tests.integration.sync_env import (
    broken_imap_channel,
    config_toml,
    fill_maildir,
    maildir_channel,
    open_desk_with,
)
from tests.integration.test_dispatcher import until
from tests.unit import factories

REPO = Path(__file__).resolve().parents[2]


async def count(desk, sql: str, *args) -> int:  # type: ignore[no-untyped-def]
    row = await desk.db.fetchone(sql, args)
    return int(row[0])


async def test_once_ingests_a_maildir_and_records_health(tmp_path: Path) -> None:
    ids = fill_maildir(tmp_path / "maildir", 40)
    desk = await open_desk_with(tmp_path, maildir_channel("support", tmp_path / "maildir"))
    try:
        report = await run_sync(desk, once=True, stop=asyncio.Event())
        assert report.ok and report.channels["support"].imported == 40
        assert await count(desk, "SELECT count(*) FROM messages WHERE direction = 'in'") == 40
        stored = {r[0] for r in await desk.db.fetchall("SELECT external_id FROM messages")}
        assert stored == set(ids)
        (health,) = await channel_health(desk.db)
        assert health.last_success_at and health.heartbeat_at and not health.failing
        assert health.runner == f"{socket.gethostname()}:{os.getpid()}"
        # Run again: nothing new, nothing doubled.
        again = await run_sync(desk, once=True, stop=asyncio.Event())
        assert again.channels["support"].imported == 0
        assert await count(desk, "SELECT count(*) FROM messages") == 40
    finally:
        await desk.db.close()


async def test_a_failing_imap_channel_is_reported_while_the_maildir_ingests(tmp_path: Path) -> None:
    """IMAP to a closed port: no reconnect rounds, the error is recorded within seconds."""
    fill_maildir(tmp_path / "maildir", 5)
    desk = await open_desk_with(tmp_path, maildir_channel("support", tmp_path / "maildir"),
                                broken_imap_channel())
    try:
        # Bounded well below the 22-27 s the adapter's reconnect rounds used to take.
        report = await asyncio.wait_for(run_sync(desk, once=True, stop=asyncio.Event()), 8)
        assert report.channels["support"].imported == 5 and report.channels["support"].last_error is None
        assert "connection refused" in (report.channels["imap"].last_error or "") and not report.ok
        health = {h.name: h for h in await channel_health(desk.db)}
        assert health["imap"].failing and "127.0.0.1" in (health["imap"].last_error or "")
        assert health["imap"].heartbeat_at and not health["support"].failing
        assert await count(desk, "SELECT count(*) FROM messages") == 5
    finally:
        await desk.db.close()


async def test_an_unresolvable_imap_host_fails_the_pass_at_once(tmp_path: Path) -> None:
    # RFC 6761: names under .invalid never resolve; resolvers answer that without asking anyone.
    channel = broken_imap_channel()
    channel = replace(channel, options={**channel.options, "imap_host": "imap.omnidesk-test.invalid"})
    desk = await open_desk_with(tmp_path, channel)
    try:
        report = await asyncio.wait_for(run_sync(desk, once=True, stop=asyncio.Event()), 8)
        error = report.channels["imap"].last_error or ""
        assert "imap.omnidesk-test.invalid:" in error and "does not resolve" in error, error
        assert report.channels["imap"].errors == 1
    finally:
        await desk.db.close()


async def test_the_daemon_retries_a_refused_channel_and_says_so(tmp_path: Path) -> None:
    desk = await open_desk_with(tmp_path, broken_imap_channel())
    try:
        stop = asyncio.Event()
        task = asyncio.create_task(run_sync(desk, once=False, stop=stop, backoff_base=0.05, backoff_max=0.2))
        try:
            async def failed_twice() -> str | None:
                errors = [h.last_error or "" for h in await channel_health(desk.db) if h.failing]
                return next((e for e in errors if "after failure 2: " in e), None)

            error = await until(failed_twice)
            assert "connection refused" in error and "retrying in" in error
        finally:
            stop.set()
            await asyncio.wait_for(task, 5)
    finally:
        await desk.db.close()


def test_sync_once_names_the_unreachable_server_within_seconds(tmp_path: Path) -> None:
    fill_maildir(tmp_path / "maildir", 1)
    port = broken_imap_channel().options["imap_port"]
    extra = (f'\n[channels.imap]\nkind = "email"\naddress = "help@desk.test"\nimap_host = "127.0.0.1"\n'
             f'imap_port = {port}\nimap_tls = "none"\nusername = "help"\npassword = "x"\n')
    config = config_toml(tmp_path, tmp_path / "maildir", extra_channels=extra)
    # RES_OPTIONS bounds the resolver in case the machine has one that is slow to answer.
    done = subprocess.run([sys.executable, "-m", "omnidesk", "--config", str(config), "sync", "--once"],
                          cwd=REPO, env={**_env(), "RES_OPTIONS": "timeout:1 attempts:1"},
                          capture_output=True, timeout=20)
    err = done.stderr.decode()
    assert done.returncode == 1, err
    assert f"imap: 0 new, 0 duplicate(s), 0 quarantined; error: TransientError: IMAP: cannot connect to " \
           f"127.0.0.1:{port}: connection refused" in err
    assert "support: 1 new" in err


async def test_as_a_daemon_a_failing_channel_backs_off_while_the_others_keep_working(tmp_path: Path) -> None:
    fill_maildir(tmp_path / "maildir", 5)
    unmounted = maildir_channel("archive", tmp_path / "not-mounted")  # fails on every poll, at once
    desk = await open_desk_with(tmp_path, maildir_channel("support", tmp_path / "maildir"), unmounted)
    try:
        stop = asyncio.Event()
        task = asyncio.create_task(run_sync(desk, once=False, stop=stop, backoff_base=0.05, backoff_max=0.2))
        try:
            async def first_five() -> bool:
                return await count(desk, "SELECT count(*) FROM messages") == 5

            await until(first_five)
            errors_at: list[int] = []

            async def failing_repeatedly() -> bool:
                h = {x.name: x for x in await channel_health(desk.db)}["archive"]
                if h.last_error_at and h.last_error_at not in errors_at:
                    errors_at.append(h.last_error_at)
                return len(errors_at) >= 3

            await until(failing_repeatedly)
            fill_maildir(tmp_path / "maildir", 3, start=100)

            async def all_eight() -> bool:
                return await count(desk, "SELECT count(*) FROM messages") == 8

            await until(all_eight)
            health = {h.name: h for h in await channel_health(desk.db)}
            assert health["archive"].failing and "is not a Maildir" in (health["archive"].last_error or "")
            assert not health["support"].failing
        finally:
            stop.set()
            result = await asyncio.wait_for(task, 5)
        assert result.channels["archive"].errors >= 3 and result.channels["support"].imported == 8
    finally:
        await desk.db.close()


async def test_the_daemon_sends_due_replies_through_the_maildir_channel(tmp_path: Path) -> None:
    fill_maildir(tmp_path / "maildir", 1)
    with FakeSMTPServer() as smtp:
        channel = maildir_channel("support", tmp_path / "maildir", smtp_port=smtp.port)
        desk = await open_desk_with(tmp_path, channel)
        try:
            await run_sync(desk, once=True, stop=asyncio.Event())
            cid = await count(desk, "SELECT id FROM conversations")
            alice = await factories.agent(desk, "alice")
            result = await services.queue_reply(replace(desk, agent=alice), cid,
                                                "Köszönjük, a csere holnap indul.")
            report = await run_sync(desk, once=True, stop=asyncio.Event())
            assert report.outbox.sent == 1
            (received,) = await smtp.wait_for(1)
            row = await desk.db.fetchone("SELECT external_id, delivery FROM messages WHERE id = ?",
                                         (result.message_id,))
            assert row["delivery"] == "sent" and received.message["Message-ID"] == row["external_id"]
            assert received.message["In-Reply-To"] == "<m0@posta.example>"
        finally:
            await desk.db.close()


async def test_snoozed_conversations_wake_with_an_event(tmp_path: Path) -> None:
    desk = await open_desk_with(tmp_path)
    try:
        channel = await factories.email_channel(desk)
        alice = await factories.agent(desk, "alice")
        acting = replace(desk, agent=alice)
        soon = await factories.thread(desk, channel, subject="wake soon", address="a@example.com")
        later = await factories.thread(desk, channel, subject="wake later", address="b@example.com")
        await services.set_status(acting, [soon.conversation_id], "snoozed", snooze_until=now_ms() + 300)
        await services.set_status(acting, [later.conversation_id], "snoozed",
                                  snooze_until=now_ms() + 3_600_000)

        stop = asyncio.Event()
        task = asyncio.create_task(run_sync(desk, once=False, stop=stop))
        try:
            async def woken() -> bool:
                return await count(desk, "SELECT count(*) FROM conversations WHERE status = 'open'") == 1

            await until(woken, timeout=5)
        finally:
            stop.set()
            report = await asyncio.wait_for(task, 10)
        assert report.woken == [soon.conversation_id]
        status = await desk.db.fetchone("SELECT status, snoozed_until FROM conversations WHERE id = ?",
                                        (later.conversation_id,))
        assert status["status"] == "snoozed"
        event = await desk.db.fetchone(
            "SELECT agent_id, before, after FROM events WHERE conversation_id = ? AND kind = 'status'"
            " ORDER BY id DESC LIMIT 1", (soon.conversation_id,))
        assert event["agent_id"] is None
        assert json.loads(event["after"]) == {"status": "open", "reason": "snooze ended"}
    finally:
        await desk.db.close()


async def test_daemon_running_sees_live_heartbeats_of_other_processes(tmp_path: Path) -> None:
    desk = await open_desk_with(tmp_path)
    try:
        assert not await daemon_running(desk)
        channel = await factories.email_channel(desk)
        me = f"{socket.gethostname()}:{os.getpid()}"
        await record_heartbeat(desk.db, channel.id, me)
        assert not await daemon_running(desk), "our own heartbeat is not another daemon"
        await record_heartbeat(desk.db, channel.id, "another-host:4242")
        assert await daemon_running(desk)
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        await record_heartbeat(desk.db, channel.id, f"{socket.gethostname()}:{dead.pid}")
        assert not await daemon_running(desk), "a crashed daemon on this host does not count"
    finally:
        await desk.db.close()


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}


async def test_sigterm_mid_run_exits_cleanly_and_a_rerun_loses_and_doubles_nothing(tmp_path: Path) -> None:
    total = 1500
    ids = fill_maildir(tmp_path / "maildir", total)
    config = config_toml(tmp_path, tmp_path / "maildir")
    proc = subprocess.Popen([sys.executable, "-m", "omnidesk", "--config", str(config), "sync"],
                            cwd=REPO, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    desk = await open_desk_with(tmp_path)
    try:
        async def started() -> bool:
            try:
                return await count(desk, "SELECT count(*) FROM messages") > 0
            except Exception:
                return False

        await until(started, timeout=60)
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.to_thread(proc.communicate, timeout=30)
        assert proc.returncode == 0, err.decode()
        partial = await count(desk, "SELECT count(*) FROM messages")
        assert 0 < partial <= total

        rerun = subprocess.run([sys.executable, "-m", "omnidesk", "--config", str(config), "sync", "--once"],
                               cwd=REPO, env=_env(), capture_output=True, timeout=120)
        assert rerun.returncode == 0, rerun.stderr.decode()
        assert await count(desk, "SELECT count(*) FROM messages") == total
        assert await count(desk, "SELECT count(DISTINCT external_id) FROM messages") == total
        stored = {r[0] for r in await desk.db.fetchall("SELECT external_id FROM messages")}
        assert stored == set(ids)

        status = subprocess.run(
            [sys.executable, "-m", "omnidesk", "--config", str(config), "sync", "--status", "--json"],
            cwd=REPO, env=_env(), capture_output=True, timeout=60)
        assert status.returncode == 0, status.stderr.decode()
        (row,) = json.loads(status.stdout)
        assert row["channel"] == "support" and row["last_success_at"] and row["failing"] is False
        channel = await get_channel(desk.db, "support")
        assert channel is not None and channel.kind == "maildir"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        await desk.db.close()


async def test_channel_selection_and_unknown_names(tmp_path: Path) -> None:
    fill_maildir(tmp_path / "a", 2, prefix="a")
    fill_maildir(tmp_path / "b", 3, prefix="b")
    desk = await open_desk_with(tmp_path, maildir_channel("a", tmp_path / "a"),
                                maildir_channel("b", tmp_path / "b"))
    try:
        report = await run_sync(desk, once=True, stop=asyncio.Event(), channels=["b"])
        assert list(report.channels) == ["b"] and report.channels["b"].imported == 3
        assert await count(desk, "SELECT count(*) FROM messages") == 3
        with pytest.raises(UserError, match=r"no channel named 'nope'.*configured: a, b"):
            await run_sync(desk, once=True, stop=asyncio.Event(), channels=["nope"])
    finally:
        await desk.db.close()


async def test_a_quiet_daemon_does_not_write_on_every_poll(tmp_path: Path) -> None:
    """TUIs refresh when PRAGMA data_version moves: an idle sync must not move it every poll."""
    from omnidesk.store.db import Database

    fill_maildir(tmp_path / "maildir", 1)
    channel = maildir_channel("support", tmp_path / "maildir", poll_seconds=0.05)
    desk = await open_desk_with(tmp_path, channel)
    watcher = await Database.open(tmp_path / "data" / "omnidesk.db")
    stop = asyncio.Event()
    task = asyncio.create_task(run_sync(desk, once=False, stop=stop))
    try:
        async def ingested() -> bool:
            return await count(desk, "SELECT count(*) FROM messages") == 1

        await until(ingested)
        await until(lambda: _settled(watcher))  # let the first heartbeat/success writes land
        versions = set()
        loop = asyncio.get_running_loop()
        end = loop.time() + 2.0  # some 40 polls of the Maildir
        while loop.time() < end:
            versions.add(await watcher.data_version())
            await asyncio.sleep(0.02)
        assert len(versions) <= 2, f"{len(versions) - 1} commits in 2 s of idling"
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await watcher.close()
        await desk.db.close()


async def _settled(db) -> bool:  # type: ignore[no-untyped-def]
    first = await db.data_version()
    await asyncio.sleep(0.3)
    return await db.data_version() == first


def test_sync_once_exits_1_and_names_the_failing_channel(tmp_path: Path) -> None:
    fill_maildir(tmp_path / "maildir", 2)
    extra = f'\n[channels.archive]\nkind = "maildir"\naddress = "a@desk.test"\npath = "{tmp_path / "gone"}"\n'
    config = config_toml(tmp_path, tmp_path / "maildir", extra_channels=extra)
    done = subprocess.run([sys.executable, "-m", "omnidesk", "--config", str(config), "sync", "--once"],
                          cwd=REPO, env=_env(), capture_output=True, timeout=120)
    assert done.returncode == 1
    err = done.stderr.decode()
    assert "support: 2 new" in err and "archive: 0 new" in err and "is not a Maildir" in err


async def test_sync_once_exits_3_when_a_reply_failed_permanently(tmp_path: Path) -> None:
    fill_maildir(tmp_path / "maildir", 1)
    with FakeSMTPServer() as smtp:
        smtp.set_mode("reject")
        outbound = f'smtp_host = "127.0.0.1"\nsmtp_port = {smtp.port}\nsmtp_tls = "none"\n'
        config = config_toml(tmp_path, tmp_path / "maildir", extra_channels=outbound)
        command = [sys.executable, "-m", "omnidesk", "--config", str(config), "sync", "--once"]
        first = await asyncio.to_thread(subprocess.run, command, cwd=REPO, env=_env(), capture_output=True,
                                        timeout=120)
        assert first.returncode == 0, first.stderr.decode()
        desk = await open_desk_with(tmp_path, maildir_channel("support", tmp_path / "maildir",
                                                              smtp_port=smtp.port))
        try:
            cid = await count(desk, "SELECT id FROM conversations")
            alice = await factories.agent(desk, "alice")
            await services.queue_reply(replace(desk, agent=alice), cid, "Повернемо кошти.")
        finally:
            await desk.db.close()
        done = await asyncio.to_thread(subprocess.run, command, cwd=REPO, env=_env(), capture_output=True,
                                       timeout=120)
        assert done.returncode == 3, done.stderr.decode()
        assert "outbox: 0 sent, 0 to retry, 1 failed" in done.stderr.decode()
        again = await asyncio.to_thread(subprocess.run, command, cwd=REPO, env=_env(), capture_output=True,
                                        timeout=120)
        assert again.returncode == 0, "a failure is reported once, by the pass that met it"


async def test_a_reply_queued_in_process_leaves_without_waiting_for_the_poll(tmp_path: Path) -> None:
    """As in the TUI: the sync runs on its own connection, the reply is queued on the desk's."""
    from omnidesk.outbound.outbox import Dispatcher
    from omnidesk.store.db import Database

    fill_maildir(tmp_path / "maildir", 1)
    with FakeSMTPServer() as smtp:
        desk = await open_desk_with(tmp_path, maildir_channel("support", tmp_path / "maildir",
                                                              smtp_port=smtp.port))
        sync_db = await Database.open(desk.db.path)
        sync_desk = replace(desk, db=sync_db)
        stop = asyncio.Event()
        # A poll so slow that only the wake-up can explain a prompt send.
        dispatcher = Dispatcher(sync_desk, poll_seconds=120)
        task = asyncio.create_task(run_sync(sync_desk, once=False, stop=stop, dispatcher=dispatcher))
        try:
            async def ingested() -> int:
                return await count(desk, "SELECT count(*) FROM conversations")

            await until(ingested)
            cid = await count(desk, "SELECT id FROM conversations")
            alice = await factories.agent(desk, "alice")
            for text in ("Első válasz.", "第二个回复。", "پاسخ سوم."):
                result = await services.queue_reply(replace(desk, agent=alice), cid, text)

                async def sent(mid: int = result.message_id) -> bool:
                    row = await desk.db.fetchone("SELECT delivery FROM messages WHERE id = ?", (mid,))
                    return row["delivery"] == "sent"

                await until(sent, timeout=10)
            assert len(await smtp.wait_for(3)) == 3
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)
            await dispatcher.close()
            await sync_db.close()
            await desk.db.close()
