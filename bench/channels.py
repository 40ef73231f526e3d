#!/usr/bin/env python3
"""Chat channels against their local fakes: ingest rate and send latency, per adapter.

    python bench/channels.py [--messages 10000] [--replies 200] [--webhooks 3000] [--concurrency 16]
                             [--runs 3] [--adapters slack,telegram,mastodon,twilio]

For each chat adapter, with its fake (omnidesk/demo/fakes/) started in this process on loopback:

1. Ingest: `--messages` messages are put into the fake (Slack: a few channels with
   threads; Telegram: many private chats, as updates; Mastodon: mentions and direct
   messages of many accounts, as notifications), then `omnidesk sync --once
   --channel NAME` runs as a subprocess against a fresh desk whose channel's `api_url`
   points at the fake. The figure is messages/s from process start to exit, so it
   includes start-up, every HTTP round trip, every transaction and the full-text rows:
   committed and searchable. The counts in the database are checked against what was
   put in. CPU seconds are the sync process's (children) and the fake's (this process).
2. Send latency: `--replies` replies are queued one at a time through
   omnidesk.services.replies.queue_reply (undo window 0) on conversations the ingest
   made, and the real Dispatcher (`Dispatcher.run`, woken by the desk's outbox event as
   in `omnidesk sync`) sends them to the fake. Latency is from queue_reply's commit to
   its outbox row becoming `sent`, the channel's acceptance (polled every millisecond). The fake's own
   latency is a bare keep-alive request to the same send method, timed separately;
   the difference of the medians is what dispatch adds.
3. Webhooks (adapters that take pushes): `omnidesk sync` runs as a daemon with
   `[webhooks]` on a free loopback port, and this process sends `--webhooks` pushes
   the way the service does (Slack: signed Events API `message` events; Telegram:
   Updates with the secret token), `--concurrency` at a time over keep-alive
   connections. Each answer comes after its record is committed, so requests/s and
   the latency percentiles are "to committed"; the stored count is checked after.

Targets: each chat adapter ingests >= 2,000 messages/s end to end; dispatch adds
< 20 ms median to the fake's own latency; webhooks >= 500 requests/s with p99 < 50 ms.
Adding an adapter is one `Bench` entry in BENCHES: how to fill its fake, its channel
options, its send request (and, if it takes pushes, how they look). Twilio: 1,000
phones on an SMS number and a WhatsApp sender, read through the Messages list in pages
of 1,000 (the most Twilio gives), plus the delivery-status listing of our numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import logging
import os
import pstats
import resource
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from omnidesk.demo.fakes import mastodon as fmastodon  # noqa: E402
from omnidesk.demo.fakes import slack as fslack  # noqa: E402
from omnidesk.demo.fakes import telegram as ftelegram  # noqa: E402
from omnidesk.demo.fakes import twilio as ftwilio  # noqa: E402
from omnidesk.demo.fakes.httpfake import FakeHTTPServer  # noqa: E402
from omnidesk.desk import Desk  # noqa: E402
from omnidesk.outbound.outbox import Dispatcher  # noqa: E402
from omnidesk.services.replies import queue_reply  # noqa: E402
from omnidesk.settings import ChannelSettings, DeskSettings, Settings  # noqa: E402
from omnidesk.store.db import Database  # noqa: E402

TEXTS = ("Hello, my order #{n} has not arrived yet.", "A csomagom sérülten érkezett ({n}).",
         "我的订单 {n} 还没有到，请帮忙查一下。", "سفارش {n} من هنوز نرسیده است.")
INGEST_TARGET = 2000.0  # messages/s, end to end
DISPATCH_TARGET_MS = 20.0  # added to the fake's own median
TWILIO_SMS, TWILIO_WA = "+15005550006", "whatsapp:+14155238886"
WEBHOOK_TARGET = 500.0  # requests/s, each answered after its commit
WEBHOOK_P99_MS = 50.0
WEBHOOK_SECRET = "bench-webhook-secret"


@dataclass(frozen=True)
class Bench:
    """How one adapter is benchmarked: its fake, how to fill it, its options, a bare send."""

    kind: str
    fake: Callable[[], FakeHTTPServer]
    fill: Callable[[Any, int], str]  # puts n messages into the fake; says how they are spread
    options: Callable[[Any], dict[str, Any]]  # the channel's config keys, api_url at the fake
    bare_send: Callable[[Any, httpx.Client, int], None]  # one send request straight to the fake
    sent_count: Callable[[Any], int]  # how many messages the fake holds from us
    #: Requests as the service pushes them, (body, headers) each; the options that take them. None: no pushes.
    pushes: Callable[[Any, int], list[tuple[bytes, dict[str, str]]]] | None = None
    push_options: dict[str, Any] | None = None


def fill_slack(fake: fslack.FakeSlack, n: int) -> str:
    """Four channels; one message in ten is a reply, in threads of five replies."""
    users = [fake.add_user(f"customer{i}", real_name=f"Customer {i}", email=f"c{i}@example.com")
             for i in range(50)]
    channels = [fake.add_channel(f"support-{i}") for i in range(4)]
    parent: dict[int, str] = {}
    for i in range(n):
        where, k = i % len(channels), i // len(channels)
        who, text = users[i % len(users)], TEXTS[i % len(TEXTS)].format(n=i)
        if k % 50 >= 45:  # the last five of every fifty in a channel answer its latest top-level message
            fake.say(channels[where], who, text, thread_ts=parent[where])
        else:
            parent[where] = fake.say(channels[where], who, text)
    threads = sum(1 for c in channels for m in c.messages.values() if m.get("reply_count"))
    replies = sum(1 for c in channels for m in c.messages.values()
                  if m.get("thread_ts") not in (None, m["ts"]))
    return f"{len(channels)} channels, {len(users)} users, {threads} threads holding {replies} replies"


def fill_telegram(fake: ftelegram.FakeTelegram, n: int) -> str:
    """Private chats of 1,000 people, ten messages each (round robin, as updates)."""
    people = [fake.user(6_000_000 + i, f"Ügyfél{i}", last_name="Teszt") for i in range(min(1000, n))]
    for i in range(n):
        fake.say(people[i % len(people)], TEXTS[i % len(TEXTS)].format(n=i))
    return f"{len(people)} private chats, {len(fake.updates)} updates"


def fill_twilio(fake: ftwilio.FakeTwilio, n: int) -> str:
    """1,000 phones texting our SMS number, one in five on WhatsApp, in the last hour (paged by 1,000)."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    phones = [f"+3630{1000000 + i}" for i in range(min(1000, n))]
    for i in range(n):
        phone = phones[i % len(phones)]
        sender, to = (f"whatsapp:{phone}", TWILIO_WA) if i % 5 == 4 else (phone, TWILIO_SMS)
        fake.text(sender, to, TEXTS[i % len(TEXTS)].format(n=i), at=start + timedelta(milliseconds=300 * i))
    return f"{len(phones)} phones, {len(fake.messages)} messages on SMS and WhatsApp"


