"""The daemon's webhook listener over real HTTP, with Slack's Events API pushed by FakeSlack.

Refusals (forged, stale, oversized, unknown path, wrong method) store nothing; a push is
committed before it is answered; replays, Slack's retries and polling of the same
conversation never double a message; edits and deletions that polling cannot see arrive.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import httpx
import pytest

from adapters.base import Address, Batch, Capabilities, Edit, Inbound, Option, WebhookReply, WebhookRequest
from omnidesk.demo.fakes.slack import SIGNING_SECRET, TOKEN, FakeSlack, signed_headers
from omnidesk.registry import register, unregister
from omnidesk.settings import ChannelSettings
from omnidesk.store.reads import timeline
from tests.integration.sync_env import fill_maildir, maildir_channel
from tests.integration.test_dispatcher import until
from tests.integration.webhook_env import Daemon, counts, daemon, polled


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


def slack_channel(fake: FakeSlack, **extra: object) -> ChannelSettings:
    options = {"token": TOKEN, "api_url": fake.base_url, "poll_seconds": 3600,
               "signing_secret": SIGNING_SECRET, **extra}
    return ChannelSettings(name="team", kind="slack", options=options)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False, timeout=20) as c:
        yield c


async def texts(d: Daemon) -> list[str]:
    return [r[0] for r in await d.desk.db.fetchall("SELECT text FROM messages ORDER BY id")]


def message_event(fake: FakeSlack, channel_id: str, user: str, text: str, ts: str) -> bytes:
    event = {"type": "message", "channel": channel_id, "user": user, "text": text, "ts": ts, "event_ts": ts,
             "channel_type": "channel", "team": "T0DESK001"}
    return json.dumps(fake.event_callback(event)).encode()


async def test_url_verification_answers_the_challenge(tmp_path: Path, slack: FakeSlack) -> None:
    async with daemon(tmp_path, slack_channel(slack)) as d:
        status, body = await asyncio.to_thread(slack.url_verification, d.url("team"), "chälleng3-Ω")
        assert status == 200 and json.loads(body) == {"challenge": "chälleng3-Ω"}
        assert await counts(d.desk) == (0, 0, 0, 0)


async def test_forged_signatures_are_refused_and_store_nothing(tmp_path: Path, slack: FakeSlack,
                                                               client: httpx.AsyncClient) -> None:
    ann, support = slack.add_user("ann"), slack.add_channel("support")
    async with daemon(tmp_path, slack_channel(slack)) as d:
        body = message_event(slack, support.id, ann.id, "forged 伪造", "1800000000.000100")
        wrong = signed_headers("not-the-secret", body)
        assert (await client.post(d.url("team"), content=body, headers=wrong)).status_code == 401
        tampered = signed_headers(SIGNING_SECRET, body)
        assert (await client.post(d.url("team"), content=body.replace(b"forged", b"forgeD"),
                                  headers=tampered)).status_code == 401
        unsigned = {"Content-Type": "application/json"}
        assert (await client.post(d.url("team"), content=body, headers=unsigned)).status_code == 401
        assert await counts(d.desk) == (0, 0, 0, 0)
        # The same body, signed: taken.
        ok = await client.post(d.url("team"), content=body, headers=signed_headers(SIGNING_SECRET, body))
        assert ok.status_code == 200 and await texts(d) == ["forged 伪造"]


async def test_a_replay_stores_nothing_new_and_a_stale_one_is_refused(tmp_path: Path, slack: FakeSlack,
                                                                      client: httpx.AsyncClient) -> None:
    ann, support = slack.add_user("مریم"), slack.add_channel("support")
    async with daemon(tmp_path, slack_channel(slack)) as d:
        body = message_event(slack, support.id, ann.id, "سلام، سفارش من کجاست؟", "1800000000.000200")
        captured = signed_headers(SIGNING_SECRET, body)
        for _ in range(3):  # the very same request, three times within the window
            assert (await client.post(d.url("team"), content=body, headers=captured)).status_code == 200
        after = await counts(d.desk)
        assert after[0] == 1
        # Slack's own retries of the same event.
        for n in (1, 2, 3):
            retry = signed_headers(SIGNING_SECRET, body, retry_num=n)
            assert (await client.post(d.url("team"), content=body, headers=retry)).status_code == 200
        assert await counts(d.desk) == after
        # Replayed six minutes later (and one from the future): refused, 403.
        for skew in (-360, 360):
            stale = signed_headers(SIGNING_SECRET, body, timestamp=int(time.time()) + skew)
            refused = await client.post(d.url("team"), content=body, headers=stale)
            assert refused.status_code == 403
        assert await counts(d.desk) == after


async def test_oversized_bodies_unknown_paths_and_other_methods_are_refused(
        tmp_path: Path, slack: FakeSlack, client: httpx.AsyncClient,
        caplog: pytest.LogCaptureFixture) -> None:
    fill_maildir(tmp_path / "maildir", 1)
    mail = maildir_channel("support", tmp_path / "maildir")
    async with daemon(tmp_path, slack_channel(slack), mail, max_body_bytes=4096) as d:
        await until(lambda: _has_mail(d), timeout=20)
        before = await counts(d.desk)
        big = b'{"type":"event_callback","pad":"' + b"x" * 5000 + b'"}'
        said = await client.post(d.url("team"), content=big, headers=signed_headers(SIGNING_SECRET, big))
        assert said.status_code == 413  # Content-Length says so: refused before reading

        async def trickle() -> AsyncIterator[bytes]:  # no Content-Length: the capped read finds out
            for _ in range(10):
                yield b"y" * 1000

        chunked = await client.post(d.url("team"), content=trickle(), headers={"X-Slack-Signature": "v0=0"})
        assert chunked.status_code == 413
        assert (await client.post(f"{d.base}/hooks/nobody", content=b"{}")).status_code == 404
        assert (await client.post(f"{d.base}/other", content=b"{}")).status_code == 404
        assert (await client.post(d.url("support"), content=b"{}")).status_code == 404  # mail takes no pushes
        assert (await client.post(d.url("team") + "/sub", content=b"{}")).status_code == 404
        got = await client.get(d.url("team"))
        assert got.status_code == 405 and got.headers["allow"] == "POST"
        assert await counts(d.desk) == before
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert any("refused 413" in line and "channel team" in line for line in refusals)
    assert any("refused 404" in line and "/hooks/nobody" in line for line in refusals)
    assert all("xxxx" not in line for line in refusals)  # no body in the log


async def _has_mail(d: Daemon) -> bool:
    return bool(await texts(d))


async def test_edits_and_deletions_polling_cannot_see_arrive_by_push(tmp_path: Path,
                                                                     slack: FakeSlack) -> None:
    ann, support = slack.add_user("ann", real_name="Kovács Anna"), slack.add_channel("support")
    async with daemon(tmp_path, slack_channel(slack)) as d:
        await until(lambda: polled(d.desk, "team"), timeout=20)  # the start's poll, before anyone writes
        pusher = slack.subscribe(d.url("team"))
        old = slack.say(support, ann, "Rendelésem sérült")
        gone = slack.say(support, ann, "oops, wrong channel")  # no replies: polling never sees it deleted
        parent = slack.say(support, ann, "a thread")
        slack.say(support, ann, "a reply in the thread", thread_ts=parent)
        slack.edit(support, old, "Rendelésem sérült, fotó csatolva")
        slack.delete(support, gone)
        slack.delete(support, parent)  # has a reply: Slack keeps a tombstone, pushed as a change
        await asyncio.to_thread(pusher.wait_idle, 20)
        assert pusher.given_up == [] and all(x.status == 200 for x in pusher.deliveries)
        rows = {r[0]: (r[1], r[2]) for r in await d.desk.db.fetchall(
            "SELECT external_id, text, deleted_at IS NOT NULL FROM messages")}
        assert rows[old] == ("Rendelésem sérült, fotó csatolva", 0)
        assert rows[gone][1] == 1 and rows[parent][1] == 1
        conversation = (await d.desk.db.fetchone("SELECT conversation_id FROM messages WHERE external_id = ?",
                                                 (old,)))[0]
        shown = await timeline(d.desk.db, conversation, None)
        assert shown is not None
        edited = next(m for m in shown.messages if m.text.startswith("Rendelésem"))
        assert [e.text for e in edited.edits] == ["Rendelésem sérült"]  # the old text, kept
        kinds = [r[0] for r in await d.desk.db.fetchall("SELECT kind FROM events")]
        assert kinds.count("message_edited") == 1 and kinds.count("message_deleted") == 2


async def test_pushes_not_acknowledged_are_sent_again_and_stored_once(tmp_path: Path,
                                                                      slack: FakeSlack) -> None:
    """Nobody listens at first: Slack retries (X-Slack-Retry-Num) until the daemon is up."""
    from tests.fakes.smtp_server import free_port

    ann, dm = slack.add_user("王伟"), slack.open_dm(slack.add_user("x"))
    port = free_port()
    pusher = slack.subscribe(f"http://127.0.0.1:{port}/hooks/team", retry_seconds=0.3, max_attempts=0)
    ts = slack.say(dm, ann, "我的退款在哪里？")
    await asyncio.to_thread(slack.wait_for, lambda: len(pusher.deliveries) >= 2, 20)
    async with daemon(tmp_path, slack_channel(slack), port=port) as d:
        await asyncio.to_thread(pusher.wait_idle, 20)
        retried = [x for x in pusher.deliveries if x.attempt > 0]
        assert retried and retried[-1].status == 200 and pusher.deliveries[0].status is None
        assert [r[0] for r in await d.desk.db.fetchall("SELECT external_id FROM messages")] == [ts]


async def test_pushes_and_polling_together_store_each_message_once(tmp_path: Path, slack: FakeSlack) -> None:
    ann, bob = slack.add_user("ann"), slack.add_user("bob", real_name="Dilshod")
    support, dm = slack.add_channel("support"), slack.open_dm(bob)
    async with daemon(tmp_path, slack_channel(slack, poll_seconds=0.1, batch_size=7)) as d:
        pusher = slack.subscribe(d.url("team"))
        sent = []
        for n in range(60):
            where, who = (support, ann) if n % 2 else (dm, bob)
            ts = slack.say(where, who, f"üzenet {n} 消息")
            sent.append(ts)
            if n % 7 == 0:
                sent.append(slack.say(where, who, f"reply to {n}", thread_ts=ts))
            if n % 5 == 0:
                await asyncio.sleep(0.05)  # let polls run between the pushes
        async with httpx.AsyncClient(trust_env=False) as web:  # the bot posts (pushed back as an event too)
            auth = {"Authorization": f"Bearer {TOKEN}"}
            reply = (await web.post(slack.base_url + "chat.postMessage", headers=auth,
                                    json={"channel": support.id, "text": "our answer"})).json()
        await asyncio.to_thread(pusher.wait_idle, 30)

        async def polled_all() -> bool:
            stored = [r[0] for r in await d.desk.db.fetchall("SELECT external_id FROM messages")]
            return set(sent) <= set(stored)

        await until(polled_all, timeout=30)
        await asyncio.sleep(0.5)  # a few more polls and their dedupe
        stored = [r[0] for r in await d.desk.db.fetchall("SELECT external_id FROM messages")]
        assert sorted(stored) == sorted(sent)  # each once; the bot's own post is no customer message
        assert reply["ts"] not in stored


class SlowHook:
    """A test kind whose pushes take `X-Delay` seconds to read: a slow service lookup, say."""

    kind = "test-slow-hook"
    capabilities = Capabilities()
    options: tuple[Option, ...] = ()
    entered: asyncio.Event | None = None
    seen: ClassVar[list[WebhookRequest]] = []

    def __init__(self, name: str, options: object, secret: object) -> None:
        self.name = name

    async def poll(self, cursor: str | None) -> AsyncIterator[Batch]:
        return
        yield

    async def wait_for_changes(self, timeout: float) -> None:
        await asyncio.sleep(timeout)

    async def send(self, outbound: object) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        return None

    async def webhook(self, request: WebhookRequest) -> tuple[Batch, WebhookReply]:
        SlowHook.seen.append(request)
        if SlowHook.entered is not None:
            SlowHook.entered.set()
        await asyncio.sleep(float(request.headers.get("x-delay", "0")))
        text = request.body.decode()
        record = Inbound(external_id=text, sender=Address("telegram", "5550001"), sent_at=datetime.now(UTC),
                         text=text, chat_like=True, scope="chat")
        # "bad" carries an edit the store cannot take (no time): its commit fails.
        updates = [Edit(text, text, None, "chat")] if text == "bad" else []  # type: ignore[arg-type]
        return Batch([record], None, updates=updates), WebhookReply(202, b"taken")


@pytest.fixture
def slow_kind() -> Iterator[ChannelSettings]:
    register(SlowHook.kind, SlowHook)  # type: ignore[arg-type]
    SlowHook.entered = asyncio.Event()
    SlowHook.seen = []
    try:
        yield ChannelSettings(name="slow", kind=SlowHook.kind)
    finally:
        unregister(SlowHook.kind)
        SlowHook.entered = None


async def test_a_slow_request_holds_up_no_other(tmp_path: Path, slow_kind: ChannelSettings,
                                                client: httpx.AsyncClient) -> None:
    async with daemon(tmp_path, slow_kind) as d:
        finished: list[str] = []

        async def post(text: str, delay: float) -> None:
            answer = await client.post(d.url("slow"), content=text.encode(), headers={"X-Delay": str(delay)})
            assert answer.status_code == 202 and answer.content == b"taken"
            finished.append(text)

        slow = asyncio.create_task(post("slow", 2.0))
        assert SlowHook.entered is not None
        await asyncio.wait_for(SlowHook.entered.wait(), 10)
        await asyncio.gather(*(post(f"fast {n}", 0) for n in range(20)))
        assert "slow" not in finished  # twenty answered (and committed) while the slow one still reads
        assert len(await texts(d)) == 20
        await slow
        assert finished[-1] == "slow" and len(await texts(d)) == 21


async def test_stopping_the_daemon_drains_a_request_in_flight(tmp_path: Path, slow_kind: ChannelSettings,
                                                              client: httpx.AsyncClient) -> None:
    async with daemon(tmp_path, slow_kind) as d:
        slow = asyncio.create_task(client.post(d.url("slow"), content=b"in flight", headers={"X-Delay": "1"}))
        assert SlowHook.entered is not None
        await asyncio.wait_for(SlowHook.entered.wait(), 10)
        d.stop.set()  # what SIGTERM does
        answer = await slow
        assert answer.status_code == 202 and await texts(d) == ["in flight"]  # committed, then answered
        await asyncio.wait_for(d.task, 30)
        with pytest.raises(httpx.ConnectError):
            await client.post(d.url("slow"), content=b"too late")


async def test_a_push_that_cannot_be_committed_is_a_500_and_fails_no_other(tmp_path: Path,
                                                                           slow_kind: ChannelSettings,
                                                                           client: httpx.AsyncClient) -> None:
    async with daemon(tmp_path, slow_kind) as d:
        names = [f"good {n}" for n in range(30)]
        names.insert(15, "bad")
        answers = await asyncio.gather(*(client.post(d.url("slow"), content=n.encode()) for n in names))
        status = dict(zip(names, (a.status_code for a in answers), strict=True))
        assert status.pop("bad") == 500 and set(status.values()) == {202}  # the sender tries "bad" again
        assert sorted(await texts(d)) == sorted(status)


async def test_a_listen_address_in_use_stops_the_daemon_with_one_line(tmp_path: Path,
                                                                      slack: FakeSlack) -> None:
    import socket
    from dataclasses import replace

    from omnidesk.errors import UserError
    from omnidesk.services.sync import run_sync
    from omnidesk.settings import WebhookSettings
    from tests.integration.sync_env import open_desk_with

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        desk = await open_desk_with(tmp_path, slack_channel(slack))
        hooks = WebhookSettings("127.0.0.1", port, f"http://127.0.0.1:{port}")
        desk = replace(desk, settings=replace(desk.settings, webhooks=hooks))
        try:
            with pytest.raises(UserError) as failed:
                await run_sync(desk, once=False, stop=asyncio.Event(), dispatch=False, webhooks=True)
            assert str(failed.value).startswith(f"webhooks.listen 127.0.0.1:{port}: cannot listen (")
            assert slack.requests == []  # no channel started
        finally:
            await desk.db.close()


async def test_the_adapter_gets_the_url_as_signed_the_sub_path_and_lower_case_headers(
        tmp_path: Path, slow_kind: ChannelSettings, client: httpx.AsyncClient) -> None:
    async with daemon(tmp_path, slow_kind) as d:
        answer = await client.post(d.url("slow") + "/status?MessageSid=SM1&To=%2B3630",
                                   content="Ünnep 节日".encode(), headers={"X-Twilio-Signature": "abc=",
                                                                          "X-Extra": "1"})
        assert answer.status_code == 202
    (seen,) = SlowHook.seen
    assert seen.method == "POST" and seen.path == "/status"
    assert seen.url == f"{d.base}/hooks/slow/status?MessageSid=SM1&To=%2B3630"
    assert seen.headers["x-twilio-signature"] == "abc=" and seen.headers["x-extra"] == "1"
    assert seen.body == "Ünnep 节日".encode()
