"""Several processes write one database at once: no "database is locked" reaches anyone, no write is lost.

Each worker plays a different client of the same file: its own channel's sync
(ingest batches), a shared channel that every worker ingests the same records
into (as two syncs racing on one mailbox would), heartbeats, and small
agent-style write transactions, all interleaved.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
WORKERS = 4
BATCHES = 15
PER_BATCH = 40
SHARED = 300  # records every worker ingests into the shared channel

WORKER = r'''
import asyncio, sys, traceback
from datetime import UTC, datetime, timedelta
from pathlib import Path
from adapters.base import Address, Batch, Inbound
from omnidesk.desk import Desk
from omnidesk.inbound.ingest import ingest_batch
from omnidesk.settings import Settings
from omnidesk.store.channels import ensure_channel, record_error, record_heartbeat, record_success
from omnidesk.store.db import Database

data, me, BATCHES, PER_BATCH, SHARED = Path(sys.argv[1]), int(sys.argv[2]), *map(int, sys.argv[3:6])
T0 = datetime(2026, 11, 1, tzinfo=UTC)

def rec(ext, n, sender):
    return Inbound(external_id=ext, sender=Address("email", sender, f"Név {n}"),
                   sent_at=T0 + timedelta(seconds=n), subject=f"s{n}", text=f"text {n}")

async def main():
    db = await Database.open(data / "omnidesk.db")
    try:
        desk = Desk(db=db, settings=Settings(), data_dir=data)
        own = await ensure_channel(db, f"ch{me}", "email", f"ch{me}@support.example")
        shared = await ensure_channel(db, "shared", "email", "shared@support.example")
        for b in range(BATCHES):
            recs = [rec(f"<w{me}-{b}-{i}@x>", b * PER_BATCH + i, f"cust{i % 25}@example.com")
                    for i in range(PER_BATCH)]
            await ingest_batch(desk, own, Batch(recs, f"{b + 1}"))
            lo = (b * SHARED) // BATCHES
            hi = ((b + 1) * SHARED) // BATCHES
            # Workers race over the same shared records in different orders.
            order = list(range(lo, hi)) if me % 2 else list(reversed(range(lo, hi)))
            await ingest_batch(desk, shared, Batch([rec(f"<s{n}@x>", n, f"cust{n % 30}@example.com")
                                                    for n in order], None))
            await record_heartbeat(db, own.id, f"worker:{me}")
            if b % 3 == 0:
                await record_error(db, own.id, f"transient {b}")
            else:
                await record_success(db, own.id)
            async with db.write() as conn:  # an agent-style action: one event row
                await conn.execute("INSERT INTO events (kind, after, created_at) VALUES ('probe', ?, 0)",
                                   (f'{{"worker": {me}, "n": {b}}}',))
    finally:
        await db.close()

try:
    asyncio.run(main())
except BaseException:
    traceback.print_exc()
    sys.exit(1)
'''


@pytest.mark.slow
def test_processes_writing_concurrently(tmp_path: Path) -> None:
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    data = tmp_path / "data"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen([sys.executable, str(script), str(data), str(i), str(BATCHES), str(PER_BATCH),
                          str(SHARED)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                         cwd=REPO)
        for i in range(WORKERS)
    ]
    results = [p.communicate(timeout=600) for p in procs]
    for p, (_out, err) in zip(procs, results, strict=True):
        assert "locked" not in err and "busy" not in err, err
        assert p.returncode == 0, err

    c = sqlite3.connect(data / "omnidesk.db")
    try:
        per_channel = dict(c.execute(
            "SELECT ch.name, count(m.id) FROM channels ch LEFT JOIN messages m ON m.channel_id = ch.id"
            " GROUP BY ch.name"))
        for i in range(WORKERS):
            assert per_channel[f"ch{i}"] == BATCHES * PER_BATCH  # no write lost
            assert c.execute("SELECT value FROM cursors JOIN channels ON channels.id = cursors.channel_id"
                             " WHERE name = ?", (f"ch{i}",)).fetchone()[0] == str(BATCHES)
        assert per_channel["shared"] == SHARED  # raced, yet each record exactly once
        probes = c.execute("SELECT count(*) FROM events WHERE kind = 'probe'").fetchone()[0]
        assert probes == WORKERS * BATCHES
        # One customer per address although workers created them concurrently.
        assert c.execute("SELECT count(*) FROM identities").fetchone()[0] == 30
        assert c.execute("SELECT count(*) FROM customers").fetchone()[0] == 30
        assert c.execute("SELECT count(*) FROM channel_health WHERE heartbeat_at IS NOT NULL").fetchone()[0] \
            == WORKERS
        total = c.execute("SELECT count(*) FROM messages").fetchone()[0]
        assert c.execute("SELECT count(*) FROM message_fts").fetchone()[0] == total
        assert c.execute("SELECT sum(message_count) FROM conversations").fetchone()[0] == total
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        c.close()
