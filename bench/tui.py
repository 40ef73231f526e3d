"""Console benchmarks on a 100,000-conversation desk (issue 5 targets).

    python bench/tui.py [--conversations 100000] [--messages 500000] [--dir /tmp/omnidesk-bench-tui]

Prints:
  first paint     process start -> first inbox rows painted (a child process, headless driver)  < 1.0 s
  open 200 msgs   open a 200-message conversation until its timeline is mounted and painted    < 100 ms
  j/k             key -> repaint, median over 200 presses (Pilot, so includes its idle wait)   < 16 ms
  RSS             resident memory after scrolling the whole list to the end                     < 250 MB

The desk is built once by direct bulk inserts (omnidesk/store/benchfill.py) and reused.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def build(directory: Path, conversations: int, messages: int) -> Path:
    from omnidesk.store import benchfill
    from omnidesk.store.db import Database

    path = directory / "omnidesk.db"
    marker = directory / f"built-{conversations}-{messages}"
    if marker.exists():
        return path
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("omnidesk.db*"):
        old.unlink()
    db = await Database.open(path)
    await db.close()
    began = time.perf_counter()
    benchfill.fill(path, conversations=conversations, messages=messages, analyze=True)
    await add_long_conversation(path)
    marker.touch()
    print(
        f"built {conversations:,} conversations / {messages:,} messages"
        f" in {time.perf_counter() - began:.0f} s"
    )
    return path


async def add_long_conversation(path: Path) -> None:
    """One conversation with 200 messages, newest activity, for the open benchmark."""
    from omnidesk.store import actions, customers
    from omnidesk.store.db import Database
    from omnidesk.timeutil import now_ms

    db = await Database.open(path)
    try:
        now = now_ms()
        async with db.write() as conn:
            cid = await customers.create_customer(conn, name="Long Thread", now=now)
            iid = await customers.add_identity(
                conn,
                customer_id=cid,
                kind="email",
                address="long@example.com",
                display_name="Long Thread",
                now=now,
            )
            conversation = await actions.create_conversation(
                conn, customer_id=cid, subject="200 messages", channel_id=1, now=now
            )
            for i in range(200):
                when = now + i * 1000
                text = f"Message {i}: " + "the order is still not here, please check again. " * 6
                await actions.insert_message(
                    conn,
                    conversation_id=conversation,
                    channel_id=1,
                    direction="in",
                    external_id=f"<long-{i}@example.com>",
                    author_identity_id=iid,
                    author_name="Long Thread",
                    author_address="long@example.com",
                    recipients=[],
                    subject="200 messages",
                    text=text,
                    display_text=text,
                    thread_refs=[],
                    sent_at=when,
                    received_at=when,
                )
                await actions.bump_activity(conn, conversation, now=when, inbound=True, channel_id=1)
        (path.parent / "long-conversation").write_text(str(conversation))
    finally:
        await db.close()


def make_app(path: Path):
    from omnidesk import reads
    from omnidesk.desk import Desk
    from omnidesk.settings import Settings
    from omnidesk.store.db import Database
    from omnidesk.tui.app import OmnideskApp

    async def opener() -> Desk:
        db = await Database.open(path)
        desk = Desk(db=db, settings=Settings(), data_dir=path.parent)
        agents = await reads.list_agents(desk)
        return desk.as_agent(agents[0])

    return OmnideskApp(open_desk=opener, poll_seconds=1.0)


async def until(pilot, predicate, timeout: float = 120.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("bench condition not reached")
        await pilot.pause(0.001)


def inbox_ready(app) -> bool:
    screen = app.screen
    return getattr(screen, "context", "") == "inbox" and screen.conv_list.current() is not None


async def child_first_paint(path: Path) -> None:
    """In a fresh process: open the console headless and say when the first rows are painted."""
    app = make_app(path)
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: inbox_ready(app))
        await pilot.pause(0)  # one refresh: the rows are on screen
        print("PAINTED", flush=True)


def child_env(path: Path) -> dict[str, str]:
    """The children's environment: bytecode cached beside the desk, as for an installed package.

    With PYTHONDONTWRITEBYTECODE set (as on CI machines), every child would compile
    all of omnidesk from source again: ~0.3 s of the first paint that no user pays.
    """
    env = {**os.environ, "PYTHONPYCACHEPREFIX": str(path.parent / "pycache")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def first_paint(path: Path) -> float:
    began = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, __file__, "--child-first-paint", str(path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=child_env(path),
    )
    assert child.stdout is not None
    for line in child.stdout:
        if line.startswith("PAINTED"):
            elapsed = time.perf_counter() - began
            break
    else:
        raise RuntimeError("the child never painted")
    child.wait()
    return elapsed


async def in_process(path: Path) -> dict[str, float]:
    from omnidesk.tui.screens.conversation import ConversationScreen
    from omnidesk.tui.widgets.timeline import MessageView

    long_id = int((path.parent / "long-conversation").read_text())
    app = make_app(path)
    figures: dict[str, float] = {}
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: inbox_ready(app))
        inbox = app.screen
        await pilot.pause(0.5)
        # j/k: key -> repaint
        samples = []
        for i in range(200):
            key = "j" if (i // 20) % 2 == 0 else "k"
            t0 = time.perf_counter()
            await pilot.press(key)
            samples.append((time.perf_counter() - t0) * 1000)
        figures["jk_median_ms"] = statistics.median(samples)
        # the same without Pilot's idle wait: the handler plus a full-screen repaint
        lst = inbox.conv_list
        direct = []
        for i in range(200):
            t0 = time.perf_counter()
            lst.move(1 if (i // 20) % 2 == 0 else -1)
            app.screen._compositor.render_strips()  # every visible line rendered again
            direct.append((time.perf_counter() - t0) * 1000)
            await pilot.pause(0)
        figures["jk_direct_median_ms"] = statistics.median(direct)
        figures["jk_p95_ms"] = sorted(samples)[int(len(samples) * 0.95)]
        # open a 200-message conversation
        opens = []
        for _ in range(5):
            t0 = time.perf_counter()
            screen = ConversationScreen(long_id, inbox=inbox)
            await app.push_screen(screen)
            await until(pilot, lambda s=screen: s.conversation is not None and len(s.query(MessageView)) > 0)
            await pilot.pause(0)
            opens.append((time.perf_counter() - t0) * 1000)
            app.pop_screen()
            await pilot.pause(0.1)
        figures["open200_median_ms"] = statistics.median(opens)
        # scroll the whole list (the "All" view), page by page
        inbox.select_view(next(i for i, v in enumerate(inbox.views) if v.name == "All"))
        lst = inbox.conv_list
        await until(pilot, lambda: lst.current() is not None and lst.state.total is not None)
        began = time.perf_counter()
        total = lst.row_count
        while lst.cursor < total - 1:
            lst.move(lst.size.height)
            await until(pilot, lambda: lst.current() is not None)
        figures["scroll_seconds"] = time.perf_counter() - began
        figures["rows"] = total
        figures["rss_mb"] = rss_mb()
    return figures


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--child-first-paint":
        asyncio.run(child_first_paint(Path(sys.argv[2])))
        return
    if len(sys.argv) == 3 and sys.argv[1] == "--child-measure":
        print("FIGURES", json.dumps(asyncio.run(in_process(Path(sys.argv[2])))), flush=True)
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=500_000)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/omnidesk-bench-tui"))
    args = parser.parse_args()
    path = asyncio.run(build(args.dir, args.conversations, args.messages))
    first_paint(path)  # warm-up: writes the bytecode cache, fills the page cache
    paints = sorted(first_paint(path) for _ in range(3))
    # a fresh process, so the build above does not count in its memory
    out = subprocess.run(
        [sys.executable, __file__, "--child-measure", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
        env=child_env(path),
    ).stdout
    figures = json.loads(next(line for line in out.splitlines() if line.startswith("FIGURES"))[8:])
    print(f"desk: {figures['rows']:,.0f} conversations ({args.messages:,} messages) at {path}")
    print(f"first paint (process start -> inbox rows), median of 3: {paints[1]:.2f} s   (target < 1.0 s)")
    print(
        f"open a 200-message conversation, median of 5:       {figures['open200_median_ms']:.0f} ms  "
        "(target < 100 ms)"
    )
    print(
        f"j/k key -> repaint, median of 200 (p95):             {figures['jk_median_ms']:.1f} ms "
        f"({figures['jk_p95_ms']:.1f})  (target < 16 ms)"
    )
    print(f"j/k handler + full-screen repaint, no Pilot, median: {figures['jk_direct_median_ms']:.1f} ms")
    print(
        f"RSS after scrolling all rows ({figures['scroll_seconds']:.0f} s):           "
        f"{figures['rss_mb']:.0f} MB  (target < 250 MB)"
    )
    print(f"machine load average (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"reproduce: python bench/tui.py --conversations {args.conversations} --messages {args.messages}")


if __name__ == "__main__":
    main()
