"""EmailAdapter.send: SMTP through aiosmtpd, then a copy APPENDed to Dovecot's Sent folder."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from typing import Any

import pytest

from adapters.base import Address, ConfigurationError, Outbound, PermanentError, TransientError
from adapters.email.channel import EmailAdapter
from tests.fakes.smtp_server import FakeSMTPServer
from tests.integration.conftest import email_options, secret_for
from tests.integration.dovecot import Dovecot

pytestmark = pytest.mark.dovecot


@pytest.fixture
def smtp() -> Iterator[FakeSMTPServer]:
    with FakeSMTPServer() as server:
        yield server


def reply(ref: str = "<r1@desk.test>") -> Outbound:
    return Outbound(
        message_ref=ref,
        to=(Address("email", "ann@example.com", "Ann Lee"),),
        from_address=Address("email", "support@desk.test", "Support"),
        subject="Re: Számla [#4]",
        text="Kedves Ann,\n\nrendben.\n",
        in_reply_to="<m1@example.com>",
        references=("<m1@example.com>",),
    )


def make(dovecot: Dovecot, smtp: FakeSMTPServer, **kw: Any) -> EmailAdapter:
    opts = email_options(dovecot, smtp_host=smtp.host, smtp_port=smtp.port, smtp_tls="none",
                         sent_folder="Sent", **kw)
    a = EmailAdapter("support", opts, secret_for(opts))
    a.imap.reconnect_base_seconds = 0.05
    return a


def sent_copies(dovecot: Dovecot) -> list[tuple[str, bytes]]:
    """(maildir flags, bytes) of every message in the Sent folder on disk."""
    out = []
    for path in dovecot.message_files("Sent"):
        flags = path.name.split(":2,", 1)[1] if ":2," in path.name else ""
        out.append((flags, path.read_bytes()))
    return out


def test_kind_and_protocol(dovecot: Dovecot, smtp: FakeSMTPServer) -> None:
    from adapters.base import Adapter

    a = make(dovecot, smtp)
    assert EmailAdapter.kind == "email"
    assert isinstance(a, Adapter)
    with pytest.raises(ConfigurationError, match="imap_host"):
        EmailAdapter("x", {"username": "u"}, lambda n: "")


async def test_send_then_sent_folder_copy(dovecot: Dovecot, smtp: FakeSMTPServer) -> None:
    a = make(dovecot, smtp)
    try:
        receipt = await a.send(reply())
        assert receipt.external_id == "<r1@desk.test>"
        assert receipt.meta["sent_folder"] == "Sent"
        [got] = await smtp.wait_for(1)
        [(flags, copy)] = sent_copies(dovecot)
        assert "S" in flags  # our own mail is stored read
        # The copy is the very message that went out (same Date, same bytes).
        assert copy.replace(b"\r\n", b"\n") == got.data.replace(b"\r\n", b"\n")
        msg = message_from_bytes(copy, policy=policy.default)
        assert msg["Message-ID"] == "<r1@desk.test>" and msg["Subject"] == "Re: Számla [#4]"
        # Sent is not a synced folder, so polling INBOX never sees our own copy.
        batches = [b async for b in a.poll(None)]
        assert [len(b.records) for b in batches] == [0]
    finally:
        await a.close()


async def test_sent_copy_failure_does_not_fail_the_reply(dovecot: Dovecot, smtp: FakeSMTPServer) -> None:
    a = make(dovecot, smtp)
    a.imap.max_reconnects = 0
    dovecot.stop(graceful=False)
    try:
        receipt = await a.send(reply())
        assert len(await smtp.wait_for(1)) == 1
        assert "sent_folder" not in receipt.meta
        assert "cannot append to Sent" in receipt.meta["sent_folder_error"]
    finally:
        await a.close()


async def test_send_while_the_sync_connection_idles(dovecot: Dovecot, smtp: FakeSMTPServer) -> None:
    """The Sent copy uses its own connection: a reply never waits for IDLE to end."""
    a = make(dovecot, smtp)
    try:
        cursor = [b async for b in a.poll(None)][-1].cursor
        waiter = asyncio.create_task(a.wait_for_changes(60))
        deadline = time.monotonic() + 5
        while a.imap.idles < 1 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        receipt = await asyncio.wait_for(a.send(reply()), 5)
        assert receipt.meta["sent_folder"] == "Sent"
        assert len(sent_copies(dovecot)) == 1
        assert not waiter.done()  # still idling on INBOX
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        # The sync connection is still usable after the cancelled IDLE.
        dovecot.deliver(b"From: ann@example.com\r\nMessage-ID: <after@x>\r\n\r\nhi\r\n")
        batches = [b async for b in a.poll(cursor)]
        assert [r.external_id for b in batches for r in b.records] == ["<after@x>"]
    finally:
        await a.close()


async def test_smtp_failures_leave_no_sent_copy(dovecot: Dovecot, smtp: FakeSMTPServer) -> None:
    a = make(dovecot, smtp)
    try:
        smtp.set_mode("reject")
        with pytest.raises(PermanentError, match="554"):
            await a.send(reply())
        smtp.set_mode("tempfail", fail_times=1)
        with pytest.raises(TransientError, match="451"):
            await a.send(reply())
        smtp.down()
        with pytest.raises(TransientError):
            await a.send(reply())
        assert sent_copies(dovecot) == []
        smtp.up()
        await a.send(reply())
        assert len(sent_copies(dovecot)) == 1
    finally:
        await a.close()


async def test_no_smtp_host_is_configuration_error(dovecot: Dovecot) -> None:
    opts = email_options(dovecot)
    a = EmailAdapter("support", opts, secret_for(opts))
    with pytest.raises(ConfigurationError, match="smtp_host"):
        await a.send(reply())
    await a.close()