def fill_mastodon(fake: fmastodon.FakeMastodon, n: int) -> str:
    """1,000 accounts on four instances (and the desk's own), ten statuses each; one in four direct."""
    hosts = ("mastodon.social", "fosstodon.org", "hachyderm.io", "chaos.social", None)
    people = [fake.account(f"ugyfel{i}", hosts[i % len(hosts)], display_name=f"Ügyfél {i}")
              for i in range(min(1000, n))]
    for who in people:
        fake.follow(who)  # so their direct messages are not held back as notification requests
    for i in range(n):
        fake.mention(people[i % len(people)], TEXTS[i % len(TEXTS)].format(n=i),
                     visibility="direct" if i % 4 == 3 else "public")
    return f"{len(people)} accounts on {len(hosts)} instances, {len(fake.notifications)} notifications"


def slack_options(fake: fslack.FakeSlack) -> dict[str, Any]:
    return {"token": fslack.TOKEN, "api_url": fake.base_url}


def telegram_options(fake: ftelegram.FakeTelegram) -> dict[str, Any]:
    return {"token": ftelegram.TOKEN, "api_url": fake.api_url, "long_poll_seconds": 1}


def twilio_options(fake: ftwilio.FakeTwilio) -> dict[str, Any]:
    return {"account_sid": ftwilio.ACCOUNT_SID, "auth_token": ftwilio.AUTH_TOKEN, "api_url": fake.api_url,
            "numbers": [TWILIO_SMS, TWILIO_WA], "history_days": 1}


def mastodon_options(fake: fmastodon.FakeMastodon) -> dict[str, Any]:
    return {"access_token": fmastodon.TOKEN, "instance": fake.base_url}


