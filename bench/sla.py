#!/usr/bin/env python3
"""SLA recomputation after a calendar change: every open conversation's clocks, in business hours.

    python bench/sla.py [--dir /tmp/omnidesk-bench-sla] [--conversations 100000]
                        [--messages 200000] [--rebuild] [--runs 3]

Builds a desk once by direct bulk inserts (omnidesk/store/benchfill.py), every conversation
open and a tenth pending (their clocks stand), with three policies (urgent, high, and the
rest; first response, next response and resolution) in a Budapest calendar of weekday
hours with a lunch break and holidays. Then prints:
- the first computation of every clock (no clock stored yet);
- after a calendar change (an hour longer each day, one holiday more), `recompute_all`
  as the daemon runs it when the config changes (target < 5 s for 100,000 conversations);
- one conversation recomputed after an action (the services do this after each change);
and the command that reproduces them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import statistics
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from omnidesk.desk import Desk  # noqa: E402
from omnidesk.services import sla  # noqa: E402
from omnidesk.settings import Settings  # noqa: E402
from omnidesk.sla.policy import CalendarSpec, Policy  # noqa: E402
from omnidesk.store import benchfill  # noqa: E402
from omnidesk.store.db import Database  # noqa: E402

HOUR = 3_600_000
HOLIDAYS = (date(2026, 12, 24), date(2026, 12, 25), date(2026, 12, 26), date(2027, 1, 1))


def calendar(opens: int, closes: int, holidays: tuple[date, ...]) -> CalendarSpec:
    weekday = ((opens * 60, 12 * 60), (13 * 60, closes * 60))
    return CalendarSpec("office", "Europe/Budapest", (weekday,) * 5 + ((), ()), holidays)


POLICIES = (
    Policy("urgent", (("first_response", HOUR), ("next_response", HOUR), ("resolution", 8 * HOUR)),
           priorities=frozenset({"urgent"}), calendar="office"),
    Policy("high", (("first_response", 4 * HOUR), ("next_response", 4 * HOUR), ("resolution", 24 * HOUR)),
           priorities=frozenset({"high"}), calendar="office"),
    Policy("normal", (("first_response", 8 * HOUR), ("next_response", 8 * HOUR), ("resolution", 40 * HOUR)),
           calendar="office"),
)
BEFORE = Settings(calendars=(calendar(9, 17, HOLIDAYS),), sla=POLICIES)
AFTER = Settings(calendars=(calendar(8, 17, (*HOLIDAYS, date(2026, 12, 31))),), sla=POLICIES)


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def timed(desk: Desk) -> tuple[sla.Recomputed, float, float]:
    wall, used = time.perf_counter(), cpu()
    result = await sla.recompute_all(desk)
    return result, time.perf_counter() - wall, cpu() - used


async def run(args: argparse.Namespace) -> None:
    path = Path(args.dir) / "omnidesk.db"
    if args.rebuild or not path.exists():
        if path.parent.exists():
            shutil.rmtree(path.parent)
        await (await Database.open(path)).close()
        started = time.perf_counter()
        benchfill.fill(path, conversations=args.conversations, messages=args.messages)
        print(f"built {args.conversations} conversations / {args.messages} messages"
              f" in {time.perf_counter() - started:.0f} s")
    opened = benchfill.open_for_sla(path)
    db = await Database.open(path)
    try:
        desk = Desk(db=db, settings=BEFORE, data_dir=path.parent)
        first, wall, used = await timed(desk)
        print(f"\nfirst computation: {first.conversations} conversations, {first.changed} with a clock shown"
              f" in {wall:.2f} s (cpu {used:.2f} s)")
        runs = []
        for i in range(args.runs):
            settings = AFTER if i % 2 == 0 else BEFORE  # each run is a change from the one before
            result, wall, used = await timed(Desk(db=db, settings=settings, data_dir=path.parent))
            runs.append((wall, used, result))
            print(f"after a calendar change (run {i + 1}): {result.conversations} conversations,"
                  f" {result.changed} due times moved, {wall:.2f} s (cpu {used:.2f} s)")
        ids = [r[0] for r in await db.fetchall("SELECT id FROM conversations ORDER BY id LIMIT 200")]
        single = []
        for cid in ids:
            started = time.perf_counter()
            await sla.recompute(desk, [cid])
            single.append(time.perf_counter() - started)
        walls = [w for w, _, _ in runs]
        print(f"\nsummary ({os.cpu_count()} cores, load {os.getloadavg()[0]:.1f})")
        print(f"  recompute_all after a calendar change, {opened} open conversations: median"
              f" {statistics.median(walls):.2f} s, best {min(walls):.2f} s (target < 5 s)")
        print(f"  one conversation after an action: median {statistics.median(single) * 1000:.2f} ms")
    finally:
        await db.close()
    print(f"\nreproduce: python bench/sla.py --dir {args.dir} --conversations {args.conversations}"
          f" --messages {args.messages} --runs {args.runs}{' --rebuild' if args.rebuild else ''}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", default="/tmp/omnidesk-bench-sla")
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rebuild", action="store_true")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
