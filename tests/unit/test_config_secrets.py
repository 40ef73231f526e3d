"""Channel secrets: password_cmd, then password_env, then the file; never leaked in errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from omnidesk.errors import ConfigError
from omnidesk.secrets import resolver
from omnidesk.settings import ChannelSettings


def channel(**options: object) -> ChannelSettings:
    return ChannelSettings(name="support", kind="email", address="s@x.test", options=options)


def test_password_cmd_output_without_trailing_newline() -> None:
    secret = resolver(channel(password_cmd="printf 'p@ss word\\n'"))
    assert secret("password") == "p@ss word"


def test_password_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPORT_PW", "from-env")
    assert resolver(channel(password_env="SUPPORT_PW"))("password") == "from-env"


def test_password_in_file() -> None:
    assert resolver(channel(password="in-file"))("password") == "in-file"


def test_cmd_wins_over_env_and_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPORT_PW", "env")
    secret = resolver(channel(password_cmd="echo cmd", password_env="SUPPORT_PW", password="file"))
    assert secret("password") == "cmd"


def test_smtp_password_falls_back_to_imap_sources() -> None:
    assert resolver(channel(password="shared"))("smtp_password") == "shared"
    assert resolver(channel(password="imap", smtp_password_cmd="echo smtp"))("smtp_password") == "smtp"


def test_missing_secret_names_channel_and_keys() -> None:
    with pytest.raises(ConfigError, match=r"channel support: no password: set password_cmd, password_env"):
        resolver(channel())("password")


def test_unset_env_var_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOPE_PW", raising=False)
    with pytest.raises(ConfigError, match=r"\$NOPE_PW, which is not set"):
        resolver(channel(password_env="NOPE_PW"))("password")


def test_failing_command_reports_stderr_not_stdout() -> None:
    secret = resolver(channel(password_cmd="echo s3cret-value; echo 'gpg: decryption failed' >&2; exit 2"))
    with pytest.raises(ConfigError) as info:
        secret("password")
    message = str(info.value)
    assert "status 2" in message and "decryption failed" in message
    assert "s3cret-value" not in message


def test_empty_command_output_is_an_error() -> None:
    with pytest.raises(ConfigError, match="printed nothing"):
        resolver(channel(password_cmd="true"))("password")


def _alive(pid: int) -> bool:
    """Running or stopped; a zombie (killed, not yet reaped by init) counts as gone."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states from /proc")
def test_a_hanging_password_cmd_is_killed_with_everything_it_started(tmp_path: Path) -> None:
    import time

    from omnidesk.secrets import run_command

    pidfile = tmp_path / "sleep.pid"
    # The shell starts `sleep 300` as its own child and waits: the grandchild holds stdout open too.
    command = f"sleep 300 & echo $! > {pidfile}; wait"
    began = time.monotonic()
    with pytest.raises(ConfigError, match=r"channel support: password_cmd took longer than 0.5s"):
        run_command("support", "password_cmd", command, timeout=0.5)
    assert time.monotonic() - began < 10
    grandchild = int(pidfile.read_text())
    deadline = time.monotonic() + 10
    while _alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(grandchild), f"sleep {grandchild} outlived its password_cmd"
