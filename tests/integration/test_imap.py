"""IMAP sync against a real Dovecot: cursors, flags, IDLE, reconnects, UIDVALIDITY, big mail."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import aioimaplib
import pytest

from adapters.base import FLAG_QUARANTINED, Batch, PermanentError, TransientError
from adapters.email.channel import EmailAdapter
from adapters.email.imap import encode_mailbox, load_cursor, message_set
from adapters.email.imapconn import _FetchReader
from tests.integration.conftest import email_options, secret_for
from tests.integration.dovecot import Dovecot

pytestmark = pytest.mark.dovecot


def mail(i: int, *, sender: str = "ann@example.com", subject: str | None = None, body: str = "") -> bytes:
    return (
        f"From: Customer {i} <{sender}>\r\nTo: support@desk.test\r\n"
        f"Subject: {subject or f'Question {i}'}\r\nMessage-ID: <m{i}@example.com>\r\n"
        f"Date: Mon, 23 Nov 2026 10:00:00 +0100\r\n\r\n{body or f'Body of message {i}.'}\r\n"
    ).encode()


def adapter(server: Dovecot, **overrides: Any) -> EmailAdapter:
    options = email_options(server, **overrides)
    a = EmailAdapter("support", options, secret_for(options))
    a.imap.reconnect_base_seconds = 0.05  # keep reconnect tests fast; the policy is the same
    return a


async def drain(a: EmailAdapter, cursor: str | None) -> tuple[list[Batch], str | None]:
    batches = [b async for b in a.poll(cursor)]
    return batches, (batches[-1].cursor if batches else cursor)


async def server_flags(server: Dovecot, folder: str = "INBOX") -> dict[int, str]:
    """UID -> FLAGS as another client sees them (read-only EXAMINE)."""
    c = aioimaplib.IMAP4(port=server.port, timeout=5)
    await c.wait_hello_from_server()
    await c.login(server.user, server.password)
    await c.examine(encode_mailbox(folder))
    c.protocol.state = "SELECTED"
    resp = await c.uid("fetch", "1:*", "(UID FLAGS)")
    await c.logout()
    out = {}
    for line in resp.lines:
        if isinstance(line, bytes) and b"FETCH" in line:
            uid = int(line.split(b"UID ")[1].split()[0].rstrip(b")"))
            out[uid] = line.split(b"FLAGS (")[1].split(b")")[0].decode()
    return out


async def wait_until(pred: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


# ------------------------------------------------------------------ pure helpers


def test_message_set_and_mailbox_encoding() -> None:
    assert message_set([1, 2, 3, 5, 7, 8]) == "1:3,5,7:8"
    assert message_set([4]) == "4"
    assert encode_mailbox("INBOX") == '"INBOX"'
    assert encode_mailbox('A "b" & c') == '"A \\"b\\" &- c"'
    assert encode_mailbox("Ügyfelek") == '"&ANw-gyfelek"'
    assert encode_mailbox("客户") == '"&W6JiNw-"'


class _Transport:
    def __init__(self) -> None:
        self.paused = False

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False


@pytest.mark.parametrize("step", [1, 7, 4096])
async def test_fetch_reader_streams_literals_in_any_split(step: int) -> None:
    answer = (b"* 1 FETCH (UID 7 BODY[] {7}\r\nhel\r\nlo)\r\n"
              b"* 4 EXISTS\r\n"
              b"* 2 FETCH (BODY[] {7}\r\n\xc3\xbcgy {} UID 9)\r\n"
              b"* 3 FETCH (FLAGS (\\Seen) UID 10)\r\n"
              b"A7 OK Fetch completed.\r\n")
    reader = _FetchReader(b"A7", _Transport())
    got = []
    for i in range(0, len(answer), step):
        reader.feed(answer[i : i + step])
        got += reader.take()
    assert reader.done and not reader.failure
    assert got == [(7, b"hel\r\nlo"), (9, "ügy {}".encode())]


async def test_fetch_reader_reports_a_refusal_and_pauses_a_slow_consumer() -> None:
    transport = _Transport()
    reader = _FetchReader(b"B1", transport)
    reader.MAX_BUFFERED = 10
    reader.feed(b"* 1 FETCH (UID 1 BODY[] {12}\r\n0123456789ab)\r\n")
    assert transport.paused and reader.ready.is_set()
    assert reader.take() == [(1, b"0123456789ab")] and not transport.paused
    reader.feed(b"B1 NO [SERVERBUG] broken\r\n")
    assert reader.done and reader.failure == "NO [SERVERBUG] broken"


def test_garbage_cursor_means_start_over() -> None:
    assert load_cursor(None) == {}
    assert load_cursor("not json") == {}
    assert load_cursor('{"folders": 3}') == {}


# ------------------------------------------------------------------ sync


async def test_first_sync_then_incremental_and_flags_untouched(dovecot: Dovecot) -> None:
    dovecot.deliver(mail(1))
    dovecot.deliver(mail(2), flags="S")  # read by another client: still ours to ingest
    dovecot.deliver(mail(3, subject="Kedves Ügyfélszolgálat, 退款 / بازپرداخت"))
    a = adapter(dovecot, batch_size=2)
    try:
        batches, cursor = await drain(a, None)
        assert [len(b.records) for b in batches] == [2, 1]
        records = [r for b in batches for r in b.records]
        assert [r.external_id for r in records] == [f"<m{i}@example.com>" for i in (1, 2, 3)]
        assert records[2].subject == "Kedves Ügyfélszolgálat, 退款 / بازپرداخت"
        assert records[0].raw == mail(1)
        assert records[0].meta["imap"]["uid"] == 1
        state = json.loads(cursor or "")["folders"]["INBOX"]
        assert state["last_uid"] == 3 and state["uidvalidity"] == dovecot.uidvalidity()
        # Each batch's cursor covers exactly the records handed out so far.
        assert json.loads(batches[0].cursor or "")["folders"]["INBOX"]["last_uid"] == 2

        assert await drain(a, cursor) == ([], cursor)  # nothing new: no batch at all
        dovecot.deliver(mail(4))
        batches, _ = await drain(a, cursor)
        assert [r.external_id for b in batches for r in b.records] == ["<m4@example.com>"]

        flags = await server_flags(dovecot)
        assert "\\Seen" not in flags[1] and "\\Seen" not in flags[3] and "\\Seen" not in flags[4]
        assert "\\Seen" in flags[2]
    finally:
        await a.close()


async def test_empty_mailbox_records_uidvalidity_once(dovecot: Dovecot) -> None:
    a = adapter(dovecot)
    try:
        batches, cursor = await drain(a, None)
        assert len(batches) == 1 and batches[0].records == []
        assert json.loads(cursor or "")["folders"]["INBOX"]["last_uid"] == 0
        assert await drain(a, cursor) == ([], cursor)
    finally:
        await a.close()


async def test_cursor_commits_only_what_the_consumer_took(dovecot: Dovecot) -> None:
    """A consumer that stops (crash) after batch 1 resumes from batch 1's cursor: nothing lost."""
    dovecot.deliver_many([mail(i) for i in range(1, 11)])
    a = adapter(dovecot, batch_size=4)
    try:
        gen = a.poll(None)
        first = await gen.__anext__()
        await gen.aclose()  # the process "died" before committing batch 2
        rest, _ = await drain(a, first.cursor)
        ids = [r.external_id for r in first.records] + [r.external_id for b in rest for r in b.records]
        assert ids == [f"<m{i}@example.com>" for i in range(1, 11)]
    finally:
        await a.close()


