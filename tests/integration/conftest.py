"""Fixtures for the IMAP/SMTP integration tests: a real Dovecot per test, options for it."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.dovecot import DOVECOT, Dovecot


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    """A fresh Dovecot on a free loopback port (starts in ~0.1 s, so each test gets its own)."""
    if DOVECOT is None:
        pytest.skip("dovecot binary not found: install the Debian package dovecot-imapd")
    with Dovecot() as server:
        yield server


def email_options(server: Dovecot, **overrides: Any) -> dict[str, Any]:
    """Channel options for an `email` channel reading `server` (plain IMAP on loopback)."""
    options: dict[str, Any] = {
        "address": "support@desk.test",
        "imap_host": "127.0.0.1",
        "imap_port": server.port,
        "imap_tls": "none",
        "username": server.user,
        "password": server.password,
        "folders": ["INBOX"],
        "idle": True,
        "poll_seconds": 60,
        "batch_size": 200,
        "timeout_seconds": 10,
    }
    options.update(overrides)
    return options


def secret_for(options: dict[str, Any]):  # type: ignore[no-untyped-def]
    """The SecretResolver omnidesk.secrets would build: a plain value from the options."""

    def secret(name: str) -> str:
        return str(options[name])

    return secret


@pytest.fixture(scope="session")
def tls_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1/localhost (EC key: made in milliseconds)."""
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True,
    )
    key.chmod(0o644)  # Dovecot's master reads it as root; the file is a throwaway test key
    return cert, key
