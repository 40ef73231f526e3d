"""IMAP sync parsed in the importer's worker processes: several folders, then kill -9 mid-sync."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from pathlib import Path

import pytest

from adapters.email.channel import EmailAdapter
from omnidesk.inbound.importer import make_pool
from omnidesk.inbound.pooled_ingest import ingest_undecoded
from omnidesk.services.sync import run_sync
from omnidesk.settings import ChannelSettings
from omnidesk.store.channels import ensure_channel, get_cursor
from tests.integration.conftest import email_options, secret_for
from tests.integration.dovecot import Dovecot
from tests.integration.sync_env import open_desk_with

pytestmark = pytest.mark.dovecot

REPO = Path(__file__).resolve().parents[2]
#: Folder -> messages in it: an ASCII, an accented and a Chinese mailbox name.
FOLDERS = {"INBOX": 450, "Ügyfelek": 300, "客户": 250}
SUBJECTS = ("Sérült csomag", "订单退款问题", "بازپرداخت سفارش", "Refund please")


def mail(folder: str, i: int) -> bytes:
    tag = f"{list(FOLDERS).index(folder)}-{i}"
    return (
        f"From: Ügyfél {i % 23} <c{i % 23}@example.com>\r\nTo: support@desk.test\r\n"
        f"Subject: {SUBJECTS[i % 4]} {tag}\r\nMessage-ID: <p{tag}@example.com>\r\n"
        f"Date: Mon, 23 Nov 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        f"Üzenet {tag}: a csomag sérült. 我的订单 {tag}.\r\n"
    ).encode()


def seed(server: Dovecot) -> set[str]:
    ids = set()
    for folder, count in FOLDERS.items():
        server.deliver_many([mail(folder, i) for i in range(count)], folder=folder)
        ids |= {f"<p{list(FOLDERS).index(folder)}-{i}@example.com>" for i in range(count)}
    return ids


def check_store(db: Path, expected: set[str], cursor: str | None, server: Dovecot) -> None:
    """Every message exactly once, indexed; the cursor at each folder's last UID."""
    with sqlite3.connect(db) as c:
        ids = [r[0] for r in c.execute("SELECT external_id FROM messages")]
        assert len(ids) == len(set(ids)) == len(expected)  # nothing doubled ...
        assert set(ids) == expected  # ... nothing lost
        assert c.execute("SELECT count(*) FROM message_fts").fetchone()[0] == len(expected)
        folders = {json.loads(meta)["imap"]["folder"] for (meta,) in c.execute("SELECT meta FROM messages")}
        assert folders == set(FOLDERS)
    state = json.loads(cursor or "{}")["folders"]
    assert {name: s["last_uid"] for name, s in state.items()} == FOLDERS  # UIDs run 1..count
    assert {name: s["uidvalidity"] for name, s in state.items()} == {
        name: server.uidvalidity(name) for name in FOLDERS}


@pytest.fixture
def pool() -> Iterator[ProcessPoolExecutor]:
    executor = make_pool(2)
    yield executor
    executor.shutdown(wait=True, cancel_futures=True)


async def test_multi_folder_initial_sync_in_the_pool_stores_each_message_once(
    dovecot: Dovecot, pool: ProcessPoolExecutor, tmp_path: Path
) -> None:
    expected = seed(dovecot)
    options = email_options(dovecot, folders=list(FOLDERS), batch_size=60)
    settings = ChannelSettings(name="support", kind="email", address="support@desk.test", options=options)
    desk = await open_desk_with(tmp_path, settings)
    try:
        report = await run_sync(desk, once=True, stop=asyncio.Event(), dispatch=False, executor=pool)
        channel_report = report.channels["support"]
        assert channel_report.last_error is None
        assert channel_report.imported == len(expected)
        # 17 batches of at most 60 from the adapter, written in far fewer transactions.
        assert channel_report.batches < 17
        channel = await ensure_channel(desk.db, "support", "email", "support@desk.test")
        cursor = await get_cursor(desk.db, channel.id)
        check_store(tmp_path / "data" / "omnidesk.db", expected, cursor, dovecot)

        # The next pass is incremental: only the new message, in its folder.
        dovecot.deliver(mail("客户", 250), folder="客户")
        again = await run_sync(desk, once=True, stop=asyncio.Event(), dispatch=False, executor=pool)
        assert (again.channels["support"].imported, again.channels["support"].duplicates) == (1, 0)
        assert json.loads(await get_cursor(desk.db, channel.id) or "")["folders"]["客户"]["last_uid"] == 251
    finally:
        await desk.db.close()