async def test_mark_seen_and_move_to_only_when_configured(dovecot: Dovecot) -> None:
    dovecot.deliver_many([mail(i) for i in range(1, 4)])
    seen = adapter(dovecot, mark_seen=True, batch_size=2)
    try:
        await drain(seen, None)
        flags = await server_flags(dovecot)
        assert all("\\Seen" in f for f in flags.values()) and len(flags) == 3
    finally:
        await seen.close()

    dovecot.deliver(mail(4))
    mover = adapter(dovecot, move_to="Archive")
    try:
        batches, _ = await drain(mover, None)
        assert len([r for b in batches for r in b.records]) == 4
        assert await server_flags(dovecot) == {}
        assert len(await server_flags(dovecot, "Archive")) == 4
    finally:
        await mover.close()


async def test_several_folders_each_with_own_state(dovecot: Dovecot) -> None:
    dovecot.deliver(mail(1))
    dovecot.deliver(mail(2), folder="Ügyfelek")
    a = adapter(dovecot, folders=["INBOX", "Ügyfelek"])
    try:
        batches, cursor = await drain(a, None)
        ids = sorted(r.external_id for b in batches for r in b.records)
        assert ids == ["<m1@example.com>", "<m2@example.com>"]
        state = json.loads(cursor or "")["folders"]
        assert set(state) == {"INBOX", "Ügyfelek"}
        dovecot.deliver(mail(3), folder="Ügyfelek")
        batches, _ = await drain(a, cursor)
        assert [r.meta["imap"]["folder"] for b in batches for r in b.records] == ["Ügyfelek"]
    finally:
        await a.close()


