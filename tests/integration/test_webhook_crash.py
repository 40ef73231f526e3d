"""kill -9 of `omnidesk sync` while it polls and answers pushes, then a restart: nothing lost or doubled.

The daemon polls a large Slack workspace in small batches and serves both Slack's
Events API and a Telegram bot in webhook mode; customers keep writing (and editing)
while it runs. It is killed while a push is unanswered; the fakes send what was not
acknowledged again, as the services do, to the restarted daemon.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from omnidesk.demo.fakes.slack import SIGNING_SECRET, TOKEN, FakeSlack
from omnidesk.demo.fakes.telegram import TOKEN as TG_TOKEN
from omnidesk.demo.fakes.telegram import FakeTelegram
from tests.fakes.smtp_server import free_port
from tests.integration.sync_env import desk_toml, open_desk_with
from tests.integration.test_dispatcher import until
from tests.integration.test_telegram_sync import PEOPLE

REPO = Path(__file__).resolve().parents[2]


def _config(path: Path, slack: FakeSlack, tg: FakeTelegram, port: int) -> Path:
    return desk_toml(path, f"""
[channels.team]
kind = "slack"
token = "{TOKEN}"
api_url = "{slack.base_url}"
signing_secret = "{SIGNING_SECRET}"
poll_seconds = 0.2
batch_size = 25

[channels.bot]
kind = "telegram"
token = "{TG_TOKEN}"
api_url = "{tg.api_url}"
webhook = true
webhook_secret = "crash-test-secret"

[webhooks]
listen = "127.0.0.1:{port}"
""")


def _start(config: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "omnidesk", "--config", str(config), "sync"], cwd=REPO,
                            env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


class Customers(threading.Thread):
    """People writing while the daemon runs: Slack messages (some edited later) and Telegram messages."""

    def __init__(self, slack: FakeSlack, tg: FakeTelegram, old: list[str]) -> None:
        super().__init__(daemon=True)
        self.slack, self.tg, self.old = slack, tg, old
        self.stop = threading.Event()
        self.slack_sent: list[str] = []
        self.tg_sent: list[str] = []
        self.edited: dict[str, str] = {}

    def run(self) -> None:
        channel = next(iter(self.slack.channels.values()))
        writer = self.slack.add_user("late writer")
        n = 0
        while not self.stop.is_set():
            self.slack_sent.append(self.slack.say(channel, writer, f"élő üzenet {n} 实时"))
            self.tg_sent.append(str(self.tg.say(PEOPLE[n % len(PEOPLE)], f"پیام زنده {n}")["message_id"]))
            if n % 3 == 0 and n // 3 < len(self.old):  # an old top-level message edited: only a push tells
                ts = self.old[n // 3]
                self.edited[ts] = f"javítva {n}"
                self.slack.edit(channel, ts, self.edited[ts])
            n += 1
            self.stop.wait(0.01)


async def _stored(desk, sql: str) -> list:  # type: ignore[no-untyped-def]
    try:
        return [tuple(r) for r in await desk.db.fetchall(sql)]
    except Exception:  # the daemon has not created the schema yet
        return []


async def test_kill_9_mid_batch_and_mid_push_then_a_restart_loses_and_doubles_nothing(tmp_path: Path) -> None:
    with FakeSlack() as slack, FakeTelegram() as tg:
        ann, support = slack.add_user("ann"), slack.add_channel("support")
        old = [slack.say(support, ann, f"régi {n} 旧") for n in range(2000)]
        port = free_port()
        config = _config(tmp_path, slack, tg, port)
        # Slack gives up after three retries; here it keeps trying, so the restart is never too late.
        pushes = slack.subscribe(f"http://127.0.0.1:{port}/hooks/team", retry_seconds=0.2, max_attempts=0)
        customers = Customers(slack, tg, old)
        proc = _start(config)
        desk = await open_desk_with(tmp_path)
        try:
            async def pushing_mid_poll() -> bool:
                stored = len(await _stored(desk, "SELECT id FROM messages"))
                if stored and not customers.is_alive():
                    customers.start()
                return 50 < stored < len(old) and len(pushes.deliveries) > 20 and pushes.in_flight > 0

            await until(pushing_mid_poll, timeout=120, interval=0.001)
            proc.kill()  # SIGKILL: mid-transaction maybe, a push surely unanswered
            await asyncio.to_thread(proc.wait, 30)
            ids = {r[0] for r in await _stored(desk, "SELECT external_id FROM messages")}
            polled = len(ids & set(old))
            assert 0 < polled < len(old), "the kill did not land in the middle of the poll"
            cut = len(pushes.deliveries)

            proc = _start(config)
            await asyncio.sleep(1)
            customers.stop.set()
            await asyncio.to_thread(customers.join, 10)
            slack_all, tg_all = old + customers.slack_sent, customers.tg_sent

            async def complete() -> bool:
                slack_rows = await _stored(desk, "SELECT m.external_id FROM messages m JOIN channels c"
                                           " ON c.id = m.channel_id WHERE c.name = 'team'")
                tg_rows = await _stored(desk, "SELECT m.external_id FROM messages m JOIN channels c"
                                        " ON c.id = m.channel_id WHERE c.name = 'bot'")
                return len(slack_rows) >= len(slack_all) and len(tg_rows) >= len(tg_all) \
                    and pushes.pending == 0 and not tg.updates

            await until(complete, timeout=180, interval=0.1)
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.to_thread(proc.wait, 60) == 0
            assert any(d.status is None for d in pushes.deliveries[:cut + 5]), "no push was cut off"

            team = [r[0] for r in await _stored(desk, "SELECT m.external_id FROM messages m JOIN channels c"
                                                " ON c.id = m.channel_id WHERE c.name = 'team'")]
            assert sorted(team) == sorted(slack_all)  # none lost, none twice
            bot = await _stored(desk, "SELECT m.scope, m.external_id FROM messages m JOIN channels c"
                                " ON c.id = m.channel_id WHERE c.name = 'bot'")
            assert len(bot) == len(set(bot)) == len(tg_all)
            # Every edit shown, none applied twice (one polled after its edit has nothing to apply).
            shown = dict(await _stored(desk, "SELECT external_id, text FROM messages"))
            assert {ts: shown[ts] for ts in customers.edited} == customers.edited
            edits = await _stored(desk, "SELECT m.external_id, count(e.id) FROM messages m"
                                  " JOIN message_edits e ON e.message_id = m.id GROUP BY m.id")
            assert edits and {ts for ts, _ in edits} <= set(customers.edited) and {n for _, n in edits} == {1}
        finally:
            customers.stop.set()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            await desk.db.close()


async def test_sync_whose_listen_port_is_taken_says_so_in_one_line_and_exits_1(tmp_path: Path) -> None:
    import socket

    with FakeSlack() as slack, FakeTelegram() as tg, socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        config = _config(tmp_path, slack, tg, taken.getsockname()[1])
        done = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "omnidesk", "--config", str(config), "sync"], cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if "webhooks.listen" in line]
    assert len(lines) == 1 and lines[0].endswith("cannot listen (Address already in use)")
    assert "Traceback" not in done.stderr
