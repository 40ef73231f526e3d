"""kill -9 of a process mid-ingest, then a re-run: nothing lost, nothing doubled.

The worker behaves like a channel poller: it reads the stored cursor, re-delivers
the batch before it (adapters may re-send what they are unsure about), and
ingests batch after batch until the source is exhausted.
"""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from omnidesk.store.rawmail import unpack

REPO = Path(__file__).resolve().parents[2]
BATCHES = 40
PER_BATCH = 100

WORKER = r'''
import asyncio, sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from adapters.base import Address, Attachment, Batch, Edit, Inbound
from omnidesk.desk import Desk
from omnidesk.inbound.ingest import ingest_batch
from omnidesk.settings import Settings
from omnidesk.store.channels import ensure_channel, get_cursor
from omnidesk.store.db import Database

BATCHES, PER_BATCH = int(sys.argv[2]), int(sys.argv[3])
T0 = datetime(2026, 11, 1, tzinfo=UTC)

def record(n):
    refs = (f"<m{n - 1}@crash>",) if n % 4 else ()  # threads of four messages
    att = (Attachment(f"f{n}.txt", "text/plain", f"attachment {n}".encode()),) if n % 10 == 0 else ()
    sender = Address("email", f"c{n % 37}@example.com", f"Ügyfél {n}")
    return Inbound(external_id=f"<m{n}@crash>", sender=sender, sent_at=T0 + timedelta(seconds=n),
                   subject=f"退款 {n // 4}", text=f"message {n} ügyfél 退款", thread_refs=refs,
                   raw=f"raw {n}".encode() * 20, attachments=att)

async def main():
    data = Path(sys.argv[1])
    db = await Database.open(data / "omnidesk.db")
    try:
        desk = Desk(db=db, settings=Settings(), data_dir=data)
        channel = await ensure_channel(db, "support", "email", "support@example.com")
        cursor = await get_cursor(db, channel.id)
        start = max(0, int(cursor) - 1) if cursor else 0  # re-deliver the last batch too
        for b in range(start, BATCHES):
            recs = [record(b * PER_BATCH + i) for i in range(PER_BATCH)]
            # Each batch also edits the first message of the one before: the edit lands with the cursor.
            edits = [Edit(f"<m{(b - 1) * PER_BATCH}@crash>", f"edited by batch {b}",
                          T0 + timedelta(days=1, seconds=b))] if b else []
            await ingest_batch(desk, channel, Batch(recs, str(b + 1), updates=edits))
            print("batch", b, flush=True)
    finally:
        await db.close()

asyncio.run(main())
'''


def _count(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        c = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
        try:
            return int(c.execute("SELECT count(*) FROM messages").fetchone()[0])
        finally:
            c.close()
    except sqlite3.OperationalError:
        return 0  # not created or not migrated yet


def _start(script: Path, data: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, str(script), str(data), str(BATCHES), str(PER_BATCH)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)


@pytest.mark.slow
def test_kill_mid_ingest_then_rerun(tmp_path: Path) -> None:
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    data = tmp_path / "data"
    db = data / "omnidesk.db"
    total = BATCHES * PER_BATCH

    # Kill three times at growing points, each time while batches are being written.
    for threshold in (PER_BATCH, 8 * PER_BATCH, 20 * PER_BATCH):
        proc = _start(script, data)
        deadline = time.monotonic() + 120
        while _count(db) < threshold and proc.poll() is None:
            assert time.monotonic() < deadline, "worker made no progress"
            time.sleep(0.02)
        assert proc.poll() is None, f"worker ended early: {proc.communicate()[1]}"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        assert 0 < _count(db) < total

    # The re-run finishes the job.
    proc = _start(script, data)
    _out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err

    c = sqlite3.connect(db)
    try:
        ids = [r[0] for r in c.execute("SELECT external_id FROM messages")]
        assert len(ids) == total  # nothing lost ...
        assert len(set(ids)) == total  # ... nothing doubled
        assert c.execute("SELECT value FROM cursors").fetchone()[0] == str(BATCHES)
        assert c.execute("SELECT count(*) FROM message_fts").fetchone()[0] == total
        # Every edit applied exactly once, re-delivered batches included.
        edited = c.execute("SELECT m.external_id, m.text, count(e.id) FROM messages m"
                           " JOIN message_edits e ON e.message_id = m.id GROUP BY m.id").fetchall()
        assert sorted(edited) == sorted((f"<m{(b - 1) * PER_BATCH}@crash>", f"edited by batch {b}", 1)
                                        for b in range(1, BATCHES))
        # Threads of four stayed together, even across the crash boundaries.
        assert c.execute("SELECT count(*) FROM conversations").fetchone()[0] == total // 4
        assert c.execute("SELECT sum(message_count) FROM conversations").fetchone()[0] == total
        assert c.execute("SELECT count(*) FROM attachments").fetchone()[0] == total // 10
        assert c.execute("SELECT count(*) FROM customers").fetchone()[0] == 37
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert c.execute("PRAGMA foreign_key_check").fetchall() == []
        # Every stored reference points at complete bytes: raw messages in the database ...
        raws = c.execute("SELECT m.raw_sha256, r.data FROM messages m LEFT JOIN raw_messages r"
                         " ON r.sha256 = m.raw_sha256").fetchall()
        assert len(raws) == total
        for sha, packed in raws:
            assert hashlib.sha256(unpack(packed)).hexdigest() == sha
        # ... and attachments in blob files.
        for (sha,) in c.execute("SELECT sha256 FROM attachments"):
            path = data / "blobs" / sha[:2] / sha
            assert hashlib.sha256(path.read_bytes()).hexdigest() == sha
    finally:
        c.close()