# ------------------------------------------------------------------ waiting


async def test_new_mail_during_idle_wakes_the_waiter(dovecot: Dovecot) -> None:
    dovecot.deliver(mail(1))
    a = adapter(dovecot)
    try:
        _, cursor = await drain(a, None)
        started = time.monotonic()
        waiter = asyncio.create_task(a.wait_for_changes(30))
        await wait_until(lambda: a.imap.idles >= 1)
        await asyncio.sleep(0.2)  # let IDLE be acknowledged before the mail lands
        dovecot.deliver(mail(2))
        await asyncio.wait_for(waiter, 10)
        assert time.monotonic() - started < 10
        batches, _ = await drain(a, cursor)
        assert [r.external_id for b in batches for r in b.records] == ["<m2@example.com>"]
    finally:
        await a.close()


async def test_mail_arriving_between_poll_and_idle_is_not_missed(dovecot: Dovecot) -> None:
    a = adapter(dovecot)
    try:
        _, cursor = await drain(a, None)
        dovecot.deliver(mail(1))  # after the poll, before IDLE starts
        await asyncio.wait_for(a.wait_for_changes(30), 10)
        batches, _ = await drain(a, cursor)
        assert len(batches[0].records) == 1
    finally:
        await a.close()


async def test_idle_is_reissued_before_the_server_limit(dovecot: Dovecot) -> None:
    a = adapter(dovecot)
    a.imap.idle_renew_seconds = 0.25  # production: 25 minutes, below RFC 2177's 29
    try:
        started = time.monotonic()
        await a.wait_for_changes(1.2)
        elapsed = time.monotonic() - started
        assert 1.1 <= elapsed < 5
        assert a.imap.idles >= 3
        assert a.imap.connects == 1  # re-issued on the same connection
        # Mail arriving while IDLE is being re-issued is still noticed.
        waiter = asyncio.create_task(a.wait_for_changes(30))
        await wait_until(lambda: a.imap.idles >= 6)
        dovecot.deliver(mail(1))
        await asyncio.wait_for(waiter, 10)
    finally:
        await a.close()


async def test_polling_when_idle_disabled(dovecot: Dovecot) -> None:
    a = adapter(dovecot, idle=False, poll_seconds=0.3)
    try:
        started = time.monotonic()
        await a.wait_for_changes(30)
        assert 0.25 <= time.monotonic() - started < 2
        assert a.imap.idles == 0
    finally:
        await a.close()


# ------------------------------------------------------------------ failures


async def test_server_restart_mid_sync_loses_and_doubles_nothing(dovecot: Dovecot) -> None:
    # 90 MB: more than the fetch reads ahead, so the server is still sending when it restarts.
    dovecot.deliver_many([mail(i, body="y" * 300_000) for i in range(1, 301)])
    a = adapter(dovecot, batch_size=50)
    try:
        ids: list[str] = []
        restarted = False
        async for batch in a.poll(None):
            ids.extend(r.external_id for r in batch.records)
            if not restarted:
                await asyncio.to_thread(dovecot.restart)
                restarted = True
        assert ids == [f"<m{i}@example.com>" for i in range(1, 301)]
        assert a.imap.connects >= 2
    finally:
        await a.close()