def slack_bare_send(fake: fslack.FakeSlack, client: httpx.Client, i: int) -> None:
    channel = next(iter(fake.channels))
    r = client.post(f"{fake.base_url}chat.postMessage", headers={"Authorization": f"Bearer {fslack.TOKEN}"},
                    data={"channel": channel, "text": f"bare {i}"})
    assert r.json()["ok"], r.text


def telegram_bare_send(fake: ftelegram.FakeTelegram, client: httpx.Client, i: int) -> None:
    chat = next(iter(fake.chats))
    r = client.post(f"{fake.api_url}/bot{ftelegram.TOKEN}/sendMessage",
                    json={"chat_id": chat, "text": f"bare {i}"})
    assert r.json()["ok"], r.text


def twilio_bare_send(fake: ftwilio.FakeTwilio, client: httpx.Client, i: int) -> None:
    r = client.post(f"{fake.api_url}/2010-04-01/Accounts/{ftwilio.ACCOUNT_SID}/Messages.json",
                    auth=(ftwilio.ACCOUNT_SID, ftwilio.AUTH_TOKEN),
                    data={"To": "+36301000000", "From": TWILIO_SMS, "Body": f"bare {i}"})
    assert r.status_code == 201, r.text


def slack_pushes(fake: fslack.FakeSlack, n: int) -> list[tuple[bytes, dict[str, str]]]:
    """Signed `message` events by 50 people in one channel, as Slack's Events API posts them."""
    users = [fake.add_user(f"pusher{i}") for i in range(50)]
    channel = fake.add_channel("pushed")
    out = []
    for i in range(n):
        ts = f"{1_800_000_000 + i}.{i % 1_000_000:06d}"
        event = {"type": "message", "channel": channel.id, "user": users[i % len(users)].id, "ts": ts,
                 "text": TEXTS[i % len(TEXTS)].format(n=i), "event_ts": ts, "channel_type": "channel"}
        body = json.dumps(fake.event_callback(event), ensure_ascii=False).encode()
        out.append((body, fslack.signed_headers(fake.signing_secret, body)))
    return out


def telegram_pushes(fake: ftelegram.FakeTelegram, n: int) -> list[tuple[bytes, dict[str, str]]]:
    """Updates from 1,000 private chats with the secret token, as Telegram posts them to a webhook."""
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
    out = []
    for i in range(n):
        user = fake.user(7_000_000 + i % 1000, f"Ügyfél{i % 1000}")
        chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
        update = {"update_id": 800_000_000 + i, "message": {"message_id": 1 + i // 1000, "from": user,
                  "chat": chat, "date": int(time.time()), "text": TEXTS[i % len(TEXTS)].format(n=i)}}
        out.append((json.dumps(update, ensure_ascii=False).encode(), headers))
    return out


def mastodon_bare_send(fake: fmastodon.FakeMastodon, client: httpx.Client, i: int) -> None:
    auth = {"Authorization": f"Bearer {fmastodon.TOKEN}"}
    r = client.post(f"{fake.base_url}/api/v1/statuses", headers=auth,
                    data={"status": f"bare {i}", "visibility": "direct"})
    assert r.status_code == 200, r.text


BENCHES: dict[str, Bench] = {
    "slack": Bench("slack", fslack.FakeSlack, fill_slack, slack_options, slack_bare_send,
                   lambda fake: len(fake.bot_posts()), slack_pushes,
                   {"signing_secret": fslack.SIGNING_SECRET, "poll_seconds": 3600}),
    "telegram": Bench("telegram", ftelegram.FakeTelegram, fill_telegram, telegram_options, telegram_bare_send,
                      lambda fake: len(fake.sent()), telegram_pushes,
                      {"webhook": True, "webhook_secret": WEBHOOK_SECRET}),
    "twilio": Bench("twilio", ftwilio.FakeTwilio, fill_twilio, twilio_options, twilio_bare_send,
                    lambda fake: len(fake.sent())),
    "mastodon": Bench("mastodon", fmastodon.FakeMastodon, fill_mastodon, mastodon_options, mastodon_bare_send,
                      lambda fake: len(fake.posted())),
}


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return f'"{value}"' if isinstance(value, str) else str(value)


