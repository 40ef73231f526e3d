"""A desk with a Slack channel on the fake: `omnidesk sync` stores each message once, after kill -9 too."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from omnidesk.demo.fakes.slack import TOKEN, FakeSlack
from omnidesk.desk import Desk
from omnidesk.services.sync import run_sync
from omnidesk.settings import ChannelSettings
from omnidesk.store.channels import channel_health
from tests.integration.sync_env import desk_toml, fill_maildir, maildir_channel, open_desk_with
from tests.integration.test_dispatcher import until

REPO = Path(__file__).resolve().parents[2]


def _config(path: Path, fake: FakeSlack, *, batch_size: int = 200) -> Path:
    return desk_toml(path, f"""
[channels.team]
kind = "slack"
token = "{TOKEN}"
api_url = "{fake.base_url}"
poll_seconds = 0.2
batch_size = {batch_size}
""")


def _sync(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "omnidesk", "--config", str(config), "sync", *args]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}


async def _stored(desk: Desk) -> list[str]:
    try:
        return [r[0] for r in await desk.db.fetchall("SELECT external_id FROM messages")]
    except Exception:  # the sync process has not created the schema yet
        return []


def _workspace(fake: FakeSlack, count: int) -> list[str]:
    """`count` messages in a channel and a DM, every tenth one answered in its thread; all their ts."""
    ann = fake.add_user("ann", email="ann@example.com")
    maryam = fake.add_user("maryam", real_name="مریم احمدی")
    support = fake.add_channel("support")
    dm = fake.open_dm(maryam)
    sent = []
    for n in range(count):
        where, who = (support, ann) if n % 2 else (dm, maryam)
        ts = fake.say(where, who, f"پیام {n}" if who is maryam else f"message {n} 订单")
        sent.append(ts)
        if n % 10 == 0:
            sent.append(fake.say(where, who, f"more about {n}", thread_ts=ts))
    return sent


async def test_sync_once_stores_conversations_and_messages(tmp_path: Path) -> None:
    with FakeSlack() as fake:
        sent = _workspace(fake, 40)
        config = _config(tmp_path, fake)
        run = await asyncio.to_thread(subprocess.run, _sync(config, "--once"), cwd=REPO, env=_env(),
                                      capture_output=True, timeout=120)
        assert run.returncode == 0, run.stderr.decode()
        desk = await open_desk_with(tmp_path)
        try:
            assert sorted(await _stored(desk)) == sorted(sent)
            row = await desk.db.fetchone("SELECT count(*) FROM conversations")
            assert row is not None and row[0] >= 2  # at least the channel's and the DM's
            texts = {r[0] for r in await desk.db.fetchall("SELECT text FROM messages")}
            assert "پیام 0" in texts and "message 1 订单" in texts
        finally:
            await desk.db.close()


async def test_kill_9_mid_sync_then_a_rerun_loses_and_doubles_nothing(tmp_path: Path) -> None:
    with FakeSlack() as fake:
        sent = _workspace(fake, 3000)
        config = _config(tmp_path, fake, batch_size=25)
        proc = subprocess.Popen(_sync(config), cwd=REPO, env=_env(), stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        desk = await open_desk_with(tmp_path)
        try:
            await until(lambda: _some(desk), timeout=120)
            proc.kill()  # SIGKILL: no clean-up, maybe inside a transaction
            await asyncio.to_thread(proc.wait, 30)
            partial = len(await _stored(desk))
            assert 0 < partial <= len(sent)

            fake.say(next(iter(fake.channels.values())), fake.add_user("late"), "after the crash")
            rerun = await asyncio.to_thread(subprocess.run, _sync(config, "--once"), cwd=REPO, env=_env(),
                                            capture_output=True, timeout=300)
            assert rerun.returncode == 0, rerun.stderr.decode()
            stored = await _stored(desk)
            assert len(stored) == len(set(stored)) == len(sent) + 1
            assert set(sent) <= set(stored)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            await desk.db.close()


async def _some(desk: Desk) -> bool:
    return len(await _stored(desk)) > 0


async def test_a_revoked_token_marks_only_the_slack_channel_unhealthy(tmp_path: Path) -> None:
    with FakeSlack() as fake:
        _workspace(fake, 3)
        fake.revoke()
        fill_maildir(tmp_path / "maildir", 4)
        slack = ChannelSettings(name="team", kind="slack",
                                options={"token": TOKEN, "api_url": fake.base_url, "poll_seconds": 0.2})
        desk = await open_desk_with(tmp_path, maildir_channel("support", tmp_path / "maildir"), slack)
        try:
            report = await asyncio.wait_for(run_sync(desk, once=True, stop=asyncio.Event()), 30)
            assert report.channels["support"].imported == 4 and not report.ok
            assert "token_revoked" in (report.channels["team"].last_error or "")
            health = {h.name: h for h in await channel_health(desk.db)}
            assert health["team"].failing and "ConfigurationError" in (health["team"].last_error or "")
            assert not health["support"].failing
        finally:
            await desk.db.close()


async def test_doctor_connect_names_a_revoked_token(tmp_path: Path) -> None:
    with FakeSlack() as fake:
        config = _config(tmp_path, fake)
        doctor = ["--config", str(config), "doctor", "--connect"]
        ok = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "omnidesk", *doctor], cwd=REPO,
                                     env=_env(), capture_output=True, text=True, timeout=120)
        assert "slack auth.test\tok" in ok.stdout and "slack conversations\tok" in ok.stdout, ok.stdout
        fake.revoke()
        bad = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "omnidesk", *doctor], cwd=REPO,
                                      env=_env(), capture_output=True, text=True, timeout=120)
        assert bad.returncode != 0
        assert "slack auth.test\tfail\tchannel team: Slack refused the token (token_revoked)" in bad.stdout
