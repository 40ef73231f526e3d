"""SMTP sending against a real aiosmtpd server: headers, threading, TLS, auth, error mapping."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.base import Address, Attachment, Outbound, PermanentError, TransientError
from adapters.email.smtp import build_message, flowed, send_email
from tests.fakes.smtp_server import FakeSMTPServer, free_port

SUPPORT = Address("email", "support@desk.test", "Ügyfélszolgálat")
ANN = Address("email", "ann@example.com", "Ann Lee")


def _outbound(**kw: object) -> Outbound:
    base: dict[str, object] = {
        "message_ref": "<reply-1@desk.test>",
        "to": (ANN,),
        "text": "Hello Ann,\n\nyour refund is on its way.\n",
        "subject": "Re: Refund [#12]",
        "from_address": SUPPORT,
        "in_reply_to": "<m2@example.com>",
        "references": ("<m1@example.com>", "<m2@example.com>"),
    }
    base.update(kw)
    return Outbound(**base)  # type: ignore[arg-type]


def _options(server: FakeSMTPServer, **kw: object) -> dict[str, object]:
    opts: dict[str, object] = {
        "address": "support@desk.test",
        "smtp_host": server.host,
        "smtp_port": server.port,
        "smtp_tls": "none",
        "timeout_seconds": 5,
    }
    opts.update(kw)
    return opts


def no_secret(name: str) -> str:
    raise AssertionError(f"no secret should be needed, asked for {name}")


@pytest.fixture
def smtp() -> FakeSMTPServer:
    with FakeSMTPServer() as server:
        yield server


# ------------------------------------------------------------------ message building


def test_headers_and_threading() -> None:
    msg = build_message(_outbound(cc=(Address("email", "boss@example.com"),)))
    assert msg["Message-ID"] == "<reply-1@desk.test>"
    assert msg["In-Reply-To"] == "<m2@example.com>"
    assert msg["References"] == "<m1@example.com> <m2@example.com>"
    assert msg["Subject"] == "Re: Refund [#12]"
    assert msg["From"].addresses[0].display_name == "Ügyfélszolgálat"
    assert msg["From"].addresses[0].addr_spec == "support@desk.test"
    assert msg["To"].addresses[0].addr_spec == "ann@example.com"
    assert msg["Cc"].addresses[0].addr_spec == "boss@example.com"
    assert msg["Date"].datetime.tzinfo is not None
    assert msg.get_content_type() == "text/plain"
    assert msg.get_content() == "Hello Ann,\n\nyour refund is on its way.\n"


def test_references_end_with_parent_even_if_missing() -> None:
    msg = build_message(_outbound(references=("<m1@example.com>",), in_reply_to="<m9@example.com>"))
    assert msg["References"].split() == ["<m1@example.com>", "<m9@example.com>"]


def test_no_recipient_is_permanent() -> None:
    with pytest.raises(PermanentError):
        build_message(_outbound(to=()))


def test_long_lines_are_format_flowed_and_round_trip() -> None:
    para = "Kedves Ügyfelünk, " + "a visszatérítést hamarosan elküldjük " * 6
    text = f"{para}\n> {'quoted ' * 20}\nFrom now on\n-- \nSupport\n"
    msg = build_message(_outbound(text=text))
    part = msg
    assert part.get_param("format") == "flowed"
    body = part.get_content()
    lines = body.splitlines()
    assert all(len(line) <= 78 for line in lines if not line.startswith(">"))
    assert " From now on" in lines  # space-stuffed
    assert "-- " in lines
    # Undo the soft breaks (RFC 3676 4.2) and get the original paragraph back.
    joined: list[str] = []
    buf = ""
    for line in lines:
        line = line[1:] if line.startswith(" ") else line
        if line.endswith(" ") and line != "-- ":
            buf += line
        else:
            joined.append(buf + line)
            buf = ""
    assert joined[0] == para.rstrip()


def test_flowed_empty_and_short_text() -> None:
    assert flowed("") == "\n"
    assert build_message(_outbound(text="")).get_param("format") is None


def test_html_alternative_and_attachments_cjk_persian() -> None:
    pdf = b"%PDF-1.4" + bytes(range(256)) * 10
    out = _outbound(
        subject="Re: 退款 / بازپرداخت [#7]",
        text="退款已处理。\nبازپرداخت انجام شد.\n",
        html="<p>退款已处理。</p>",
        attachments=(
            Attachment("számla ő.pdf", "application/pdf", pdf),
            Attachment("logo.png", "image/png", b"\x89PNG....", content_id="<logo@x>", inline=True),
        ),
    )
    msg = build_message(out)
    assert msg.get_content_type() == "multipart/mixed"
    assert msg["Subject"] == "Re: 退款 / بازپرداخت [#7]"
    body = msg.get_body(("plain",))
    assert body is not None and body.get_content() == "退款已处理。\nبازپرداخت انجام شد.\n"
    html = msg.get_body(("html",))
    assert html is not None and "退款" in html.get_content()
    atts = list(msg.iter_attachments())
    assert [a.get_filename() for a in atts] == ["számla ő.pdf"]
    assert atts[0].get_content() == pdf
    inline = [p for p in msg.walk() if p.get("Content-ID") == "<logo@x>"]
    assert inline and inline[0].get_content_disposition() == "inline"


# ------------------------------------------------------------------ sending


async def test_send_accepted_message_arrives_intact(smtp: FakeSMTPServer) -> None:
    receipt = await send_email(_options(smtp), no_secret, _outbound(cc=(Address("email", "cc@example.com"),)))
    assert receipt.external_id == "<reply-1@desk.test>"
    assert receipt.sent_at.tzinfo is not None
    [got] = await smtp.wait_for(1)
    assert got.mail_from == "support@desk.test"
    assert got.rcpt_tos == ("ann@example.com", "cc@example.com")
    assert got.message["Message-ID"] == "<reply-1@desk.test>"
    assert got.message["References"] == "<m1@example.com> <m2@example.com>"
    assert got.message.get_content().replace("\r\n", "\n") == "Hello Ann,\n\nyour refund is on its way.\n"


async def test_4xx_is_transient_then_accepted(smtp: FakeSMTPServer) -> None:
    smtp.set_mode("tempfail", fail_times=1)
    with pytest.raises(TransientError, match=r"451 4\.3\.0 Mailbox temporarily unavailable"):
        await send_email(_options(smtp), no_secret, _outbound())
    assert smtp.messages == []
    await send_email(_options(smtp), no_secret, _outbound())
    assert len(await smtp.wait_for(1)) == 1
    assert smtp.attempts == 2


async def test_5xx_is_permanent_with_server_words(smtp: FakeSMTPServer) -> None:
    smtp.set_mode("reject")
    with pytest.raises(PermanentError, match=r"554 5\.7\.1 Message rejected: policy violation"):
        await send_email(_options(smtp), no_secret, _outbound())
    assert smtp.messages == []


async def test_refused_connection_is_transient_then_server_back() -> None:
    server = FakeSMTPServer()
    opts = _options(server)
    with pytest.raises(TransientError, match=r"unreachable|failed"):
        await send_email(opts, no_secret, _outbound())
    server.up()
    try:
        await send_email(opts, no_secret, _outbound())
        assert len(await server.wait_for(1)) == 1
        server.down()
        with pytest.raises(TransientError):
            await send_email(opts, no_secret, _outbound(message_ref="<reply-2@desk.test>"))
        server.up()
        await send_email(opts, no_secret, _outbound(message_ref="<reply-2@desk.test>"))
        msgs = await server.wait_for(2)
        assert [m.message["Message-ID"] for m in msgs] == ["<reply-1@desk.test>", "<reply-2@desk.test>"]
    finally:
        server.down()


async def test_unset_host_is_configuration_error() -> None:
    from adapters.base import ConfigurationError

    with pytest.raises(ConfigurationError, match="smtp_host"):
        await send_email({"address": "a@b"}, no_secret, _outbound())
    with pytest.raises(ConfigurationError, match="smtp_tls"):
        await send_email({"smtp_host": "127.0.0.1", "smtp_tls": "tls13"}, no_secret, _outbound())


async def test_silent_server_times_out_as_transient() -> None:
    """A server that accepts TCP but never greets: a timeout, not a hang."""
    import asyncio

    async def mute(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # say nothing until the client gives up

    port = free_port()
    srv = await asyncio.start_server(mute, "127.0.0.1", port)
    try:
        opts = {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_tls": "none", "timeout_seconds": 0.5}
        with pytest.raises(TransientError, match="timed out"):
            await send_email(opts, no_secret, _outbound())
    finally:
        srv.close()


async def test_starttls_and_auth(tls_cert: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    import ssl

    cert, key = tls_cert
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts our self-signed CA
    asked: list[str] = []

    def secret(name: str) -> str:
        asked.append(name)
        return "s3cret-jelszó"

    with FakeSMTPServer(tls_context=ctx, require_starttls=True, users={"desk": "s3cret-jelszó"}) as server:
        opts = _options(server, smtp_tls="starttls", smtp_username="desk", smtp_password_env="X")
        await send_email(opts, secret, _outbound())
        [got] = await server.wait_for(1)
        assert got.tls is True
        assert got.login == "desk"
        assert asked == ["smtp_password"]

        # Wrong password: 535 is a permanent failure naming the server's reply.
        bad = _options(server, smtp_tls="starttls", smtp_username="desk", password="x")
        with pytest.raises(PermanentError, match="535"):
            await send_email(bad, lambda name: "wrong", _outbound())

        # Plain text to a server that insists on STARTTLS is refused permanently (5xx).
        with pytest.raises(PermanentError, match=r"530|STARTTLS"):
            await send_email(_options(server), no_secret, _outbound())


async def test_untrusted_certificate_is_permanent(tls_cert: tuple[Path, Path]) -> None:
    import ssl

    cert, key = tls_cert
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    with FakeSMTPServer(tls_context=ctx) as server:
        with pytest.raises(PermanentError, match="not trusted"):
            await send_email(_options(server, smtp_tls="starttls"), no_secret, _outbound())
        assert server.messages == []
