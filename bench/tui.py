"""Console benchmarks on a 100,000-conversation desk (issue 5 targets).

    python bench/tui.py [--conversations 100000] [--messages 500000] [--dir /tmp/omnidesk-bench-tui]

Prints:
  first paint     process start -> first inbox rows painted (a child process, headless driver)  < 1.0 s
  open 200 msgs   enter on its row (key event from the driver) -> the first frame showing its
                  timeline  < 100 ms; the first open of the session, then repeats; and other
                  conversations of the list, once each
  j/k             key event from the driver -> the first frame with the cursor moved          < 16 ms

Frames are timed where the app hands them to the terminal (serialised to the bytes a
terminal would get; the headless driver then drops them).
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
    from omnidesk.conversations import reads
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


class FrameClock:
    """When frames are ready for the terminal, and whether a condition held in each.

    The headless driver writes nothing, so this wraps the app's display step: each
    frame is also serialised to the bytes a terminal would receive, then its time is
    kept with the value of the condition being waited for, checked right there. A
    figure is then "request -> the first frame that shows the change".
    """

    def __init__(self, app) -> None:
        from textual._compositor import CompositorUpdate

        self.app = app
        self.condition = lambda: False
        self.frames: list[tuple[float, bool]] = []
        original = app._display

        def display(screen, renderable) -> None:
            original(screen, renderable)
            if renderable is None or app._batch_count:
                return
            if isinstance(renderable, CompositorUpdate):
                renderable.render_segments(app.console)
            self.frames.append((time.perf_counter(), bool(self.condition())))

        app._display = display

    async def measure(self, pilot, start, condition) -> float:
        """Run `start()`, return ms until the first frame in which `condition()` holds."""
        self.frames.clear()
        self.condition = condition
        t0 = time.perf_counter()
        start()
        deadline = time.monotonic() + 60
        while not any(ok for _, ok in self.frames):
            if time.monotonic() > deadline:
                raise TimeoutError("no frame showed the change")
            await asyncio.sleep(0.0005)
        painted = next(t for t, ok in self.frames if ok)
        self.condition = lambda: False
        return (painted - t0) * 1000


async def in_process(path: Path) -> dict[str, float]:
    from textual import events

    from omnidesk.tui.screens.conversation import ConversationScreen

    long_id = int((path.parent / "long-conversation").read_text())
    app = make_app(path)
    figures: dict[str, float] = {}
    async with app.run_test(size=(160, 45)) as pilot:
        clock = FrameClock(app)
        await until(pilot, lambda: inbox_ready(app))
        inbox = app.screen
        await pilot.pause(0.5)
        lst = inbox.conv_list

        # j/k: the key event enters as the terminal driver sends it -> the frame with the cursor moved
        samples = []
        for i in range(200):
            key = "j" if (i // 20) % 2 == 0 else "k"
            target = lst.cursor + (1 if key == "j" else -1)
            samples.append(
                await clock.measure(
                    pilot,
                    lambda key=key: app._driver.send_message(events.Key(key, key)),
                    lambda target=target: lst.cursor == target,
                )
            )
            await pilot.pause(0.005)
        figures["jk_median_ms"] = statistics.median(samples)
        figures["jk_p95_ms"] = sorted(samples)[int(len(samples) * 0.95)]

        # Opens: enter enters as the terminal driver sends it -> the first frame showing that
        # conversation's timeline; esc back to the inbox between opens.
        def shown(target: int):
            def check() -> bool:
                screen = app.screen
                if not isinstance(screen, ConversationScreen) or screen.conversation_id != target:
                    return False
                shown = [m for m in (getattr(w, "message", None) for w in screen._items()) if m]
                return bool(shown) and shown[-1].conversation_id == target

            return check

        async def open_row(cid: int) -> float:
            await until(pilot, lambda: lst.index_of(cid) is not None)
            lst.move_to(lst.index_of(cid))
            await pilot.pause(0.3)  # the agent reads the preview, then presses enter
            ms = await clock.measure(
                pilot, lambda: app._driver.send_message(events.Key("enter", "\r")), shown(cid)
            )
            await pilot.pause(0.2)
            app._driver.send_message(events.Key("escape", "\x1b"))
            await until(pilot, lambda: app.screen is inbox)
            await pilot.pause(0.2)
            return ms

        # The console renders the conversation under the cursor (the long one, row 0) into its
        # hidden conversation screen after the first paint: the session's first open is of
        # another row, so it pays what a first open costs; then the long one, first and again.
        others = [row.id for row in (lst.row(i) for i in range(1, 12)) if row is not None][:9]
        other_opens = [await open_row(cid) for cid in others]
        first_long = await open_row(long_id)
        repeat_long = [await open_row(long_id) for _ in range(7)]
        figures["open_session_first_ms"] = other_opens[0]
        figures["open200_first_ms"] = first_long
        figures["open200_median_ms"] = statistics.median(repeat_long)
        figures["open_others_median_ms"] = statistics.median(other_opens)
        figures["open_others_max_ms"] = max(other_opens)
        figures["open_others_count"] = len(other_opens)

        # scroll the whole list (the "All" view), page by page
        inbox.select_view(next(i for i, v in enumerate(inbox.views) if v.name == "All"))
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
        "open a 200-message conversation (enter -> painted): "
        f"first {figures['open200_first_ms']:.0f} ms, then median of 7: {figures['open200_median_ms']:.0f} ms"
        "  (target < 100 ms)"
    )
    first = figures["open_session_first_ms"]
    print(f"first open of the session (another row, enter -> painted): {first:.0f} ms")
    print(
        f"open {figures['open_others_count']:.0f} other conversations of the list (enter -> painted), "
        f"once each: median {figures['open_others_median_ms']:.0f} ms,"
        f" max {figures['open_others_max_ms']:.0f} ms"
    )
    print(
        f"j/k key -> painted frame, median of 200 (p95):     {figures['jk_median_ms']:.1f} ms "
        f"({figures['jk_p95_ms']:.1f})  (target < 16 ms)"
    )
    print(
        f"RSS after scrolling all rows ({figures['scroll_seconds']:.0f} s):           "
        f"{figures['rss_mb']:.0f} MB  (target < 250 MB)"
    )
    print(f"machine load average (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"reproduce: python bench/tui.py --conversations {args.conversations} --messages {args.messages}")


if __name__ == "__main__":
    main()
