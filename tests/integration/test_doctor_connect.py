"""`omnidesk doctor --connect`: log in to a real Dovecot and the aiosmtpd fake, and report each step."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from omnidesk.cli.app import build_app
from tests.fakes.smtp_server import FakeSMTPServer, free_port
from tests.integration.dovecot import Dovecot
from tests.integration.sync_env import config_toml, fill_maildir


def _doctor(tmp_path: Path, *, imap_port: int, smtp_port: int, user: str, password: str,
            imap_host: str = "127.0.0.1", connect: bool = True) -> tuple[int, dict[str, dict[str, Any]]]:
    """`doctor [--connect] --json` on a desk with a Maildir and an email channel "mail"; (exit code,
    checks by name)."""
    fill_maildir(tmp_path / "maildir", 0)
    mail = f"""
[channels.mail]
kind = "email"
address = "help@desk.test"
imap_host = "{imap_host}"
imap_port = {imap_port}
imap_tls = "none"
smtp_host = "127.0.0.1"
smtp_port = {smtp_port}
smtp_tls = "none"
username = "{user}"
password = "{password}"
timeout_seconds = 5
"""
    config = config_toml(tmp_path, tmp_path / "maildir", extra_channels=mail)
    config.chmod(0o600)
    args = ["--config", str(config), "doctor", "--json", *(["--connect"] if connect else [])]
    result = CliRunner().invoke(build_app(), args, catch_exceptions=False)
    checks = {c["check"]: c for c in json.loads(result.stdout)}
    return result.exit_code, checks


def _steps(checks: dict[str, dict[str, Any]]) -> dict[str, tuple[str, str]]:
    """The probe steps of channel "mail": step -> (status, detail)."""
    prefix = "connect mail: "
    return {k.removeprefix(prefix): (c["status"], c["detail"]) for k, c in checks.items()
            if k.startswith(prefix)}


def test_every_step_succeeds_against_working_servers(tmp_path: Path, dovecot: Dovecot) -> None:
    with FakeSMTPServer(users={dovecot.user: dovecot.password}, auth_require_tls=False) as smtp:
        code, checks = _doctor(tmp_path, imap_port=dovecot.port, smtp_port=smtp.port, user=dovecot.user,
                               password=dovecot.password)
    steps = _steps(checks)
    assert list(steps) == ["imap connect", "imap login", "imap capabilities", "smtp connect", "smtp ehlo",
                           "smtp auth"]
    assert all(status == "ok" for status, _ in steps.values()), steps
    assert "IDLE" in steps["imap capabilities"][1].split()
    assert "AUTH" in steps["smtp ehlo"][1] and steps["smtp auth"][1] == f"as {dovecot.user}"
    assert code == 0


def test_a_wrong_password_fails_both_logins_with_the_servers_words(tmp_path: Path, dovecot: Dovecot) -> None:
    with FakeSMTPServer(users={dovecot.user: dovecot.password}, auth_require_tls=False) as smtp:
        code, checks = _doctor(tmp_path, imap_port=dovecot.port, smtp_port=smtp.port, user=dovecot.user,
                               password="not-the-password")
    steps = _steps(checks)
    assert steps["imap connect"][0] == "ok"
    status, detail = steps["imap login"]
    assert status == "fail" and "refused" in detail and "AUTHENTICATIONFAILED" in detail, detail
    assert "imap capabilities" not in steps
    assert steps["smtp ehlo"][0] == "ok"
    status, detail = steps["smtp auth"]
    assert status == "fail" and "535" in detail, detail
    assert "not-the-password" not in json.dumps(checks), "a password is never shown"
    assert code == 1


def test_refused_ports_fail_at_connect_and_say_so(tmp_path: Path) -> None:
    code, checks = _doctor(tmp_path, imap_port=free_port(), smtp_port=free_port(), user="u", password="p")
    steps = _steps(checks)
    assert steps["imap connect"][0] == "fail" and "connection refused" in steps["imap connect"][1]
    assert steps["smtp connect"][0] == "fail" and "connection refused" in steps["smtp connect"][1]
    assert set(steps) == {"imap connect", "smtp connect"}
    assert code == 1


def test_an_unresolvable_imap_host_is_named(tmp_path: Path) -> None:
    # RFC 6761: .invalid never resolves; resolvers answer that without asking anyone.
    code, checks = _doctor(tmp_path, imap_host="imap.omnidesk-test.invalid", imap_port=143,
                           smtp_port=free_port(), user="u", password="p")
    status, detail = _steps(checks)["imap connect"]
    assert status == "fail" and "imap.omnidesk-test.invalid:143" in detail and "does not resolve" in detail
    assert code == 1


def test_without_connect_nothing_is_dialled(tmp_path: Path) -> None:
    code, checks = _doctor(tmp_path, imap_port=free_port(), smtp_port=free_port(), user="u", password="p",
                           connect=False)
    assert not any(name.startswith("connect ") for name in checks)
    assert code == 0


def test_a_maildir_channel_reports_its_directory(tmp_path: Path, dovecot: Dovecot) -> None:
    with FakeSMTPServer(users={dovecot.user: dovecot.password}, auth_require_tls=False) as smtp:
        code, checks = _doctor(tmp_path, imap_port=dovecot.port, smtp_port=smtp.port, user=dovecot.user,
                               password=dovecot.password)
    assert checks["connect support: maildir"]["status"] == "ok"
    assert checks["connect support: smtp"]["status"] == "warn"  # no smtp_host: it cannot send
    assert code == 0
