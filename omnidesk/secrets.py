"""Channel credentials, resolved at the moment an adapter needs them.

`secret(KEY)`, for any key an adapter declares secret (`Option(secret=True)`:
the IMAP `password`, a bot's `token`), tries, in order: `KEY_cmd` (a shell
command whose stdout, stripped of the trailing newline, is the secret:
`pass show mail/support`, as mbsync and aerc do), `KEY_env` (the name of an
environment variable), then `KEY` written in the config file. `smtp_password` works the same with
the `smtp_` keys and falls back to the IMAP `password` sources when none of
its own are set. Secrets are never logged, stored in the database, or put in
an error message.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Callable

from omnidesk.errors import ConfigError
from omnidesk.settings import ChannelSettings

#: How long a password command may take (a GPG agent prompt is interactive; give it time).
COMMAND_TIMEOUT_SECONDS = 60.0


def resolver(channel: ChannelSettings) -> Callable[[str], str]:
    """A `SecretResolver` (adapters/base.py) for one channel."""

    def secret(name: str) -> str:
        value = _lookup(channel, name)
        if value is None and name.startswith("smtp_"):
            value = _lookup(channel, name.removeprefix("smtp_"))
        if value is None:
            raise ConfigError(
                f"channel {channel.name}: no {name}: set {name}_cmd, {name}_env or {name}"
                + (f" (or {name.removeprefix('smtp_')}_cmd ...)" if name.startswith("smtp_") else "")
            )
        return value

    return secret


def _lookup(channel: ChannelSettings, name: str) -> str | None:
    options = channel.options
    command = options.get(f"{name}_cmd")
    if command:
        return run_command(channel.name, f"{name}_cmd", str(command))
    env_name = options.get(f"{name}_env")
    if env_name:
        value = os.environ.get(str(env_name))
        if value is None:
            raise ConfigError(f"channel {channel.name}: {name}_env names ${env_name}, which is not set")
        return value
    value = options.get(name)
    return None if value is None else str(value)


def run_command(channel: str, key: str, command: str, *, timeout: float = COMMAND_TIMEOUT_SECONDS) -> str:
    """Run a password command through the shell; its stdout (one trailing newline removed) is the secret.

    The shell leads a process group of its own, so a command that hangs is killed
    with everything it started (`gpg` under `pass`, a `sleep` under `sh`), not
    only the shell, which would leave the rest running with nobody waiting.
    """
    with subprocess.Popen(command, shell=True, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, start_new_session=True) as proc:
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            raise ConfigError(f"channel {channel}: {key} took longer than {timeout:g}s") from None
    done = subprocess.CompletedProcess(command, proc.returncode, stdout, stderr)
    if done.returncode != 0:
        # stderr may help ("gpg: decryption failed"); stdout might be the secret, never shown.
        reason = (done.stderr or "").strip().splitlines()
        detail = f": {reason[-1][:200]}" if reason else ""
        raise ConfigError(f"channel {channel}: {key} exited with status {done.returncode}{detail}")
    value = done.stdout
    if value.endswith("\n"):
        value = value[:-1]
    if value.endswith("\r"):
        value = value[:-1]
    if not value:
        raise ConfigError(f"channel {channel}: {key} printed nothing")
    return value


def _kill_group(proc: subprocess.Popen[str]) -> None:
    """SIGKILL the command's whole process group, then reap the shell."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        # The pipes close once the group is gone; one that left it (setsid) may keep them open.
        proc.communicate(timeout=5)