WORKER = r'''
import asyncio, json, sys
from pathlib import Path
from adapters.email.channel import EmailAdapter
from omnidesk.desk import Desk
from omnidesk.inbound.importer import make_pool
from omnidesk.inbound.pooled_ingest import ingest_undecoded
from omnidesk.settings import Settings
from omnidesk.store.channels import ensure_channel, get_cursor
from omnidesk.store.db import Database

data, options = Path(sys.argv[1]), json.loads(sys.argv[2])
pool = make_pool(2)  # forked before the database thread exists

async def main():
    db = await Database.open(data / "omnidesk.db")
    try:
        desk = Desk(db=db, settings=Settings(), data_dir=data)
        channel = await ensure_channel(db, "support", "email", "support@desk.test")
        adapter = EmailAdapter("support", options, lambda name: str(options[name]))
        batches = adapter.poll_undecoded(await get_cursor(db, channel.id))
        await ingest_undecoded(desk, channel, batches, pool, batch_size=150)
        await adapter.close()
    finally:
        await db.close()

asyncio.run(main())
pool.shutdown()
'''


def _count(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as c:
            return int(c.execute("SELECT count(*) FROM messages").fetchone()[0])
    except sqlite3.OperationalError:
        return 0  # not created or not migrated yet


@pytest.mark.slow
def test_kill_9_mid_parallel_sync_loses_and_doubles_nothing(dovecot: Dovecot, tmp_path: Path) -> None:
    expected = seed(dovecot)
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    data = tmp_path / "data"
    db = data / "omnidesk.db"
    options = json.dumps(email_options(dovecot, folders=list(FOLDERS), batch_size=50))
    env = {**os.environ, "PYTHONPATH": str(REPO)}

    def start() -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, str(script), str(data), options], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env, cwd=REPO, start_new_session=True)

    # Kill the whole process group (parent and parser workers) at growing points.
    for threshold in (150, 450, 750):
        proc = start()
        deadline = time.monotonic() + 120
        while _count(db) < threshold and proc.poll() is None:
            assert time.monotonic() < deadline, "the sync made no progress"
            time.sleep(0.01)
        assert proc.poll() is None, f"the sync ended early: {proc.communicate()[1]}"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        assert 0 < _count(db) < len(expected)

    proc = start()
    _out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    with sqlite3.connect(db) as c:
        cursor = c.execute("SELECT value FROM cursors").fetchone()[0]
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    check_store(db, expected, cursor, dovecot)


async def test_move_to_through_the_pool_moves_only_committed_mail(
    dovecot: Dovecot, pool: ProcessPoolExecutor, tmp_path: Path
) -> None:
    # move_to acts when the next batch is asked for, so each batch must commit first.
    dovecot.deliver_many([mail("INBOX", i) for i in range(120)])
    options = email_options(dovecot, batch_size=25, move_to="Archive")
    settings = ChannelSettings(name="support", kind="email", address="support@desk.test", options=options)
    desk = await open_desk_with(tmp_path, settings)
    try:
        report = await run_sync(desk, once=True, stop=asyncio.Event(), dispatch=False, executor=pool)
        assert report.channels["support"].imported == 120
        assert report.channels["support"].batches == 5  # one transaction per batch
        assert (len(dovecot.message_files("INBOX")), len(dovecot.message_files("Archive"))) == (0, 120)
        with sqlite3.connect(tmp_path / "data" / "omnidesk.db") as c:
            assert c.execute("SELECT count(DISTINCT external_id) FROM messages").fetchone()[0] == 120
    finally:
        await desk.db.close()


class _CountingPool(Executor):
    """The real pool, counting the undecoded bytes submitted and not yet decoded."""

    def __init__(self, inner: Executor) -> None:
        self.inner = inner
        self.lock = threading.Lock()
        self.now = self.peak = 0

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
        size = sum(len(data) for data, _ in args[0].undecoded)
        with self.lock:
            self.now += size
            self.peak = max(self.peak, self.now)
        future = self.inner.submit(fn, *args, **kwargs)
        future.add_done_callback(lambda _: self._done(size))
        return future

    def _done(self, size: int) -> None:
        with self.lock:
            self.now -= size


async def test_large_mail_is_decoded_a_bounded_amount_at_a_time(
    dovecot: Dovecot, pool: ProcessPoolExecutor, tmp_path: Path
) -> None:
    body = "Hosszú levél, 很长的信。 " * 800  # ~24 KB of UTF-8 per message
    dovecot.deliver_many([mail("INBOX", i).replace(b"\r\n\r\n", f"\r\n\r\n{body}".encode(), 1)
                          for i in range(300)])
    counting = _CountingPool(pool)
    options = email_options(dovecot, batch_size=20)
    adapter = EmailAdapter("support", options, secret_for(options))
    desk = await open_desk_with(tmp_path)
    try:
        channel = await ensure_channel(desk.db, "support", "email", "support@desk.test")
        result = await ingest_undecoded(desk, channel, adapter.poll_undecoded(None), counting,
                                        max_bytes=1_000_000)
        assert result.imported == 300
        batch = 20 * (len(body.encode()) + 600)
        assert 0 < counting.peak <= 1_000_000 + batch  # 7 MB in all, never more than the cap + a batch
        with sqlite3.connect(tmp_path / "data" / "omnidesk.db") as c:
            assert c.execute("SELECT count(*) FROM message_fts").fetchone()[0] == 300
    finally:
        await adapter.close()
        await desk.db.close()