async def test_connection_killed_mid_fetch(dovecot: Dovecot) -> None:
    big = "x" * 2_000_000
    dovecot.deliver_many([mail(i, body=big) for i in range(1, 41)])
    a = adapter(dovecot, batch_size=1)
    kills = 0
    stop = threading.Event()

    def killer() -> None:
        nonlocal kills
        while not stop.is_set() and kills < 3:
            if dovecot.kill_sessions():
                kills += 1
            stop.wait(0.15)

    try:
        ids: list[str] = []
        thread = threading.Thread(target=killer)
        thread.start()
        try:
            async for batch in a.poll(None):
                ids.extend(r.external_id for r in batch.records)
        finally:
            stop.set()
            thread.join()
        assert kills >= 1
        assert ids == [f"<m{i}@example.com>" for i in range(1, 41)]
        assert a.imap.connects >= 2
    finally:
        await a.close()


async def test_connection_killed_during_idle(dovecot: Dovecot) -> None:
    a = adapter(dovecot)
    try:
        await drain(a, None)
        waiter = asyncio.create_task(a.wait_for_changes(30))
        await wait_until(lambda: a.imap.idles >= 1)
        await asyncio.sleep(0.1)
        assert dovecot.kill_sessions() >= 1
        await asyncio.wait_for(waiter, 10)  # returns promptly, does not hang for 30 s
        dovecot.deliver(mail(1))
        batches, _ = await drain(a, None)
        assert [r.external_id for b in batches for r in b.records] == ["<m1@example.com>"]
    finally:
        await a.close()


async def test_server_down_is_transient_and_bad_password_permanent(dovecot: Dovecot) -> None:
    a = adapter(dovecot, password="wrong")
    try:
        with pytest.raises(PermanentError, match="login"):
            await drain(a, None)
    finally:
        await a.close()
    dovecot.stop()
    b = adapter(dovecot)
    b.imap.max_reconnects = 2
    try:
        with pytest.raises(TransientError, match="cannot connect"):
            await drain(b, None)
        dovecot.start()
        dovecot.deliver(mail(1))
        batches, _ = await drain(b, None)
        assert len(batches[0].records) == 1
    finally:
        await b.close()


def test_backoff_grows_with_jitter(dovecot: Dovecot) -> None:
    a = adapter(dovecot)
    a.imap.reconnect_base_seconds, a.imap.reconnect_cap_seconds = 1.0, 8.0
    first = [a.imap.backoff(1) for _ in range(50)]
    fourth = [a.imap.backoff(4) for _ in range(50)]
    late = [a.imap.backoff(20) for _ in range(50)]
    assert all(0.5 <= x <= 1.0 for x in first) and len(set(first)) > 1
    assert all(4.0 <= x <= 8.0 for x in fourth)
    assert all(x <= 8.0 for x in late)


async def test_uidvalidity_change_restarts_the_folder(dovecot: Dovecot) -> None:
    dovecot.deliver_many([mail(i) for i in range(1, 4)])
    a = adapter(dovecot)
    try:
        _, cursor = await drain(a, None)
        old = dovecot.uidvalidity()
        dovecot.set_uidvalidity("INBOX", old + 1000)
        batches, cursor2 = await drain(a, cursor)
        ids = [r.external_id for b in batches for r in b.records]
        assert ids == [f"<m{i}@example.com>" for i in (1, 2, 3)]
        assert json.loads(cursor2 or "")["folders"]["INBOX"]["uidvalidity"] == old + 1000
        assert await drain(a, cursor2) == ([], cursor2)
    finally:
        await a.close()


# ------------------------------------------------------------------ size and breakage


async def test_broken_mime_appended_is_kept(dovecot: Dovecot) -> None:
    broken = [
        b"\xff\xfe garbage without any header\r\n\r\n\x80\x81",
        (b"From: ann@example.com\r\nSubject: cut\r\nMessage-ID: <cut@example.com>\r\n"
         b"Content-Type: multipart/mixed; boundary=\"zz\"\r\n\r\n--zz\r\nContent-Type: text/plain\r\n\r\n"
         b"the end never comes"),
        (b"From: =?utf-8?b?broken?= <bob@example.com>\r\nSubject: =?x-unknown?q?hi?=\r\n"
         b"Content-Transfer-Encoding: base64\r\nMessage-ID: <b64@example.com>\r\n\r\n!!!not base64!!!\r\n"),
    ]
    c = aioimaplib.IMAP4(port=dovecot.port, timeout=5)
    await c.wait_hello_from_server()
    await c.login(dovecot.user, dovecot.password)
    for raw in broken:
        resp = await c.append(raw, mailbox="INBOX")
        assert resp.result == "OK"
    await c.logout()
    a = adapter(dovecot)
    try:
        batches, _ = await drain(a, None)
        records = [r for b in batches for r in b.records]
        assert len(records) == 3
        assert [r.raw for r in records] == broken  # kept byte for byte
        assert FLAG_QUARANTINED in records[0].flags  # no headers at all: quarantined, not dropped
        assert records[1].external_id == "<cut@example.com>"
        assert records[2].external_id == "<b64@example.com>" and records[2].defects
    finally:
        await a.close()