def write_config(work: Path, name: str, kind: str, options: dict[str, Any], extra: str = "") -> Path:
    config = work / "omnidesk.toml"
    keys = "".join(f"{k} = {toml_value(v)}\n" for k, v in options.items())
    config.write_text(f'[desk]\nname = "bench"\ndata_dir = "{work / "data"}"\n\n'
                      f'[channels.{name}]\nkind = "{kind}"\n{keys}{extra}', "utf-8")
    return config


def sync_env() -> dict[str, str]:
    return {**os.environ, "OMNIDESK_FORCE_TTY": "0",
            "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def webhook_rate(bench: Bench, fake: Any, work: Path, count: int, concurrency: int) -> dict[str, Any]:
    """`omnidesk sync` serving webhooks on a fresh desk; `count` pushes, `concurrency` at a time."""
    assert bench.pushes is not None and bench.push_options is not None
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    options = {**bench.options(fake), **bench.push_options}
    config = write_config(work, "chat", bench.kind, options, f'\n[webhooks]\nlisten = "127.0.0.1:{port}"\n')
    requests = bench.pushes(fake, count + concurrency)  # the first `concurrency` warm up
    daemon = subprocess.Popen([sys.executable, "-m", "omnidesk", "--config", str(config), "sync"],
                              env=sync_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        times, wall, failures = asyncio.run(_push_all(f"http://127.0.0.1:{port}/hooks/chat", requests,
                                                      concurrency))
    finally:
        daemon.send_signal(signal.SIGTERM)
        _, err = daemon.communicate(timeout=60)
    with sqlite3.connect(work / "data" / "omnidesk.db") as conn:
        stored = conn.execute("SELECT count(*) FROM messages").fetchone()[0]
    return {"times": times, "wall": wall, "failures": failures, "stored": stored, "sent": len(requests),
            "stderr": err.strip()[-400:] if daemon.returncode else ""}


async def _push_all(url: str, requests: list[tuple[bytes, dict[str, str]]],
                    concurrency: int) -> tuple[list[float], float, list[str]]:
    """Post every request, `concurrency` at a time; latencies of the measured ones, wall time, failures."""
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        deadline = time.monotonic() + 60
        while True:  # until the daemon listens
            try:
                async with session.get(url) as answer:
                    if answer.status == 405:
                        break
            except aiohttp.ClientError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.05)
        times: list[float] = []
        failures: list[str] = []

        async def one(body: bytes, headers: dict[str, str], timed: bool) -> None:
            started = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as answer:
                await answer.read()
                if answer.status != 200:
                    failures.append(f"HTTP {answer.status}")
            if timed:
                times.append(time.perf_counter() - started)

        async def worker(queue: list[tuple[bytes, dict[str, str]]]) -> None:
            while queue:
                body, headers = queue.pop()
                await one(body, headers, True)

        warm, rest = requests[:concurrency], list(reversed(requests[concurrency:]))
        await asyncio.gather(*(one(b, h, False) for b, h in warm))
        started = time.perf_counter()
        await asyncio.gather(*(worker(rest) for _ in range(concurrency)))
        return times, time.perf_counter() - started, failures


def report_webhooks(got: dict[str, Any], concurrency: int) -> None:
    times = got["times"]
    if not times:
        print(f"  webhooks: nothing measured; {got['failures'][:1]} {got['stderr']}")
        return
    rate = len(times) / got["wall"]
    p50, p99 = pct(times, 0.50), pct(times, 0.99)
    complete = not got["failures"] and got["stored"] == got["sent"]
    ok = rate >= WEBHOOK_TARGET and p99 < WEBHOOK_P99_MS and complete
    print(f"  webhooks, omnidesk sync daemon: {len(times)} pushes, {concurrency} at a time, answered after"
          f" commit in {got['wall']:.2f} s = {rate:,.0f} requests/s; p50 {p50:.1f} ms, p99 {p99:.1f} ms,"
          f" max {max(times) * 1000:.1f} ms; {got['stored']} of {got['sent']} stored (target >="
          f" {WEBHOOK_TARGET:,.0f}/s, p99 < {WEBHOOK_P99_MS:.0f} ms: {'meets' if ok else 'MISSES'})")
    if got["failures"]:
        print(f"  {len(got['failures'])} pushes refused; first: {got['failures'][0]}")


def ingest(bench: Bench, fake: Any, work: Path, profile: bool) -> dict[str, float]:
    """`omnidesk sync --once` into a fresh desk; wall and CPU seconds, and what the database holds."""
    config = write_config(work, "chat", bench.kind, bench.options(fake))
    env = sync_env()
    cmd = [sys.executable, "-m", "omnidesk", "--config", str(config), "sync", "--once", "--channel", "chat"]
    if profile:
        cmd[1:1] = ["-m", "cProfile", "-o", str(work / "sync.prof")]
    cpu, fake_cpu, started = children_cpu(), time.process_time(), time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    cpu, fake_cpu = children_cpu() - cpu, time.process_time() - fake_cpu
    if done.returncode != 0:
        print(f"  omnidesk sync --once exited {done.returncode}: {done.stderr.strip()[-600:]}")
    with sqlite3.connect(work / "data" / "omnidesk.db") as conn:
        stored = conn.execute("SELECT count(*) FROM messages WHERE direction = 'in'").fetchone()[0]
        indexed = conn.execute("SELECT count(*) FROM message_fts").fetchone()[0]
        conversations = conn.execute("SELECT count(*) FROM conversations").fetchone()[0]
    if profile:
        print_profile(work / "sync.prof")
    return {"wall": wall, "cpu": cpu, "fake_cpu": fake_cpu, "stored": stored, "indexed": indexed,
            "conversations": conversations}


async def send_latency(bench: Bench, fake: Any, work: Path,
                       replies: int) -> tuple[list[float], int, list[str]]:
    """Queue replies one at a time; seconds from commit to `sent` of each, and the failures."""
    channel = ChannelSettings(name="chat", kind=bench.kind, options=bench.options(fake))
    db = await Database.open(work / "data" / "omnidesk.db")
    settings = Settings(desk=DeskSettings(name="bench", undo_seconds=0), channels=(channel,))
    desk = Desk(db=db, settings=settings, data_dir=work / "data")
    conversations = [r[0] for r in await db.fetchall("SELECT id FROM conversations ORDER BY id LIMIT ?",
                                                     (replies,))]
    if not conversations:
        await db.close()
        return [], 0, ["no conversation was stored to reply to"]
    dispatcher = Dispatcher(desk)
    stop = asyncio.Event()
    runner = asyncio.create_task(dispatcher.run(stop))
    times: list[float] = []
    errors: list[str] = []
    try:
        # Reply 0 builds the adapter and connects: a warm-up, not counted. Conversations are
        # reused round robin when the ingest made fewer than `replies`.
        for n in range(replies + 1):
            text = f"Köszönjük, we are on it. 我们正在处理 ({n})"
            result = await queue_reply(desk, conversations[n % len(conversations)], text)
            queued = time.perf_counter()
            while True:  # outbox `sent`: the channel took it (Twilio's own delivery may still say queued)
                state = await db.fetchone("SELECT o.state, m.delivery_error FROM outbox o JOIN messages m"
                                          " ON m.id = o.message_id WHERE o.message_id = ?",
                                          (result.message_id,))
                assert state is not None
                if state[0] not in ("queued", "sending"):
                    break
                if time.perf_counter() - queued > 30:
                    state = ("timeout", "no answer within 30 s")
                    break
                await asyncio.sleep(0.001)
            if state[0] != "sent":
                errors.append(f"{state[0]}: {state[1]}")
            elif n:
                times.append(time.perf_counter() - queued)
    finally:
        stop.set()
        await runner
        await dispatcher.close()
        await db.close()
    return times, replies, errors


def print_profile(path: Path, top: int = 15) -> None:
    """Our functions in the sync process by cumulative time, and how often each ran.

    cProfile sees the main thread only: SQLite statements run on aiosqlite's thread and
    show here as the awaits (and call counts) of the functions that issue them.
    """
    out = io.StringIO()
    stats = pstats.Stats(str(path), stream=out).sort_stats("cumulative")
    stats.print_stats(r"/(omnidesk|adapters)/", top)
    lines = out.getvalue().splitlines()
    start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls")), 0)
    print("\n".join(f"    {line}" for line in lines[start:] if line.strip()))


def bare_latency(bench: Bench, fake: Any, count: int) -> list[float]:
    """The fake's own time for the send request, over one keep-alive connection."""
    times = []
    with httpx.Client(timeout=30) as client:
        bench.bare_send(fake, client, -1)  # connect
        for i in range(count):
            started = time.perf_counter()
            bench.bare_send(fake, client, i)
            times.append(time.perf_counter() - started)
    return times


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * q + 0.5) - 1)] * 1000


