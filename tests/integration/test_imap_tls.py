"""IMAP over implicit TLS and STARTTLS against Dovecot with a self-signed certificate."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.base import PermanentError
from adapters.email.channel import EmailAdapter
from tests.integration.conftest import email_options, secret_for
from tests.integration.dovecot import DOVECOT, Dovecot

pytestmark = pytest.mark.dovecot

RAW = b"From: ann@example.com\r\nSubject: over TLS\r\nMessage-ID: <tls@example.com>\r\n\r\nhi\r\n"


@pytest.fixture(scope="module")
def tls_dovecot(tls_cert: tuple[Path, Path]) -> Iterator[Dovecot]:
    if DOVECOT is None:
        pytest.skip("dovecot binary not found: install the Debian package dovecot-imapd")
    with Dovecot(tls=tls_cert) as server:
        server.deliver(RAW)
        yield server


@pytest.mark.parametrize("mode", ["ssl", "starttls"])
async def test_tls_modes_fetch_mail(
    tls_dovecot: Dovecot, tls_cert: tuple[Path, Path], mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_cert[0]))  # trust the test CA like a system CA
    port = tls_dovecot.ssl_port if mode == "ssl" else tls_dovecot.port
    opts = email_options(tls_dovecot, imap_tls=mode, imap_port=port)
    a = EmailAdapter("support", opts, secret_for(opts))
    try:
        batches = [b async for b in a.poll(None)]
        assert [r.external_id for b in batches for r in b.records] == ["<tls@example.com>"]
        assert "STARTTLS" not in a.imap._session.capabilities  # type: ignore[union-attr]
    finally:
        await a.close()


@pytest.mark.parametrize("mode", ["ssl", "starttls"])
async def test_untrusted_certificate_is_permanent(tls_dovecot: Dovecot, mode: str) -> None:
    port = tls_dovecot.ssl_port if mode == "ssl" else tls_dovecot.port
    opts = email_options(tls_dovecot, imap_tls=mode, imap_port=port)
    a = EmailAdapter("support", opts, secret_for(opts))
    try:
        with pytest.raises(PermanentError, match="not trusted"):
            _ = [b async for b in a.poll(None)]
    finally:
        await a.close()
