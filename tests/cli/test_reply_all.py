"""`omnidesk reply --all --cc --bcc` end to end: stored Cc, SMTP headers and envelope (aiosmtpd)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.cli.conftest import CliEnv
from tests.fakes.smtp_server import FakeSMTPServer, free_port

INBOUND = (
    "From: Ann Lee <ann@example.com>\r\nTo: Support <support@desk.test>, Béla Kovács <bela@example.hu>\r\n"
    "Cc: 王芳 <wang@example.cn>, support@desk.test, Ann <ANN@example.com>\r\n"
    "Subject: Visszatérítés\r\nMessage-ID: <cc-1@example.com>\r\nDate: Fri, 20 Nov 2026 09:00:00 +0000\r\n"
    "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nKérem a visszatérítést.\r\n"
).encode()


@pytest.fixture
def smtp() -> Iterator[FakeSMTPServer]:
    with FakeSMTPServer() as server:
        yield server


@pytest.fixture
def mail_env(cli_env: CliEnv, smtp: FakeSMTPServer) -> tuple[CliEnv, int]:
    text = cli_env.config.read_text(encoding="utf-8").replace("undo_seconds = 5", "undo_seconds = 0")
    maildir = '[channels.support]\nkind = "maildir"\naddress = "support@acme.test"\npath = "Maildir"\n'
    assert maildir in text
    text = text.replace(maildir, "")
    text += f"""
[channels.support]
kind = "email"
address = "support@desk.test"
imap_host = "127.0.0.1"
imap_port = {free_port()}
imap_tls = "none"
username = "support@desk.test"
password = "unused"
smtp_host = "127.0.0.1"
smtp_port = {smtp.port}
smtp_tls = "none"
timeout_seconds = 5
"""
    cli_env.config.write_text(text, encoding="utf-8")

    async def seed(desk: Any) -> int:
        from adapters.base import Batch
        from adapters.email import mime
        from omnidesk.inbound.ingest import ingest_batch
        from omnidesk.store.channels import get_channel

        channel = await get_channel(desk.db, "support")
        result = await ingest_batch(desk, channel, Batch([mime.parse(INBOUND)], None))
        return result.conversation_ids[0]

    return cli_env, cli_env.run(seed)


def _dispatch(env: CliEnv) -> Any:
    from omnidesk.outbound.outbox import Dispatcher

    return env.run(lambda desk: Dispatcher(desk).run_once())


def test_show_lists_the_cc_of_an_inbound_message(mail_env: tuple[CliEnv, int]) -> None:
    env, cid = mail_env
    shown = json.loads(env.invoke("show", str(cid), "--json").stdout)
    (message,) = shown["messages"]
    assert [(r["address"], r["role"]) for r in message["recipients"]] == [
        ("support@desk.test", "to"), ("bela@example.hu", "to"), ("wang@example.cn", "cc"),
        ("support@desk.test", "cc"), ("ann@example.com", "cc")]
    human = env.invoke("show", str(cid), env={"OMNIDESK_FORCE_TTY": "1"}).stdout
    assert "cc: wang@example.cn, support@desk.test, ann@example.com" in human


def test_reply_all_reaches_smtp_with_cc_headers_and_bcc_in_the_envelope_only(
    mail_env: tuple[CliEnv, int], smtp: FakeSMTPServer
) -> None:
    env, cid = mail_env
    result = env.invoke("reply", str(cid), "--all", "--cc", "Boss@Example.com", "--bcc", "audit@desk.test",
                        "-m", "Intézzük, köszönjük!")
    assert result.exit_code == 0, result.stderr
    stats = _dispatch(env)
    assert stats.sent == 1
    (received,) = smtp.messages  # accepted (and recorded) before the dispatcher's run ended
    msg = received.message
    assert msg["To"] == "Ann Lee <ann@example.com>"
    cc = [a.strip() for a in str(msg["Cc"]).split(",")]
    assert cc == ["Béla Kovács <bela@example.hu>", "王芳 <wang@example.cn>", "boss@example.com"]
    assert msg["Bcc"] is None and b"audit@desk.test" not in received.data
    assert set(received.rcpt_tos) == {"ann@example.com", "bela@example.hu", "wang@example.cn",
                                      "boss@example.com", "audit@desk.test"}
    assert len(received.rcpt_tos) == 5  # nobody twice, never ourselves
    shown = json.loads(env.invoke("show", str(cid), "--json").stdout)
    out = next(m for m in shown["messages"] if m["direction"] == "out")
    assert ("audit@desk.test", "bcc") in [(r["address"], r["role"]) for r in out["recipients"]]


def test_a_bad_cc_address_is_one_line(mail_env: tuple[CliEnv, int]) -> None:
    env, cid = mail_env
    result = env.invoke("reply", str(cid), "--cc", "not-an-address", "-m", "x")
    assert result.exit_code == 1
    assert "not an email address: 'not-an-address'" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) <= 2


def test_reply_without_all_copies_nobody(mail_env: tuple[CliEnv, int], smtp: FakeSMTPServer) -> None:
    env, cid = mail_env
    assert env.invoke("reply", str(cid), "-m", "Only Ann").exit_code == 0
    assert _dispatch(env).sent == 1
    received = smtp.messages[0]
    assert received.message["Cc"] is None and received.rcpt_tos == ("ann@example.com",)