def run_one(bench: Bench, messages: int, replies: int, work: Path, profile: bool, webhooks: int = 0,
            concurrency: int = 16) -> None:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    with bench.fake() as fake:
        t0 = time.perf_counter()
        spread = bench.fill(fake, messages)
        print(f"  fake filled with {messages} messages ({spread}) in {time.perf_counter() - t0:.1f} s")
        got = ingest(bench, fake, work, profile)
        rate = got["stored"] / got["wall"]
        verdict = "meets" if rate >= INGEST_TARGET and got["stored"] == messages else "MISSES"
        print(f"  ingest, omnidesk sync --once: {got['stored']:.0f} of {messages} stored "
              f"({got['indexed']:.0f} searchable, {got['conversations']:.0f} conversations) in "
              f"{got['wall']:.2f} s"
              f" = {rate:,.0f} messages/s (target >= {INGEST_TARGET:,.0f}: {verdict}); CPU sync "
              f"{got['cpu']:.1f} s, fake {got['fake_cpu']:.1f} s")
        before = bench.sent_count(fake)
        times, queued, errors = asyncio.run(send_latency(bench, fake, work, replies))
        arrived = bench.sent_count(fake) - before
        bare = bare_latency(bench, fake, max(replies, 50))
    fake_ms = statistics.median(bare) * 1000
    print(f"  fake's own send request: median {fake_ms:.2f} ms, p95 {pct(bare, 0.95):.2f} ms "
          f"({len(bare)} requests)")
    if not times:
        print(f"  send: none of {queued} replies was sent; first error: {errors[0] if errors else '-'}")
        return
    median = statistics.median(times) * 1000
    added = median - fake_ms
    verdict = "meets" if added < DISPATCH_TARGET_MS and not errors else "MISSES"
    print(f"  send, queued -> sent: {len(times)} of {queued} replies (the fake holds {arrived}); median "
          f"{median:.2f} ms, p95 {pct(times, 0.95):.2f} ms, max {max(times) * 1000:.2f} ms; dispatch adds "
          f"{added:.2f} ms median (target < {DISPATCH_TARGET_MS:.0f} ms: {verdict})")
    if errors:
        print(f"  {len(errors)} not sent; first: {errors[0]}")
    if webhooks and bench.pushes is not None:
        with bench.fake() as fake:
            report_webhooks(webhook_rate(bench, fake, work.with_name(work.name + "-webhooks"), webhooks,
                                         concurrency), concurrency)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=10_000)
    ap.add_argument("--replies", type=int, default=200)
    ap.add_argument("--webhooks", type=int, default=3000, help="pushes per adapter that takes them (0: none)")
    ap.add_argument("--concurrency", type=int, default=16, help="pushes in flight at a time")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--profile", action="store_true",
                    help="run the sync under cProfile and print its top functions (slows it down)")
    ap.add_argument("--adapters", default=",".join(BENCHES), help=f"comma-separated, of {', '.join(BENCHES)}")
    args = ap.parse_args()
    logging.getLogger().setLevel(logging.ERROR)  # failed sends are counted and summed up below
    chosen = [a.strip() for a in args.adapters.split(",") if a.strip()]
    unknown = [a for a in chosen if a not in BENCHES]
    if unknown:
        sys.exit(f"unknown adapter(s): {', '.join(unknown)}; known: {', '.join(BENCHES)}")
    with tempfile.TemporaryDirectory(prefix="omnidesk-bench-channels-") as tmp:
        for run in range(1, args.runs + 1):
            for name in chosen:
                at = datetime.now(UTC).strftime("%H:%M:%S UTC")
                print(f"{name}, run {run} at {at}, {os.cpu_count()} cores, load average "
                      f"{os.getloadavg()[0]:.1f}")
                run_one(BENCHES[name], args.messages, args.replies, Path(tmp) / name, args.profile,
                        args.webhooks, args.concurrency)
    print(f"reproduce: python bench/channels.py --messages {args.messages} --replies {args.replies}"
          f" --webhooks {args.webhooks} --concurrency {args.concurrency}"
          f" --runs {args.runs} --adapters {','.join(chosen)}{' --profile' if args.profile else ''}")


if __name__ == "__main__":
    main()
