"""The `maildir` channel: new files are picked up, the cursor is exact, a crash loses/doubles nothing."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from adapters.base import ConfigurationError, Outbound
from adapters.email.maildir import SETTLE_NS, MaildirAdapter, MaildirCursor, MaildirEntry, is_maildir, scan
from omnidesk.desk import Desk
from omnidesk.inbound.ingest import ingest_batch
from omnidesk.store.channels import ensure_channel, get_cursor

REPO = Path(__file__).resolve().parents[2]
_counter = 0


def deliver(maildir: Path, subject: str, *, msgid: str | None = None) -> Path:
    """Deliver like an MTA: write into tmp/, then rename into new/."""
    global _counter
    _counter += 1
    name = f"{time.time_ns()}.P{os.getpid()}Q{_counter}.test"
    msgid = msgid or f"<{name}@example.com>"
    raw = (f"From: Ann <ann@example.com>\r\nTo: support@example.com\r\nSubject: {subject}\r\n"
           f"Message-ID: {msgid}\r\nDate: Mon, 2 Nov 2026 10:00:00 +0000\r\n\r\n{subject} body\r\n").encode()
    tmp = maildir / "tmp" / name
    tmp.write_bytes(raw)
    target = maildir / "new" / name
    os.rename(tmp, target)
    return target


def make_maildir(path: Path) -> Path:
    for sub in ("tmp", "new", "cur"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    return path


def no_secret(name: str) -> str:
    raise KeyError(name)


async def sync_once(desk: Desk, adapter: MaildirAdapter, channel) -> int:  # type: ignore[no-untyped-def]
    """One poll of the adapter into the desk, as the sync daemon does it. Returns records seen."""
    seen = 0
    async for batch in adapter.poll(await get_cursor(desk.db, channel.id)):
        seen += len(batch.records)
        await ingest_batch(desk, channel, batch)
    return seen


async def messages(desk: Desk) -> list[str]:
    rows = await desk.db.fetchall("SELECT subject FROM messages ORDER BY id")
    return [r[0] for r in rows]


async def test_new_files_are_picked_up_once(desk: Desk, tmp_path: Path) -> None:
    maildir = make_maildir(tmp_path / "Maildir")
    options = {"path": str(maildir), "poll_seconds": 0.2, "batch_size": 2}
    adapter = MaildirAdapter("support", options, no_secret)
    channel = await ensure_channel(desk.db, "support", "maildir", "support@example.com")
    assert await sync_once(desk, adapter, channel) == 0

    for subject in ("első", "第二", "سوم"):
        deliver(maildir, subject)
    assert await sync_once(desk, adapter, channel) == 3
    assert await messages(desk) == ["első", "第二", "سوم"]

    # Nothing new: recent files stay above the watermark but are not read again.
    assert await sync_once(desk, adapter, channel) == 0

    deliver(maildir, "negyedik")
    assert await sync_once(desk, adapter, channel) == 1
    assert await messages(desk) == ["első", "第二", "سوم", "negyedik"]

    # A mail client moves a message to cur/ and flags it: read again, dropped as a duplicate.
    first = sorted((maildir / "new").iterdir())[0]
    os.rename(first, maildir / "cur" / (first.name + ":2,S"))
    await sync_once(desk, adapter, channel)
    assert len(await messages(desk)) == 4
    await adapter.close()


def test_scan_orders_by_mtime_then_by_the_numbers_in_the_name(tmp_path: Path) -> None:
    """Delivery order: mtime first; files sharing an mtime by seconds, microseconds and counter as numbers."""
    maildir = make_maildir(tmp_path / "Maildir")
    placed = {  # name -> mtime (s): the names sort differently as text
        "1700000300.M5P1Q1.host": 300,
        "1700000100.M5P1Q1.host": 100,
        "999999999.M1P1Q9.host:2,S": 200,  # in cur/, flags in the name
        "1700000000.M20P1Q1.host": 200,
        "1700000000.M100P1Q1.host": 200,
        "1700000000.M100P1Q10.host": 200,
        "1700000000.M100P1Q9.host": 200,
    }
    for name, mtime in placed.items():
        path = maildir / ("cur" if ":2," in name else "new") / name
        path.write_bytes(b"Subject: x\r\n\r\nx\r\n")
        os.utime(path, ns=(mtime * 10**9, mtime * 10**9))
    (maildir / "new" / ".hidden").write_bytes(b"not mail")
    assert [e.name for e in scan(maildir)] == [
        "1700000100.M5P1Q1.host",
        "999999999.M1P1Q9.host",
        "1700000000.M20P1Q1.host",
        "1700000000.M100P1Q1.host",
        "1700000000.M100P1Q9.host",
        "1700000000.M100P1Q10.host",
        "1700000300.M5P1Q1.host",
    ]


async def test_wait_for_changes_wakes_on_delivery(tmp_path: Path) -> None:
    maildir = make_maildir(tmp_path / "Maildir")
    adapter = MaildirAdapter("support", {"path": str(maildir), "poll_seconds": 30}, no_secret)
    waiter = asyncio.create_task(adapter.wait_for_changes(30))
    await asyncio.sleep(0)
    deliver(maildir, "wake up")
    started = time.monotonic()
    await asyncio.wait_for(waiter, timeout=10)
    assert time.monotonic() - started < 5
    quiet = time.monotonic()
    await adapter.wait_for_changes(0.3)  # nothing changes: returns after the timeout
    assert 0.25 <= time.monotonic() - quiet < 5


def test_cursor_watermark_covers_old_files_and_remembers_recent_ones(tmp_path: Path) -> None:
    now = time.time_ns()
    old = MaildirEntry(tmp_path / "a", "a", now - 10 * SETTLE_NS, 0)
    recent = MaildirEntry(tmp_path / "b", "b", now - SETTLE_NS // 2, 0)
    cursor = MaildirCursor().advance([old, recent], [], now)
    assert cursor.before_ns == now - SETTLE_NS
    assert cursor.recent == {"b": recent.ctime_ns}  # "a" is covered by the watermark
    assert cursor.pending([old, recent]) == []
    moved = MaildirEntry(tmp_path / "b2", "b", now, 0)  # same name, new ctime: read again
    assert cursor.pending([old, moved]) == [moved]
    restored = MaildirCursor.load(cursor.dump())
    assert (restored.before_ns, restored.recent) == (cursor.before_ns, cursor.recent)
    assert MaildirCursor.load("not json").before_ns == 0


def test_cursor_never_passes_unread_files(tmp_path: Path) -> None:
    now = time.time_ns()
    done = [MaildirEntry(tmp_path / "a", "a", now - 100 * SETTLE_NS, 0)]
    remaining = [MaildirEntry(tmp_path / "b", "b", now - 50 * SETTLE_NS, 0)]
    cursor = MaildirCursor().advance(done, remaining, now)
    assert cursor.before_ns <= remaining[0].ctime_ns
    assert cursor.pending(done + remaining) == remaining


async def test_configuration_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="path"):
        MaildirAdapter("x", {}, no_secret)
    adapter = MaildirAdapter("x", {"path": str(tmp_path / "missing")}, no_secret)
    with pytest.raises(ConfigurationError, match="not a Maildir"):
        async for _ in adapter.poll(None):
            pass
    with pytest.raises(ConfigurationError, match="smtp_host"):
        await adapter.send(Outbound(message_ref="<x@y>", to=(), text="hi"))
    assert is_maildir(make_maildir(tmp_path / "ok"))


# -- crash half-way --------------------------------------------------------------------

WORKER = """
import asyncio, sys
from pathlib import Path
from adapters.email.maildir import MaildirAdapter
from omnidesk.desk import Desk
from omnidesk.inbound.ingest import ingest_batch
from omnidesk.settings import Settings
from omnidesk.store.channels import ensure_channel, get_cursor
from omnidesk.store.db import Database

