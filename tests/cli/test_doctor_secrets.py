"""`omnidesk doctor` checks each channel's declared secrets, whatever its kind."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.cli.conftest import CliEnv
from tests.fakes.chatplugin import registered


@pytest.fixture
def plugin() -> Iterator[None]:
    yield from registered()


def _doctor(cli_env: CliEnv, channels: str) -> dict[str, dict[str, str]]:
    cli_env.config.write_text(cli_env.config.read_text("utf-8") + channels, "utf-8")
    result = cli_env.invoke("doctor", "--json")
    return {c["check"]: c for c in json.loads(result.stdout)}


def test_a_plugin_secret_from_an_unset_variable_fails(cli_env: CliEnv, plugin: None) -> None:
    checks = _doctor(cli_env, '\n[channels.chat]\nkind = "chatplugin"\n'
                              'token_env = "OMNIDESK_TEST_NO_TOKEN"\n')
    assert checks["secret chat"]["status"] == "fail"
    assert checks["secret chat"]["detail"] == \
        "token from $OMNIDESK_TEST_NO_TOKEN (not set in this environment)"


def test_required_secret_missing_fails_and_an_optional_one_is_checked_only_when_set(cli_env: CliEnv,
                                                                                     plugin: None) -> None:
    checks = _doctor(cli_env, '\n[channels.chat]\nkind = "chatplugin"\n'
                              '\n[channels.mail]\nkind = "email"\naddress = "s@x.test"\nimap_host = "h"\n'
                              'password_cmd = "pass show x"\nsmtp_password = "in-the-file"\n')
    assert checks["secret chat"] == {"check": "secret chat", "status": "fail",
                                     "detail": "no token: set token_cmd, token_env or token"}
    assert checks["secret mail"]["detail"] == "password from password_cmd (not run by doctor)"
    assert checks["secret mail.smtp_password"]["status"] == "warn"
    assert "in-the-file" not in json.dumps(checks)
