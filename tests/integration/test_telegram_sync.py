"""A desk with a Telegram channel served by FakeTelegram: the real sync, in-process and as `omnidesk sync`."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from omnidesk.demo.fakes.telegram import TOKEN, FakeTelegram
from omnidesk.services.sync import run_sync
from omnidesk.settings import ChannelSettings
from tests.integration.sync_env import desk_toml, open_desk_with
from tests.integration.test_dispatcher import until

REPO = Path(__file__).resolve().parents[2]
GROUP_ID = -1001234567890
PEOPLE = (FakeTelegram.user(5550001, "Anna", last_name="Kovács"),
          FakeTelegram.user(5550002, "مریم", last_name="احمدی"),
          FakeTelegram.user(5550003, "伟", last_name="王"),
          FakeTelegram.user(5550004, "Dilshod"),
          FakeTelegram.user(5550005, "Ann", username="ann_l"))


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


def telegram_channel(fake: FakeTelegram) -> ChannelSettings:
    return ChannelSettings(name="bot", kind="telegram",
                           options={"api_url": fake.api_url, "token": TOKEN, "long_poll_seconds": 1})


def to_the_bot(fake: FakeTelegram, user: dict[str, Any], words: str) -> dict[str, Any]:
    """A group message that mentions the bot first."""
    group = fake.chats.get(GROUP_ID) or fake.group_chat(GROUP_ID, "Customers")
    text = f"@desk_test_bot {words}"
    return fake.say(user, text, chat=group, entities=[{"type": "mention", "offset": 0, "length": 14}])


async def rows(desk, sql: str, *args: Any) -> list[tuple[Any, ...]]:  # type: ignore[no-untyped-def]
    return [tuple(r) for r in await desk.db.fetchall(sql, args)]


async def test_sync_once_files_the_messages_in_conversations(tmp_path: Path, tg: FakeTelegram) -> None:
    to_the_bot(tg, PEOPLE[0], "hol a csomagom?")
    tg.say(PEOPLE[1], "not for the bot", chat=tg.chats[GROUP_ID])
    to_the_bot(tg, PEOPLE[1], "سفارش من کجاست؟")
    to_the_bot(tg, PEOPLE[2], "我的退款在哪里？")
    desk = await open_desk_with(tmp_path, telegram_channel(tg))
    try:
        report = await run_sync(desk, once=True, stop=asyncio.Event(), dispatch=False)
        assert report.ok and report.channels["bot"].imported == 3, report
        stored = await rows(desk, "SELECT m.external_id, m.conversation_id, m.text, i.kind, i.address"
                            " FROM messages m JOIN identities i ON i.id = m.author_identity_id ORDER BY m.id")
        assert [(r[3], r[4]) for r in stored] == [("telegram", "5550001"), ("telegram", "5550002"),
                                                  ("telegram", "5550003")]
        assert [r[2] for r in stored] == ["@desk_test_bot hol a csomagom?", "@desk_test_bot سفارش من کجاست؟",
                                          "@desk_test_bot 我的退款在哪里？"]
        assert all(r[1] is not None for r in stored)
        again = await run_sync(desk, once=True, stop=asyncio.Event(), dispatch=False)
        assert again.channels["bot"].imported == 0
        assert tg.updates == []  # the second pass confirmed everything the first committed
    finally:
        await desk.db.close()


async def test_the_daemon_takes_a_message_that_arrives_while_it_long_polls(tmp_path: Path,
                                                                           tg: FakeTelegram) -> None:
    to_the_bot(tg, PEOPLE[0], "első")
    desk = await open_desk_with(tmp_path, telegram_channel(tg))
    stop = asyncio.Event()
    daemon = asyncio.create_task(run_sync(desk, once=False, stop=stop, dispatch=False))
    texts = "SELECT text FROM messages ORDER BY id"
    try:
        await until(lambda: rows(desk, texts), timeout=20)

        def long_polling() -> bool:
            return any(r.params.get("timeout") for r in tg.calls("getUpdates"))

        await asyncio.to_thread(tg.wait_for, long_polling)
        to_the_bot(tg, PEOPLE[1], "دوم")
        await until(lambda: _has(desk, texts, 2), timeout=20)
        assert [r[0] for r in await rows(desk, texts)] == ["@desk_test_bot első", "@desk_test_bot دوم"]
    finally:
        stop.set()
        await asyncio.wait_for(daemon, 30)
        await desk.db.close()


async def _has(desk, sql: str, n: int) -> bool:  # type: ignore[no-untyped-def]
    return len(await rows(desk, sql)) >= n


async def test_the_same_message_id_in_two_chats_is_two_messages(tmp_path: Path, tg: FakeTelegram) -> None:
    tg.say(PEOPLE[0], "first words of Anna")
    tg.say(PEOPLE[2], "王伟的第一句话")  # message_id 1 as well, in another chat
    desk = await open_desk_with(tmp_path, telegram_channel(tg))
    try:
        report = await run_sync(desk, once=True, stop=asyncio.Event(), dispatch=False)
        assert report.channels["bot"].imported == 2
    finally:
        await desk.db.close()


def _config(tmp_path: Path, fake: FakeTelegram) -> Path:
    return desk_toml(tmp_path, f"""
[channels.bot]
kind = "telegram"
api_url = "{fake.api_url}"
token_env = "TEST_BOT_TOKEN"
long_poll_seconds = 1""")


async def test_kill_9_mid_batch_then_a_restart_loses_and_doubles_nothing(tmp_path: Path,
                                                                         tg: FakeTelegram) -> None:
    total = 1500  # 15 getUpdates batches
    sent = [to_the_bot(tg, PEOPLE[n % len(PEOPLE)], f"kérdés {n} 问题 {n}") for n in range(total)]
    config = _config(tmp_path, tg)
    env = {**os.environ, "PYTHONPATH": str(REPO), "TEST_BOT_TOKEN": TOKEN}
    proc = subprocess.Popen([sys.executable, "-m", "omnidesk", "--config", str(config), "sync"],
                            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    desk = await open_desk_with(tmp_path)
    count = "SELECT count(*) FROM messages"
    try:
        async def started() -> bool:
            try:
                return (await rows(desk, count))[0][0] > 0
            except Exception:
                return False  # the schema is not there yet

        await until(started, timeout=60, interval=0.005)
        proc.kill()  # SIGKILL: no clean-up at all
        await asyncio.to_thread(proc.wait, 30)
        partial = (await rows(desk, count))[0][0]
        assert 0 < partial < total, "the kill did not land in the middle of the run"
        assert tg.updates, "updates not committed must still be unconfirmed at Telegram"

        rerun = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "omnidesk", "--config", str(config), "sync", "--once"],
            cwd=REPO, env=env, capture_output=True, timeout=120)
        assert rerun.returncode == 0, rerun.stderr.decode()
        stored = [r[0] for r in await rows(desk, "SELECT external_id FROM messages")]
        assert sorted(stored, key=int) == [str(m["message_id"]) for m in sent]  # none lost, none twice
        assert tg.updates == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        await desk.db.close()
