#!/usr/bin/env python3
"""IMAP sync benchmark against a local Dovecot (the test fixture's server).

    python bench/imap_sync.py [--messages 20000] [--batch-size 200] [--polls 200] [--no-ingest]

1. Seeds a Dovecot INBOX with N messages from ../shared/bench/gen_mail.py (synthetic
   fallback when that script is absent), written straight into the Maildir.
2. Initial sync: EmailAdapter.poll from an empty cursor (fetch + MIME parse), messages/s.
   Then the same through omnidesk.ingest.ingest_batch into a fresh desk, when available.
3. Incremental poll with nothing new: latency p50/p95 and IMAP commands per poll
   (target: one round trip, < 20 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adapters.email.channel import EmailAdapter  # noqa: E402
from tests.integration.dovecot import DOVECOT, Dovecot  # noqa: E402

GEN_MAIL = ROOT.parent / "shared" / "bench" / "gen_mail.py"


def _files(maildir: Path) -> list[Path]:
    return sorted(p for sub in ("new", "cur") if (maildir / sub).is_dir() for p in (maildir / sub).iterdir())


def seed(server: Dovecot, n: int, cache: Path) -> str:
    """Fill INBOX with n messages; returns where they came from.

    gen_mail.py output is cached (it takes minutes for 20,000 on a slow disk) and
    copied into the Maildir, as an MDA would deliver it.
    """
    if GEN_MAIL.exists():
        out = cache / f"gen_mail-{n}-seed1"
        files = _files(out)
        if len(files) != n:
            shutil.rmtree(out, ignore_errors=True)
            out.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run([sys.executable, str(GEN_MAIL), str(out), "--messages", str(n), "--seed", "1"],
                           check=True, stdout=subprocess.DEVNULL)
            files = _files(out)
        server.deliver_many([p.read_bytes() for p in files])
        return f"gen_mail.py --messages {n} --seed 1 (cached in {out})"
    raws = [
        (f"From: Customer {i % 97} <c{i % 97}@example.com>\r\nTo: support@example.com\r\n"
         f"Subject: Question {i}\r\nMessage-ID: <bench-{i}@example.com>\r\n"
         f"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\n{'Hello, my order is late. ' * 20}\r\n").encode()
        for i in range(n)
    ]
    server.deliver_many(raws)
    return f"synthetic ({n} messages; {GEN_MAIL} not found)"


def options(server: Dovecot, batch_size: int) -> dict[str, object]:
    return {
        "address": "support@example.com", "imap_host": "127.0.0.1", "imap_port": server.port,
        "imap_tls": "none", "username": server.user, "password": server.password,
        "batch_size": batch_size, "timeout_seconds": 120,
    }


async def initial_sync(server: Dovecot, batch_size: int) -> tuple[int, float, str | None]:
    opts = options(server, batch_size)
    adapter = EmailAdapter("bench", opts, lambda name: str(opts[name]))
    count, cursor = 0, None
    started = time.perf_counter()
    async for batch in adapter.poll(None):
        count += len(batch.records)
        cursor = batch.cursor
    elapsed = time.perf_counter() - started
    await adapter.close()
    return count, elapsed, cursor


async def sync_with_ingest(server: Dovecot, batch_size: int, data_dir: Path) -> tuple[int, float] | None:
    try:
        from omnidesk.desk import Desk
        from omnidesk.ingest import ingest_batch
        from omnidesk.settings import Settings
        from omnidesk.store.channels import ensure_channel
        from omnidesk.store.db import Database
    except ImportError as exc:
        print(f"  (ingest skipped: {exc})")
        return None
    db = await Database.open(data_dir / "omnidesk.db")
    desk = Desk(db=db, settings=Settings(), data_dir=data_dir)
    channel = await ensure_channel(db, "bench", "email", "support@example.com")
    opts = options(server, batch_size)
    adapter = EmailAdapter("bench", opts, lambda name: str(opts[name]))
    count = 0
    started = time.perf_counter()
    async for batch in adapter.poll(None):
        res = await ingest_batch(desk, channel, batch)
        count += res.imported
    elapsed = time.perf_counter() - started
    await adapter.close()
    await db.close()
    return count, elapsed


async def empty_polls(server: Dovecot, cursor: str | None, polls: int) -> tuple[list[float], float]:
    opts = options(server, 200)
    adapter = EmailAdapter("bench", opts, lambda name: str(opts[name]))
    assert [b async for b in adapter.poll(cursor)] == []  # connect + warm up
    session = adapter.imap._session
    assert session is not None and session.client is not None
    proto = session.client.protocol
    sent = 0
    original = proto.send

    def counting_send(line: str, scrub: str | None = None) -> None:
        nonlocal sent
        sent += 1
        original(line, scrub=scrub)

    proto.send = counting_send  # instrument the wire: how many commands one poll costs
    times = []
    for _ in range(polls):
        started = time.perf_counter()
        async for _batch in adapter.poll(cursor):
            raise AssertionError("nothing should be new")
        times.append(time.perf_counter() - started)
    per_poll = sent / polls  # counted before close(), whose LOGOUT is not a poll's
    await adapter.close()
    return times, per_poll


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=20_000)
    ap.add_argument("--batch-size", type=int, default=200)
    ap.add_argument("--polls", type=int, default=200)
    ap.add_argument("--no-ingest", action="store_true", help="measure the adapter only")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "omnidesk-bench-cache",
                    help="where generated mail is kept between runs")
    args = ap.parse_args()
    if DOVECOT is None:
        sys.exit("dovecot not found: apt-get install dovecot-imapd")

    with tempfile.TemporaryDirectory(prefix="omnidesk-bench-") as tmp, Dovecot() as server:
        work = Path(tmp)
        t0 = time.perf_counter()
        source = seed(server, args.messages, args.cache)
        print(f"seeded {source} in {time.perf_counter() - t0:.1f}s")

        count, elapsed, cursor = asyncio.run(initial_sync(server, args.batch_size))
        print(f"initial sync (adapter: IMAP fetch + MIME parse): {count} messages in {elapsed:.2f}s"
              f" = {count / elapsed:,.0f} messages/s")
        if not args.no_ingest:
            result = asyncio.run(sync_with_ingest(server, args.batch_size, work / "desk"))
            if result:
                n, secs = result
                print(f"initial sync + ingest into a desk: {n} messages in {secs:.2f}s"
                      f" = {n / secs:,.0f} messages/s")

        times, commands = asyncio.run(empty_polls(server, cursor, args.polls))
        ms = sorted(t * 1000 for t in times)
        p95 = ms[int(len(ms) * 0.95) - 1]
        print(f"incremental poll, nothing new ({args.polls} polls): p50 {statistics.median(ms):.2f} ms,"
              f" p95 {p95:.2f} ms, max {ms[-1]:.2f} ms; IMAP commands per poll: {commands:g}"
              f" (target: 1 round trip, < 20 ms)")
    print(f"reproduce: python bench/imap_sync.py --messages {args.messages} --batch-size {args.batch_size}"
          f" --polls {args.polls}{' --no-ingest' if args.no_ingest else ''}")


if __name__ == "__main__":
    main()
