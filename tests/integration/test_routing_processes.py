"""Routing across processes: kill -9 between ingest and routing, concurrent arrivals, restarts.

Real subprocesses, as tests/integration/test_crash_ingest.py: a worker ingests through the
ingest path (which leaves each new message pending routing), and `omnidesk sync --once`
routes what is pending when it starts.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
AGENTS = ("ann", "bob", "cyd")

CONFIG = """
[desk]
data_dir = "data"

{agents}
"""

RULES = """
[[rules]]
name = "Round the team"
then = { team = "t", strategy = "round-robin", tag = "routed" }
"""

WORKER = r'''
import asyncio, sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from adapters.base import Address, Batch, Inbound
from omnidesk.inbound.ingest import ingest_batch
from omnidesk.rules.routing import Router
from omnidesk.services.opendesk import open_desk
from omnidesk.store.channels import ensure_channel

config, channel_name, count, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
T0 = datetime(2026, 11, 1, tzinfo=UTC)

async def main():
    desk = await open_desk(Path(config), as_agent=None)
    try:
        channel = await ensure_channel(desk.db, channel_name, "email", f"{channel_name}@desk.example")
        router = Router(desk)
        for n in range(count):
            rec = Inbound(external_id=f"<{channel_name}-{n}@x>",
                          sender=Address("email", f"{channel_name}{n}@example.com", f"Ügyfél {n}"),
                          sent_at=T0 + timedelta(seconds=n), subject=f"Számla {n}", text="退款 kérem")
            await ingest_batch(desk, channel, Batch([rec], None))
            if mode == "route":  # a channel that routes each arrival as it comes, beside another
                await router.run_pending()
        print("ingested", flush=True)
        if mode == "hang":  # committed, not routed: the parent kills us here
            await asyncio.sleep(3600)
    finally:
        await desk.db.close()

asyncio.run(main())
'''


@pytest.fixture
def desk_dir(tmp_path: Path) -> Path:
    agents = "\n".join(f'[[agents]]\nname = "{a}"\nteams = ["t"]\n' for a in AGENTS)
    (tmp_path / "config.toml").write_text(CONFIG.format(agents=agents), encoding="utf-8")
    (tmp_path / "rules.toml").write_text(RULES, encoding="utf-8")
    (tmp_path / "worker.py").write_text(WORKER, encoding="utf-8")
    return tmp_path


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "USER": "nobody-here"}


def _worker(tmp: Path, channel: str, count: int, mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, str(tmp / "worker.py"), str(tmp / "config.toml"), channel,
                             str(count), mode], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env(), cwd=tmp)


def _sync_once(tmp: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "omnidesk", "--config", str(tmp / "config.toml"), "sync",
                           "--once"], capture_output=True, text=True, env=_env(), cwd=tmp, timeout=120)
    assert done.returncode == 0, done.stderr


def _db(tmp: Path) -> sqlite3.Connection:
    return sqlite3.connect(tmp / "data" / "omnidesk.db", timeout=30)


def _routed(tmp: Path) -> tuple[Counter[int], Counter[str], int]:
    """(rule assignments per conversation, conversations per agent, pending rows)."""
    c = _db(tmp)
    try:
        per_conversation = Counter(r[0] for r in c.execute(
            "SELECT conversation_id FROM events WHERE kind = 'assigned' AND reason = ?",
            ("rule 'Round the team'",)))
        per_agent = Counter(r[0] for r in c.execute(
            "SELECT a.name FROM conversations c JOIN agents a ON a.id = c.assignee_id"))
        pending = c.execute("SELECT count(*) FROM pending_routing").fetchone()[0]
        return per_conversation, per_agent, pending
    finally:
        c.close()


@pytest.mark.slow
def test_kill_between_ingest_and_routing_then_restart_routes_once(desk_dir: Path) -> None:
    proc = _worker(desk_dir, "support", 30, "hang")
    line = proc.stdout.readline() if proc.stdout else ""
    assert line.strip() == "ingested", proc.stderr.read() if proc.stderr else ""
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    per_conversation, per_agent, pending = _routed(desk_dir)
    assert (sum(per_conversation.values()), pending) == (0, 30)  # stored, routing still pending

    _sync_once(desk_dir)  # the restart routes what was pending
    per_conversation, per_agent, pending = _routed(desk_dir)
    assert pending == 0
    assert len(per_conversation) == 30 and set(per_conversation.values()) == {1}  # each exactly once
    assert per_agent == Counter(dict.fromkeys(AGENTS, 10))  # and round the team in turn

    _sync_once(desk_dir)  # another start finds nothing to route
    assert _routed(desk_dir)[0] == per_conversation


@pytest.mark.slow
def test_kill_while_routing_then_restart_routes_each_once(desk_dir: Path) -> None:
    """A daemon killed in the middle of routing: each routed conversation has all of its rule's
    actions or none (one transaction per message), and the restart routes the rest once."""
    count = 600
    proc = _worker(desk_dir, "support", count, "hang")
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ingested"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    daemon = subprocess.Popen([sys.executable, "-m", "omnidesk", "--config", str(desk_dir / "config.toml"),
                               "sync"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              env=_env(), cwd=desk_dir)
    deadline = time.monotonic() + 120
    while True:  # kill it once some, not all, are routed
        assert time.monotonic() < deadline and daemon.poll() is None, "the daemon routed nothing"
        per_conversation, _, pending = _routed(desk_dir)
        if per_conversation and pending:
            break
        time.sleep(0.01)
    daemon.send_signal(signal.SIGKILL)
    daemon.wait(timeout=30)
    c = _db(desk_dir)
    try:  # every conversation the killed daemon routed has its tag too: nothing half done
        tagged = {r[0] for r in c.execute("SELECT conversation_id FROM events WHERE kind = 'tagged'")}
    finally:
        c.close()
    per_conversation, _, pending = _routed(desk_dir)
    assert set(per_conversation) == tagged and 0 < pending < count

    _sync_once(desk_dir)
    per_conversation, per_agent, pending = _routed(desk_dir)
    assert pending == 0 and len(per_conversation) == count and set(per_conversation.values()) == {1}
    assert per_agent == Counter(dict.fromkeys(AGENTS, count // len(AGENTS)))  # the turns went on


@pytest.mark.slow
def test_round_robin_is_fair_with_two_processes_arriving_at_once(desk_dir: Path) -> None:
    _sync_once(desk_dir)  # create and migrate the desk before two processes race to
    workers = [_worker(desk_dir, name, 30, "route") for name in ("mail", "chat")]
    deadline = time.monotonic() + 180
    for w in workers:
        _out, err = w.communicate(timeout=max(1, deadline - time.monotonic()))
        assert w.returncode == 0, err
    per_conversation, per_agent, pending = _routed(desk_dir)
    assert pending == 0 and len(per_conversation) == 60 and set(per_conversation.values()) == {1}
    # Each pick reads and moves the team's turn in one transaction: a strict rotation overall.
    assert per_agent == Counter(dict.fromkeys(AGENTS, 20))
    c = _db(desk_dir)
    try:
        order = [r[0] for r in c.execute(
            "SELECT json_extract(after, '$.assignee') FROM events WHERE kind = 'assigned' ORDER BY id")]
    finally:
        c.close()
    assert all(order[i] != order[i + 1] for i in range(len(order) - 1))
