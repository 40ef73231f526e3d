"""`kill -9` of an import takes its parser processes with it."""

from __future__ import annotations

import asyncio
import mailbox
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from omnidesk.store.db import Database

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads children from /proc")


def children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found.update(int(p) for p in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found


def alive(pid: int) -> bool:
    """Running, not merely a zombie waiting for init to reap it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def wait_for(condition, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_killing_an_import_ends_its_parser_workers(tmp_path: Path) -> None:
    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    for n in range(400):  # above the pool threshold
        box.add(f"From: c{n}@example.com\nSubject: {n}\nMessage-ID: <{n}@example.com>\n\nhi\n".encode())
    database = tmp_path / "data" / "omnidesk.db"
    asyncio.run(_create(database))
    config = tmp_path / "omnidesk.toml"
    config.write_text(f'[desk]\ndata_dir = "{tmp_path / "data"}"\n')

    # Hold the write lock: the import forks its parsers, then waits to create its channel.
    lock = sqlite3.connect(database, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")
    proc = subprocess.Popen([sys.executable, "-m", "omnidesk", "--config", str(config), "import", "maildir",
                             str(tmp_path / "Maildir"), "--channel", "archive", "--workers", "2"],
                            cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: set[int] = set()
    try:
        assert wait_for(lambda: len(children(proc.pid)) >= 2, timeout=60), "the parser pool never started"
        workers = children(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        gone = wait_for(lambda: not any(map(alive, workers)), timeout=30)
        assert gone, "parser workers outlived the import"
    finally:
        lock.execute("ROLLBACK")
        lock.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in workers:  # never leave a process behind, even when the test fails
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


async def _create(path: Path) -> None:
    db = await Database.open(path)
    await db.close()
