"""Log in to a channel's IMAP and SMTP servers and report each step (`omnidesk doctor --connect`).

Nothing is read, sent or changed: IMAP is connect (and STARTTLS), LOGIN and the
capability list; SMTP is connect (and STARTTLS), EHLO and AUTH. Every failure is
a `fail` step with the reason in one line, never an exception.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Mapping
from typing import Any

import aiosmtplib

from adapters.base import ProbeStep, SecretResolver, unreachable_reason
from adapters.email.imapconn import ImapLoginRefused, ImapSession, ImapSettings
from adapters.email.smtp import _smtp_password, smtp_settings


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return unreachable_reason(exc) or text or type(exc).__name__


async def probe_imap(settings: ImapSettings, secret: SecretResolver,
                     ssl_context: ssl.SSLContext | None = None) -> list[ProbeStep]:
    where = f"{settings.host}:{settings.port} (TLS: {settings.tls})"
    try:
        password = secret("password")
    except Exception as exc:  # password_cmd failed, variable unset: the finding itself
        return [ProbeStep("imap login", "fail", f"no password: {_reason(exc)}")]
    session = ImapSession(settings, password, ssl_context)
    try:
        await asyncio.wait_for(session.connect(), settings.timeout + 1)
        capabilities = " ".join(sorted(session.capabilities)) or "none listed"
    except ImapLoginRefused as exc:
        return [ProbeStep("imap connect", "ok", where), ProbeStep("imap login", "fail", _reason(exc))]
    except Exception as exc:
        return [ProbeStep("imap connect", "fail", f"{where}: {_reason(exc)}")]
    finally:
        with contextlib.suppress(Exception):
            await session.close()
    return [
        ProbeStep("imap connect", "ok", where),
        ProbeStep("imap login", "ok", f"as {settings.username}"),
        ProbeStep("imap capabilities", "ok", capabilities),
    ]


async def probe_outgoing(options: Mapping[str, Any], secret: SecretResolver) -> list[ProbeStep]:
    """The SMTP steps, or one warning when the channel has no SMTP server to send replies."""
    if not options.get("smtp_host"):
        return [ProbeStep("smtp", "warn", "no smtp_host: this channel cannot send replies")]
    return await probe_smtp(options, secret)


async def probe_smtp(options: Mapping[str, Any], secret: SecretResolver) -> list[ProbeStep]:
    try:
        cfg = smtp_settings(options)
    except Exception as exc:
        return [ProbeStep("smtp", "fail", _reason(exc))]
    where = f"{cfg['host']}:{cfg['port']} (TLS: {cfg['tls']})"
    client = aiosmtplib.SMTP(hostname=cfg["host"], port=cfg["port"], timeout=cfg["timeout"],
                             use_tls=cfg["tls"] == "ssl", start_tls=cfg["tls"] == "starttls")
    try:
        await client.connect()
    except Exception as exc:
        return [ProbeStep("smtp connect", "fail", f"{where}: {_reason(exc)}")]
    steps = [ProbeStep("smtp connect", "ok", where)]
    try:
        try:
            if client.is_ehlo_or_helo_needed:
                await client.ehlo()
        except Exception as exc:
            return [*steps, ProbeStep("smtp ehlo", "fail", _reason(exc))]
        extensions = " ".join(sorted(k.upper() for k in client.esmtp_extensions)) or "none"
        steps.append(ProbeStep("smtp ehlo", "ok", f"extensions: {extensions}"))
        steps.append(await _smtp_auth(client, cfg, options, secret))
    finally:
        with contextlib.suppress(Exception):
            await client.quit()
        client.close()
    return steps


async def _smtp_auth(client: aiosmtplib.SMTP, cfg: Mapping[str, Any], options: Mapping[str, Any],
                     secret: SecretResolver) -> ProbeStep:
    """AUTH as the channel would when sending: only with a user name and password, when offered."""
    try:
        password = _smtp_password(options, secret) if cfg["username"] else None
    except Exception as exc:
        return ProbeStep("smtp auth", "fail", f"no password: {_reason(exc)}")
    if password is None:
        return ProbeStep("smtp auth", "warn", "no user name or password: replies are sent without logging in")
    if not client.supports_extension("auth"):
        return ProbeStep("smtp auth", "warn", "the server offers no AUTH here: replies are sent without "
                         "logging in")
    try:
        await client.login(cfg["username"], password)
    except aiosmtplib.SMTPResponseException as exc:
        return ProbeStep("smtp auth", "fail", f"as {cfg['username']}: {exc.code} {exc.message}".strip())
    except Exception as exc:
        return ProbeStep("smtp auth", "fail", f"as {cfg['username']}: {_reason(exc)}")
    return ProbeStep("smtp auth", "ok", f"as {cfg['username']}")
