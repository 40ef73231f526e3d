"""A desk with a Mastodon channel served by FakeMastodon: the real sync, replies, edits and deletions."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from omnidesk.demo.fakes.mastodon import DOMAIN, TOKEN, FakeMastodon
from omnidesk.services.replies import queue_reply
from omnidesk.services.sync import run_sync
from omnidesk.settings import ChannelSettings
from omnidesk.store.reads import timeline
from tests.integration.sync_env import desk_toml, open_desk_with

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def social() -> Iterator[FakeMastodon]:
    with FakeMastodon() as fake:
        yield fake


def mastodon_channel(fake: FakeMastodon) -> ChannelSettings:
    return ChannelSettings(name="social", kind="mastodon",
                           options={"instance": fake.base_url, "access_token": TOKEN, "poll_seconds": 1,
                                    "refresh_minutes": 0})


async def rows(desk, sql: str, *args: Any) -> list[tuple[Any, ...]]:  # type: ignore[no-untyped-def]
    return [tuple(r) for r in await desk.db.fetchall(sql, args)]


async def sync(desk) -> Any:  # type: ignore[no-untyped-def]
    report = await asyncio.wait_for(run_sync(desk, once=True, stop=asyncio.Event()), 60)
    assert report.channels["social"].last_error in (None, ""), report
    return report


async def test_mentions_and_a_held_direct_message_become_conversations(tmp_path: Path,
                                                                       social: FakeMastodon) -> None:
    social.mention(social.account("ann", "mastodon.social", display_name="Ann Lee"), "where is my parcel?")
    social.mention(social.account("maryam", "fosstodon.org", display_name="مریم"), "سفارشم کجاست؟",
                   visibility="direct")
    social.mention(social.account("wei", display_name="王伟"), "我的退款在哪里？")
    desk = await open_desk_with(tmp_path, mastodon_channel(social))
    try:
        report = await sync(desk)
        assert report.channels["social"].imported == 3
        stored = await rows(desk, "SELECT m.text, i.kind, i.address FROM messages m"
                            " JOIN identities i ON i.id = m.author_identity_id ORDER BY m.id")
        assert {(r[1], r[2]) for r in stored} == {("mastodon", "ann@mastodon.social"),
                                                  ("mastodon", "maryam@fosstodon.org"),
                                                  ("mastodon", f"wei@{DOMAIN}")}
        assert not social.held  # the held direct message was read, then its request accepted
        assert (await sync(desk)).channels["social"].imported == 0
    finally:
        await desk.db.close()


async def test_a_reply_goes_out_in_kind_and_the_customers_answer_joins_the_conversation(
        tmp_path: Path, social: FakeMastodon) -> None:
    maryam = social.account("maryam", "fosstodon.org", display_name="مریم")
    question = social.mention(maryam, "سفارشم کجاست؟", visibility="direct")
    desk = await open_desk_with(tmp_path, mastodon_channel(social))
    try:
        await sync(desk)
        ((conversation_id,),) = await rows(desk, "SELECT conversation_id FROM messages")
        await queue_reply(desk, conversation_id, "فردا می‌رسد. 明天到。")
        await sync(desk)  # sends it
        (ours,) = social.posted()
        assert ours["visibility"] == "direct" and ours["in_reply_to_id"] == question["id"]
        assert ours["mentions"][0]["acct"] == "maryam@fosstodon.org"
        social.mention(maryam, "ممنون!", visibility="direct", in_reply_to=ours)
        await sync(desk)
        stored = await rows(desk, "SELECT direction, conversation_id, delivery FROM messages ORDER BY id")
        assert [r[0] for r in stored] == ["in", "out", "in"]
        assert {r[1] for r in stored} == {conversation_id}  # threaded through our status's id
        assert stored[1][2] == "sent"
    finally:
        await desk.db.close()


async def test_an_edit_and_a_deletion_reach_the_timeline(tmp_path: Path, social: FakeMastodon) -> None:
    ann = social.account("ann", "mastodon.social")
    typo = social.mention(ann, "my ordr")
    gone = social.mention(ann, "never mind")
    desk = await open_desk_with(tmp_path, mastodon_channel(social))
    try:
        await sync(desk)
        social.edit(typo, "my order")
        social.delete(gone)
        await sync(desk)
        ((conversation_id,),) = set(await rows(desk, "SELECT conversation_id FROM messages"))
        conv = await timeline(desk.db, conversation_id, None)
        assert conv is not None
        edited, deleted = conv.messages
        assert edited.text == f"@support@{DOMAIN} my order"
        assert [e.text for e in edited.edits] == [f"@support@{DOMAIN} my ordr"]
        assert deleted.deleted_at is not None and deleted.text == f"@support@{DOMAIN} never mind"
    finally:
        await desk.db.close()


async def test_a_revoked_token_marks_the_channel_unhealthy(tmp_path: Path, social: FakeMastodon) -> None:
    from omnidesk.store.channels import channel_health

    social.revoke()
    desk = await open_desk_with(tmp_path, mastodon_channel(social))
    try:
        report = await asyncio.wait_for(run_sync(desk, once=True, stop=asyncio.Event()), 60)
        assert not report.ok and "refused the access token" in (report.channels["social"].last_error or "")
        (health,) = [h for h in await channel_health(desk.db) if h.name == "social"]
        assert health.failing and "ConfigurationError" in (health.last_error or "")
    finally:
        await desk.db.close()


async def test_doctor_connect_shows_the_account_and_names_a_revoked_token(tmp_path: Path,
                                                                         social: FakeMastodon) -> None:
    config = desk_toml(tmp_path, f"""
[channels.social]
kind = "mastodon"
instance = "{social.base_url}"
access_token_env = "TEST_MASTODON_TOKEN"
""")
    doctor = [sys.executable, "-m", "omnidesk", "--config", str(config), "doctor", "--connect"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "TEST_MASTODON_TOKEN": TOKEN}
    ok = await asyncio.to_thread(subprocess.run, doctor, cwd=REPO, env=env, capture_output=True, text=True,
                                 timeout=120)
    assert f"mastodon verify_credentials\tok\t@support@{DOMAIN}" in ok.stdout, ok.stdout + ok.stderr
    assert "mastodon instance\tok" in ok.stdout and "mastodon notification policy\tok" in ok.stdout
    social.revoke()
    bad = await asyncio.to_thread(subprocess.run, doctor, cwd=REPO, env=env, capture_output=True, text=True,
                                  timeout=120)
    assert bad.returncode != 0
    assert "mastodon verify_credentials\tfail\tchannel social: " in bad.stdout
    assert "(The access token was revoked)" in bad.stdout and TOKEN not in bad.stdout + bad.stderr
