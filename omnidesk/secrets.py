"""Channel credentials, resolved at the moment an adapter needs them.

`secret("password")` tries, in order: `password_cmd` (a shell command whose
stdout, stripped of the trailing newline, is the secret: `pass show mail/support`,
as mbsync and aerc do), `password_env` (the name of an environment variable),
then `password` written in the config file. `smtp_password` works the same with
the `smtp_` keys and falls back to the IMAP `password` sources when none of
its own are set. Secrets are never logged, stored in the database, or put in
an error message.
"""

from __future__ import annotations

import os
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


def run_command(channel: str, key: str, command: str) -> str:
    """Run a password command through the shell; its stdout (one trailing newline removed) is the secret."""
    try:
        done = subprocess.run(command, shell=True, capture_output=True, text=True,
                              timeout=COMMAND_TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        raise ConfigError(f"channel {channel}: {key} took longer than {COMMAND_TIMEOUT_SECONDS:g}s") from None
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