async def main(data: Path, maildir: Path) -> None:
    db = await Database.open(data / "omnidesk.db")
    desk = Desk(db=db, settings=Settings(), data_dir=data)
    channel = await ensure_channel(db, "support", "maildir", "support@example.com")
    adapter = MaildirAdapter("support", {"path": str(maildir), "batch_size": 10}, lambda n: "")
    async for batch in adapter.poll(await get_cursor(db, channel.id)):
        await ingest_batch(desk, channel, batch)
        print("batch", len(batch.records), flush=True)
        await asyncio.sleep(0.05)  # give the test a moment to kill us between batches
    print("done", flush=True)
    await db.close()

asyncio.run(main(Path(sys.argv[1]), Path(sys.argv[2])))
"""


def test_kill_mid_sync_then_resume_loses_and_doubles_nothing(tmp_path: Path) -> None:
    maildir = make_maildir(tmp_path / "Maildir")
    total = 120
    for i in range(total):
        deliver(maildir, f"message {i}")
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    data = tmp_path / "data"
    proc = subprocess.Popen([sys.executable, str(script), str(data), str(maildir)], env=env,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    batches = 0
    for line in proc.stdout:
        if line.startswith("batch"):
            batches += 1
            if batches == 3:
                proc.send_signal(signal.SIGKILL)  # crash with work half done
                break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL

    for i in range(total, total + 15):  # mail keeps arriving while we are down
        deliver(maildir, f"message {i}")
    done = subprocess.run([sys.executable, str(script), str(data), str(maildir)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "done" in done.stdout
    again = subprocess.run([sys.executable, str(script), str(data), str(maildir)], env=env,
                           capture_output=True, text=True, timeout=120)
    assert "batch" not in again.stdout  # a third run finds nothing new

    import sqlite3

    with sqlite3.connect(data / "omnidesk.db") as conn:
        subjects = [r[0] for r in conn.execute("SELECT subject FROM messages")]
    assert len(subjects) == total + 15
    assert sorted(subjects) == sorted(f"message {i}" for i in range(total + 15))