async def test_mail_expunged_before_we_saw_it_moves_the_cursor(dovecot: Dovecot) -> None:
    """UIDNEXT grew but the message is gone: the cursor moves on, so polls stay one STATUS."""
    dovecot.deliver(mail(1))
    a = adapter(dovecot)
    try:
        _, cursor = await drain(a, None)
        [path] = dovecot.deliver_many([mail(2)])
        await server_flags(dovecot)  # another client looks: Dovecot assigns UID 2
        # ... and deletes it before our next poll (Dovecot may have moved it from new/ to cur/).
        [gone] = [f for f in dovecot.message_files() if f.name.startswith(path.name.split(":")[0])]
        gone.unlink()
        batches, cursor2 = await drain(a, cursor)
        assert [len(b.records) for b in batches] == [0]
        assert json.loads(cursor2 or "")["folders"]["INBOX"]["last_uid"] == 2
        assert await drain(a, cursor2) == ([], cursor2)
    finally:
        await a.close()


async def test_silent_server_times_out_as_transient() -> None:
    """A server that accepts TCP and never greets: bounded retries, then TransientError."""

    async def mute(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()

    srv = await asyncio.start_server(mute, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    opts = {"imap_host": "127.0.0.1", "imap_port": port, "imap_tls": "none", "username": "u",
            "password": "p", "timeout_seconds": 0.3}
    a = EmailAdapter("support", opts, secret_for(opts))
    a.imap.reconnect_base_seconds, a.imap.max_reconnects = 0.01, 2
    try:
        started = time.monotonic()
        with pytest.raises(TransientError, match="failed 3 times"):
            await drain(a, None)
        assert time.monotonic() - started < 5
    finally:
        await a.close()
        srv.close()


async def test_mark_seen_waits_for_the_consumer(dovecot: Dovecot) -> None:
    """A batch is marked \\Seen only once the consumer asks for more (it committed it)."""
    dovecot.deliver_many([mail(i) for i in range(1, 5)])
    a = adapter(dovecot, mark_seen=True, batch_size=2)
    try:
        gen = a.poll(None)
        await gen.__anext__()
        assert not any("\\Seen" in f for f in (await server_flags(dovecot)).values())
        await gen.__anext__()  # batch 1 acknowledged
        flags = await server_flags(dovecot)
        assert "\\Seen" in flags[1] and "\\Seen" in flags[2] and "\\Seen" not in flags[3]
        await gen.aclose()  # died before acknowledging batch 2: 3 and 4 stay unread
        flags = await server_flags(dovecot)
        assert "\\Seen" not in flags[3] and "\\Seen" not in flags[4]
    finally:
        await a.close()


async def test_mark_seen_batches_are_cut_by_size(dovecot: Dovecot) -> None:
    """Over MAX_BATCH_BYTES (32 MB) in one batch_size: cut before fetching, each part marked after it."""
    dovecot.deliver_many([mail(i, body="z" * 12_000_000) for i in range(1, 4)])
    a = adapter(dovecot, mark_seen=True, batch_size=10)
    try:
        gen = a.poll(None)
        first = await asyncio.wait_for(gen.__anext__(), 60)
        assert [r.external_id for r in first.records] == ["<m1@example.com>", "<m2@example.com>"]
        assert not any("\\Seen" in f for f in (await server_flags(dovecot)).values())
        second = await asyncio.wait_for(gen.__anext__(), 60)  # the first part acknowledged
        assert [r.external_id for r in second.records] == ["<m3@example.com>"]
        flags = await server_flags(dovecot)
        assert "\\Seen" in flags[1] and "\\Seen" in flags[2] and "\\Seen" not in flags[3]
        assert [b async for b in gen] == []
        assert "\\Seen" in (await server_flags(dovecot))[3]
    finally:
        await a.close()
