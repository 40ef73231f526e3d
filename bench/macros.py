#!/usr/bin/env python3
"""Macro render time: the example macros chosen and rendered for a reply, as `M`'s preview and
`omnidesk macro apply` do it.

    python bench/macros.py [--runs 2000]

Three figures per macro (median and 95th percentile of `--runs`): `render` is
`macro_replies.render_for` with the reply's variables already read (variant choice +
sandboxed render of a compiled template: what each keystroke of the picker's preview
costs); `cold` is the same with the template cache emptied first (the first render of
a text: parse, compile, render); `prepare` adds reading the route and the variables
from the store (`macro_replies.prepare`, what `macro apply` does per conversation).
The target is a median render under 2 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from omnidesk.desk import Desk  # noqa: E402
from omnidesk.macros import render  # noqa: E402
from omnidesk.macros.library import load_library  # noqa: E402
from omnidesk.services import macro_replies  # noqa: E402
from omnidesk.settings import DeskSettings, MacroSettings, Settings  # noqa: E402
from omnidesk.store.db import Database  # noqa: E402
from tests.unit import factories  # noqa: E402


def figures(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return f"median {statistics.median(ordered) * 1000:7.3f} ms   p95 {p95 * 1000:7.3f} ms"


def timed(fn, runs: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000)
    args = parser.parse_args()
    settings = Settings(desk=DeskSettings(name="Example Support"),
                        macros=MacroSettings(dir=ROOT / "config" / "macros"))
    library = load_library(settings)
    with tempfile.TemporaryDirectory() as tmp:
        db = await Database.open(Path(tmp) / "omnidesk.db")
        desk = Desk(db=db, settings=settings, data_dir=Path(tmp))
        agent = await factories.agent(desk, "ann")
        desk = replace(desk, agent=agent)
        channel = await factories.email_channel(desk)
        thread = await factories.thread(desk, channel, subject="Visszatérítés, rendelés 48213",
                                        name="Kovács Anna", address="anna@example.hu")
        context = await macro_replies.reply_context(desk, thread.conversation_id)
        print(f"{len(library.macros)} macros from config/macros, {args.runs} runs each,"
              f" Python {sys.version.split()[0]}")
        for macro in library.macros.values():
            warm = timed(lambda m=macro: macro_replies.render_for(desk, m, context), args.runs)

            def cold(m=macro) -> None:  # type: ignore[no-untyped-def]
                render._compiled.cache_clear()
                macro_replies.render_for(desk, m, context)

            first = timed(cold, max(args.runs // 10, 20))
            loop = []
            for _ in range(max(args.runs // 10, 20)):
                start = time.perf_counter()
                await macro_replies.prepare(desk, macro, thread.conversation_id)
                loop.append(time.perf_counter() - start)
            print(f"{macro.name:<18} render  {figures(warm)}")
            print(f"{'':<18} cold    {figures(first)}")
            print(f"{'':<18} prepare {figures(loop)}")
        await db.close()
    print("reproduce: PYTHONPATH=. python bench/macros.py --runs 2000")


if __name__ == "__main__":
    asyncio.run(main())
