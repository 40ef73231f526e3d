"""Outgoing email: build an RFC 5322 message from an Outbound and send it over SMTP.

`send_email(options, secret, outbound)` is shared by the IMAP channel
(`adapters.email.channel`) and the Maildir channel (`adapters.email.maildir`).
Errors are mapped onto the adapter contract so the outbox dispatcher can decide:
4xx replies, timeouts and refused/dropped connections are `TransientError`
(retry later), 5xx replies are `PermanentError` carrying the server's words.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from datetime import UTC, datetime
from email.headerregistry import Address as HeaderAddress
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from typing import Any

import aiosmtplib

from adapters.base import (
    Address,
    ConfigurationError,
    Outbound,
    PermanentError,
    Receipt,
    SecretResolver,
    TransientError,
)

#: RFC 3676: lines longer than this are soft-wrapped when the body is sent format=flowed.
FLOWED_WIDTH = 76
#: RFC 5322's hard limit is 998; anything past 78 is "long" and worth flowing.
LONG_LINE = 78

_TLS_MODES = ("starttls", "ssl", "none")


# ---------------------------------------------------------------- building


def _header_address(a: Address) -> str:
    """`Name <addr>` with the display name RFC 2047-encoded when needed."""
    if not a.display_name:
        return a.address
    try:
        return str(HeaderAddress(display_name=a.display_name, addr_spec=a.address))
    except (ValueError, IndexError):
        # An addr_spec the header registry refuses (rare); the bare address still works.
        return a.address


def _flow_line(line: str, width: int) -> list[str]:
    """Soft-wrap one hard line at spaces; every piece but the last keeps its trailing space."""
    if len(line) <= width or line.startswith(">"):
        return [line]
    pieces: list[str] = []
    rest = line
    while len(rest) > width:
        cut = rest.rfind(" ", 1, width + 1)
        if cut <= 0:
            cut = rest.find(" ", width)  # one overlong word: break after it
            if cut < 0:
                break
        pieces.append(rest[: cut + 1])
        rest = rest[cut + 1 :]
    pieces.append(rest)
    return pieces


def flowed(text: str, width: int = FLOWED_WIDTH) -> str:
    """Encode `text` as RFC 3676 format=flowed (DelSp=no).

    Hard line breaks lose trailing spaces (a trailing space would mean "soft");
    soft breaks keep one; lines starting with a space or "From " are space-stuffed.
    """
    out: list[str] = []
    for hard in text.splitlines():
        if hard == "-- ":  # the signature separator keeps its space by convention
            out.append(hard)
            continue
        hard = hard.rstrip(" ")
        for piece in _flow_line(hard, width):
            if piece.startswith((" ", "From ")):
                piece = " " + piece
            out.append(piece)
    return "\n".join(out) + "\n"


def _wants_flowed(text: str) -> bool:
    return any(len(line) > LONG_LINE for line in text.splitlines())


def build_message(outbound: Outbound) -> EmailMessage:
    """The RFC 5322 message for `outbound`.

    From/To/Cc/Subject, Message-ID = `outbound.message_ref` (ours, stable across
    retries), In-Reply-To/References for threading, Date, text/plain (format=flowed
    when a line is long), an HTML alternative when given, and attachments.
    """
    if not outbound.to:
        raise PermanentError("reply has no recipient")
    msg = EmailMessage()
    if outbound.from_address is not None:
        msg["From"] = _header_address(outbound.from_address)
    msg["To"] = ", ".join(_header_address(a) for a in outbound.to)
    if outbound.cc:
        msg["Cc"] = ", ".join(_header_address(a) for a in outbound.cc)
    msg["Subject"] = outbound.subject
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = outbound.message_ref
    if outbound.in_reply_to:
        msg["In-Reply-To"] = outbound.in_reply_to
    refs = list(outbound.references)
    if outbound.in_reply_to and outbound.in_reply_to not in refs:
        refs.append(outbound.in_reply_to)  # RFC 5322 3.6.4: References ends with the parent
    if refs:
        msg["References"] = " ".join(refs)
    msg["MIME-Version"] = "1.0"
    if outbound.automatic:  # RFC 3834: responders must not answer this; Exchange's own switch too
        msg["Auto-Submitted"] = "auto-replied"
        msg["X-Auto-Response-Suppress"] = "All"
    else:
        msg["Auto-Submitted"] = "no"  # a human answered; auto-responders may reply to this

    text = outbound.text if outbound.text.endswith("\n") or not outbound.text else outbound.text + "\n"
    if _wants_flowed(text):
        # quoted-printable keeps the soft-break spaces safe from transports that strip them.
        msg.set_content(flowed(text), subtype="plain", charset="utf-8", cte="quoted-printable",
                        params={"format": "flowed", "delsp": "no"})
    else:
        msg.set_content(text, subtype="plain", charset="utf-8")
    if outbound.html:
        msg.add_alternative(outbound.html, subtype="html", charset="utf-8")
    html_part = msg.get_body(("html",)) if outbound.html else None
    for att in outbound.attachments:
        maintype, _, subtype = (att.content_type or "application/octet-stream").partition("/")
        if maintype == "text" or not subtype:
            # add_attachment wants str for text/*; bytes of unknown charset travel as octets.
            maintype, subtype = "application", "octet-stream"
        if att.inline and att.content_id and html_part is not None:
            # An image the HTML shows (cid:...) belongs in multipart/related next to it.
            html_part.add_related(att.data, maintype=maintype, subtype=subtype, cid=att.content_id,
                                  filename=att.filename or None, disposition="inline")
            continue
        msg.add_attachment(
            att.data,
            maintype=maintype,
            subtype=subtype,
            filename=att.filename or None,
            disposition="inline" if att.inline else "attachment",
            cid=att.content_id,
        )
    return msg


# ---------------------------------------------------------------- sending


def _smtp_password(options: Mapping[str, Any], secret: SecretResolver) -> str | None:
    """smtp_password* if configured, else the account password (the usual single-login case)."""
    if any(options.get(k) for k in ("smtp_password", "smtp_password_cmd", "smtp_password_env")):
        return secret("smtp_password")
    if any(options.get(k) for k in ("password", "password_cmd", "password_env")):
        return secret("password")
    return None


def _describe(code: int, message: str) -> str:
    return f"{code} {message}".strip()


def _map_response_error(exc: aiosmtplib.SMTPResponseException) -> Exception:
    text = _describe(exc.code, exc.message)
    if 400 <= exc.code < 500:
        return TransientError(f"SMTP server said: {text}")
    if exc.code >= 500:
        return PermanentError(f"SMTP server said: {text}")
    return TransientError(f"SMTP server gave an unexpected reply: {text}")


def _map_refused(exc: aiosmtplib.SMTPRecipientsRefused) -> Exception:
    parts = [f"{r.recipient}: {_describe(r.code, r.message)}" for r in exc.recipients]
    text = "; ".join(parts)
    # Any 4xx means one recipient may still be deliverable later; retry the lot.
    if any(400 <= r.code < 500 for r in exc.recipients):
        return TransientError(f"SMTP server refused recipients: {text}")
    return PermanentError(f"SMTP server refused recipients: {text}")


def smtp_settings(options: Mapping[str, Any]) -> dict[str, Any]:
    """Resolved SMTP connection settings (no secrets), with defaults applied."""
    host = options.get("smtp_host")
    if not host:
        raise ConfigurationError("smtp_host is not set: this channel cannot send")
    tls = str(options.get("smtp_tls", "starttls")).lower()
    if tls not in _TLS_MODES:
        raise ConfigurationError(f"smtp_tls must be one of {', '.join(_TLS_MODES)}, not {tls!r}")
    default_port = {"ssl": 465, "starttls": 587, "none": 25}[tls]
    return {
        "host": str(host),
        "port": int(options.get("smtp_port") or default_port),
        "tls": tls,
        "username": options.get("smtp_username") or options.get("username") or None,
        "timeout": float(options.get("timeout_seconds", 30)),
    }


async def send_email(
    options: Mapping[str, Any],
    secret: SecretResolver,
    outbound: Outbound,
    message: EmailMessage | None = None,
) -> Receipt:
    """Send `outbound` through the channel's SMTP server; a Receipt when accepted.

    `message` is the already built message (so a Sent-folder copy is byte-identical);
    by default it is `build_message(outbound)`. Raises TransientError (4xx, timeout,
    refused or dropped connection), PermanentError (5xx, with the server's text) or
    ConfigurationError.
    """
    cfg = smtp_settings(options)
    msg = message if message is not None else build_message(outbound)
    sender = outbound.from_address.address if outbound.from_address else options.get("address")
    if not sender:
        raise ConfigurationError("no From address: set the channel's `address`")
    # Bcc recipients are in the envelope only: build_message never writes a Bcc header.
    recipients = list(dict.fromkeys(a.address for a in (*outbound.to, *outbound.cc, *outbound.bcc)))
    password = _smtp_password(options, secret) if cfg["username"] else None
    client = aiosmtplib.SMTP(
        hostname=cfg["host"],
        port=cfg["port"],
        timeout=cfg["timeout"],
        use_tls=cfg["tls"] == "ssl",
        start_tls=cfg["tls"] == "starttls",
    )
    where = f"{cfg['host']}:{cfg['port']}"
    try:
        async with client:
            # Log in when the server offers AUTH; a local relay that offers none (the username
            # defaults to the IMAP login) is used as is, and refuses with 5xx if it wanted one.
            if client.is_ehlo_or_helo_needed:
                await client.ehlo()  # after STARTTLS the extensions must be asked for again
            if cfg["username"] and password is not None and client.supports_extension("auth"):
                await client.login(cfg["username"], password)
            refused, response = await client.send_message(msg, sender=str(sender), recipients=recipients)
    except aiosmtplib.SMTPRecipientsRefused as exc:
        raise _map_refused(exc) from exc
    except aiosmtplib.SMTPResponseException as exc:  # sender/data/auth/helo refusals carry a code
        raise _map_response_error(exc) from exc
    except aiosmtplib.SMTPNotSupported as exc:
        raise PermanentError(f"SMTP server {where} does not support what the config asks: {exc}") from exc
    except ssl.SSLCertVerificationError as exc:
        raise PermanentError(f"TLS certificate of {where} not trusted: {exc.verify_message}") from exc
    except (aiosmtplib.SMTPTimeoutError, TimeoutError) as exc:
        raise TransientError(f"SMTP server {where} timed out") from exc
    except (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPServerDisconnected) as exc:
        raise TransientError(f"SMTP server {where} unreachable: {exc}") from exc
    except (ssl.SSLError, OSError) as exc:
        raise TransientError(f"SMTP connection to {where} failed: {exc}") from exc
    except aiosmtplib.SMTPException as exc:
        raise TransientError(f"SMTP error with {where}: {exc}") from exc
    meta: dict[str, Any] = {"smtp_response": response, "smtp_server": where}
    if refused:
        meta["refused"] = {rcpt: _describe(r.code, r.message) for rcpt, r in refused.items()}
    return Receipt(external_id=outbound.message_ref, sent_at=datetime.now(UTC), meta=meta)


def message_bytes(message: EmailMessage) -> bytes:
    """The message as wire bytes (CRLF), e.g. for an IMAP APPEND to the Sent folder."""
    return message.as_bytes(policy=SMTP)
