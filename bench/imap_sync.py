#!/usr/bin/env python3
"""IMAP sync benchmark against a local Dovecot (the test fixture's server), beside mbsync + notmuch.

    python bench/imap_sync.py [--messages 20000] [--runs 3] [--batch-size 200] [--polls 200] [--no-ingest]

1. Seeds a Dovecot INBOX with N messages from ../shared/bench/gen_mail.py (synthetic
   fallback when that script is absent), written straight into the Maildir.
2. Initial sync, adapter only: EmailAdapter.poll from an empty cursor (fetch + MIME parse).
3. Fetch to searchable, each run in the same process tree and order:
   - mbsync (a temporary mbsyncrc pulling INBOX into a temporary Maildir, no fsync) then
     `notmuch new` on it, when both are installed: wall time of both together;
   - `omnidesk sync --once` (the real CLI, a subprocess: start-up, the parser pool,
     EmailAdapter.poll_undecoded, every transaction) into a fresh desk, until every
     message is committed with its full-text row; then checks the counts.
   Prints both rates, their ratio (target: omnidesk >= 2x), CPU seconds and the load
   average: the machine may be shared, and CPU seconds do not depend on what else runs.
4. Incremental poll with nothing new: latency p50/p95 and IMAP commands per poll
   (target: one round trip, < 20 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
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


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of `cmd`; exits with its stderr when it fails."""
    cpu, started = children_cpu(), time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return time.perf_counter() - started, children_cpu() - cpu


def bench_mbsync_notmuch(server: Dovecot, work: Path) -> dict[str, float] | None:
    """mbsync INBOX into an empty Maildir, then `notmuch new` on it: (messages, wall, cpu)."""
    if shutil.which("mbsync") is None or shutil.which("notmuch") is None:
        return None
    shutil.rmtree(work, ignore_errors=True)
    (work / "mail").mkdir(parents=True)
    (work / "notmuch-db").mkdir()
    rc = work / "mbsyncrc"
    # FSync no: Dovecot here and omnidesk's WAL do not fsync per message either.
    rc.write_text(f"""FSync no

IMAPAccount bench
Host 127.0.0.1
Port {server.port}
User {server.user}
Pass "{server.password}"
SSLType None
AuthMechs LOGIN

IMAPStore bench-far
Account bench

MaildirStore bench-near
Path {work}/mail/
Inbox {work}/mail/INBOX

Channel bench
Far :bench-far:
Near :bench-near:
Patterns INBOX
Create Near
Sync Pull
SyncState *
""")
    notmuch = work / "notmuch-config"
    notmuch.write_text(f"[database]\npath={work}/notmuch-db\nmail_root={work}/mail\n[user]\nname=Bench\n"
                       "primary_email=bench@example.com\n[new]\ntags=inbox;\n[maildir]\nsynchronize_flags=false\n")
    env = {**os.environ, "NOTMUCH_CONFIG": str(notmuch)}
    fetch_wall, fetch_cpu = run_timed(["mbsync", "-q", "-c", str(rc), "bench"], env)
    index_wall, index_cpu = run_timed(["notmuch", "new", "--quiet"], env)
    count = subprocess.run(["notmuch", "count", "*"], env=env, capture_output=True, text=True, check=True)
    return {"messages": int(count.stdout), "wall": fetch_wall + index_wall, "cpu": fetch_cpu + index_cpu,
            "fetch": fetch_wall, "index": index_wall}


def bench_omnidesk(server: Dovecot, batch_size: int, work: Path, workers: int | None) -> dict[str, float]:
    """`omnidesk sync --once` into a fresh desk: messages stored and indexed, wall, cpu."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    data = work / "data"
    config = work / "omnidesk.toml"
    config.write_text(f"""[desk]
name = "bench"
data_dir = "{data}"

[channels.bench]
kind = "email"
address = "support@example.com"
imap_host = "127.0.0.1"
imap_port = {server.port}
imap_tls = "none"
username = "{server.user}"
password_env = "BENCH_IMAP_PASSWORD"
batch_size = {batch_size}
timeout_seconds = 120
""")
    env = {**os.environ, "OMNIDESK_CONFIG": str(config), "OMNIDESK_FORCE_TTY": "0",
           "BENCH_IMAP_PASSWORD": server.password,
           "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    cmd = [sys.executable, "-m", "omnidesk", "sync", "--once", "--channel", "bench"]
    if workers is not None:
        cmd += ["--workers", str(workers)]
    wall, cpu = run_timed(cmd, env)
    with sqlite3.connect(data / "omnidesk.db") as conn:
        stored = conn.execute("SELECT count(*) FROM messages").fetchone()[0]
        indexed = conn.execute("SELECT count(*) FROM message_fts").fetchone()[0]
    return {"messages": stored, "indexed": indexed, "wall": wall, "cpu": cpu}


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
    ap.add_argument("--runs", type=int, default=3, help="fetch-to-searchable runs (the machine may be noisy)")
    ap.add_argument("--batch-size", type=int, default=200)
    ap.add_argument("--workers", type=int, help="omnidesk sync --workers (default: one per core)")
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
        print(f"initial sync (adapter: IMAP fetch + MIME parse in a thread): {count} messages"
              f" in {elapsed:.2f}s = {count / elapsed:,.0f} messages/s")
        for run in range(1, 0 if args.no_ingest else args.runs + 1):
            at = datetime.now(UTC).strftime("%H:%M:%S UTC")
            print(f"run {run} at {at}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
            theirs = bench_mbsync_notmuch(server, work / "mbsync")
            ours = bench_omnidesk(server, args.batch_size, work / "omnidesk", args.workers)
            rate = ours["messages"] / ours["wall"]
            print(f"  omnidesk sync --once:   {ours['messages']:.0f} messages ({ours['indexed']:.0f} indexed)"
                  f" in {ours['wall']:.2f}s = {rate:,.0f} messages/s to searchable (CPU {ours['cpu']:.1f}s)")
            if theirs is None:
                print("  (mbsync or notmuch not installed: no baseline)")
                continue
            nrate = theirs["messages"] / theirs["wall"]
            print(f"  mbsync + notmuch new:   {theirs['messages']:.0f} messages in {theirs['wall']:.2f}s"
                  f" (mbsync {theirs['fetch']:.2f}s, notmuch {theirs['index']:.2f}s) = {nrate:,.0f}"
                  f" messages/s (CPU {theirs['cpu']:.1f}s)")
            verdict = "meets" if rate >= 2 * nrate else "MISSES"
            print(f"  ratio: {rate / nrate:.2f}x mbsync + notmuch by wall clock ({verdict} the 2x target);"
                  f" {theirs['cpu'] / ours['cpu']:.2f}x by CPU seconds (Dovecot's own not counted)")

        times, commands = asyncio.run(empty_polls(server, cursor, args.polls))
        ms = sorted(t * 1000 for t in times)
        p95 = ms[int(len(ms) * 0.95) - 1]
        print(f"incremental poll, nothing new ({args.polls} polls): p50 {statistics.median(ms):.2f} ms,"
              f" p95 {p95:.2f} ms, max {ms[-1]:.2f} ms; IMAP commands per poll: {commands:g}"
              f" (target: 1 round trip, < 20 ms)")
    extra = (f" --workers {args.workers}" if args.workers is not None else "") + (
        " --no-ingest" if args.no_ingest else "")
    print(f"reproduce: python bench/imap_sync.py --messages {args.messages} --runs {args.runs}"
          f" --batch-size {args.batch_size} --polls {args.polls}{extra}")


if __name__ == "__main__":
    main()
