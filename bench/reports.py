#!/usr/bin/env python3
"""Report benchmark: `omnidesk report summary` over 100,000 conversations and 500,000 messages.

    python bench/reports.py [--dir /tmp/omnidesk-bench-reports] [--conversations 100000]
                            [--messages 500000] [--rebuild] [--runs 5]

Builds the desk once by direct bulk inserts (omnidesk/store/benchfill.py, plus the events
the services would have written: omnidesk/store/benchevents.py), then times, on the
read-only connection the CLI uses, the summary report for the last 30 days (target < 1 s)
and the last year (target < 3 s), and each other report kind for 30 days; prints the
figures, process CPU beside wall time (the machine is shared), and the command that
reproduces them. The console's figure is omnidesk/reports/dashboard.py, what the Reports
screen loads, run `--runs` times.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from omnidesk.desk import Desk  # noqa: E402
from omnidesk.reports import compute  # noqa: E402
from omnidesk.reports import dashboard as dashboard_data  # noqa: E402
from omnidesk.settings import Settings  # noqa: E402
from omnidesk.store import benchevents, benchfill  # noqa: E402
from omnidesk.store.db import Database  # noqa: E402
from omnidesk.store.readonly import ReadOnlyDatabase, run_inline  # noqa: E402

DAY_MS = 86_400_000
NOW_MS = 1_795_000_000_000  # benchfill's "now": the desk's newest traffic is just before it


def migrate(path: Path) -> None:
    """Create the desk's schema, or bring a desk built by an older version up to date."""

    async def run() -> None:
        await (await Database.open(path)).close()

    asyncio.run(run())


def build(path: Path, conversations: int, messages: int) -> None:
    if path.parent.exists():
        shutil.rmtree(path.parent)
    migrate(path)
    t0 = time.perf_counter()
    counts = benchfill.fill(path, conversations=conversations, messages=messages, now_ms=NOW_MS,
                            progress=lambda s: print(f"  ... {s}", file=sys.stderr))
    counts["events"] = benchevents.fill_events(path)
    print(f"built {counts} in {time.perf_counter() - t0:.1f} s")


def timed(desk: Desk, kind: str, days: int, runs: int) -> tuple[float, float, int]:
    """(median wall s, median CPU s, conversations in the cohort) of `runs` reports."""
    filters = compute.Filters(NOW_MS - days * DAY_MS, NOW_MS)
    walls, cpus, cohort = [], [], 0
    for _ in range(runs):
        w0, c0 = time.perf_counter(), os.times()
        report = run_inline(compute.build(desk, kind, filters))
        c1 = os.times()
        walls.append(time.perf_counter() - w0)
        cpus.append(c1.user + c1.system - c0.user - c0.system)
        if kind == "summary":
            cohort = next(r["total"] for r in report.rows if r["metric"] == "conversations")
    return statistics.median(walls), statistics.median(cpus), cohort


def dashboard(desk: Desk, runs: int) -> tuple[float, float, float]:
    """omnidesk/reports/dashboard.py, what the console's Reports screen loads on a refresh after a
    store change, and on one with nothing written: (median wall s, median CPU s, unchanged wall s)."""
    walls, cpus = [], []
    for _ in range(runs):
        w0, c0 = time.perf_counter(), os.times()
        run_inline(dashboard_data.Dashboard().refresh(desk, NOW_MS))
        c1 = os.times()
        walls.append(time.perf_counter() - w0)
        cpus.append(c1.user + c1.system - c0.user - c0.system)
    kept = dashboard_data.Dashboard()
    run_inline(kept.refresh(desk, NOW_MS))
    w0 = time.perf_counter()
    run_inline(kept.refresh(desk, NOW_MS + 1000))
    return statistics.median(walls), statistics.median(cpus), time.perf_counter() - w0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/omnidesk-bench-reports"))
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=500_000)
    parser.add_argument("--rebuild", action="store_true", help="build the desk again even if it exists")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    path = args.dir / "omnidesk.db"
    if args.rebuild or not path.exists():
        build(path, args.conversations, args.messages)
    migrate(path)  # the read-only connection below cannot
    db = ReadOnlyDatabase.open(path)
    desk = Desk(db=db, settings=Settings(), data_dir=args.dir)  # type: ignore[arg-type]
    stats = benchfill.stats(path)
    print(f"desk: {stats['conversations']} conversations, {stats['messages']} messages"
          f" (load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    for kind, days, target in (("summary", 30, "< 1 s"), ("summary", 365, "< 3 s")):
        wall, cpu, cohort = timed(desk, kind, days, args.runs)
        print(f"  report {kind} --since {days}d: median {wall * 1000:.0f} ms (cpu {cpu * 1000:.0f} ms),"
              f" {cohort} conversations in the period  (target {target})")
    for kind in ("channels", "agents", "tags", "languages", "days", "hours", "backlog"):
        wall, cpu, _ = timed(desk, kind, 30, max(1, args.runs // 2))
        print(f"  report {kind} --since 30d: median {wall * 1000:.0f} ms (cpu {cpu * 1000:.0f} ms)")
    wall, cpu, unchanged = dashboard(desk, args.runs)
    print(f"  console Reports screen refresh (summary, backlog, days, agents 30 d; channels today):"
          f" median {wall * 1000:.0f} ms (cpu {cpu * 1000:.0f} ms)  (target < 100 ms);"
          f" with nothing written since the last: {unchanged * 1000:.1f} ms")
    print(f"\nreproduce: python bench/reports.py --dir {args.dir} --conversations {args.conversations}"
          f" --messages {args.messages} --runs {args.runs}{' --rebuild' if args.rebuild else ''}")


if __name__ == "__main__":
    main()
