"""Each adapter declares its options: config validation, `init`'s starter file and `doctor` use them."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.base import Option
from adapters.email.channel import EmailAdapter
from adapters.email.maildir import MaildirAdapter
from adapters.email.options import EMAIL_OPTIONS, MAILDIR_OPTIONS
from omnidesk import config as cfg
from omnidesk import registry
from omnidesk.errors import ConfigError
from tests.fakes.chatplugin import ChatPlugin, registered

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def plugin() -> Iterator[None]:
    yield from registered()


def load(tmp_path: Path, text: str) -> Any:
    path = tmp_path / "config.toml"
    path.write_text(text, "utf-8")
    os.chmod(path, 0o600)
    return cfg.load_settings(path, warn=None)


def error(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_email_and_maildir_keys_are_their_adapters_declarations() -> None:
    assert EmailAdapter.options is EMAIL_OPTIONS and MaildirAdapter.options is MAILDIR_OPTIONS
    assert cfg.CHANNEL_KEYS["email"] == cfg.option_keys(EMAIL_OPTIONS)
    assert {"password", "password_cmd", "password_env", "smtp_password_env"} <= set(cfg.CHANNEL_KEYS["email"])
    assert cfg.CHANNEL_KEYS["maildir"]["path"].type == "path"
    assert cfg.secret_names("email") == ("password", "smtp_password")


def test_a_plugin_channel_is_checked_against_its_declarations(tmp_path: Path, plugin: None) -> None:
    ok = load(tmp_path, '[channels.chat]\nkind = "chatplugin"\ntoken_env = "CHAT_TOKEN"\nmode = "push"\n'
                        'rooms = ["általános", "支持"]\n')
    assert ok.channels[0].options == {"token_env": "CHAT_TOKEN", "mode": "push",
                                      "rooms": ["általános", "支持"]}
    message = error(tmp_path, '[channels.chat]\nkind = "chatplugin"\ntoken_env = "X"\ntokn = "oops"\n')
    assert message.endswith("config.toml: channels.chat.tokn: unknown key; expected one of api_url, mode, "
                            "poll_seconds, rooms, token, token_cmd, token_env")
    assert "channels.chat.mode: expected one of 'poll', 'push'" in error(
        tmp_path, '[channels.chat]\nkind = "chatplugin"\nmode = "webhook"\n')
    assert "channels.chat.poll_seconds: expected a number from 0.5 to 3600" in error(
        tmp_path, '[channels.chat]\nkind = "chatplugin"\npoll_seconds = 0\n')
    assert "channels.chat.token_cmd: give only one of token_cmd, token_env, token" in error(
        tmp_path, '[channels.chat]\nkind = "chatplugin"\ntoken = "a"\ntoken_cmd = "b"\n')


def test_a_plugin_secret_is_never_echoed_and_its_file_must_be_private(tmp_path: Path, plugin: None) -> None:
    message = error(tmp_path, '[channels.chat]\nkind = "chatplugin"\ntoken = 1234567890\n')
    assert "channels.chat.token: expected a string, got integer (value hidden)" in message
    assert "1234567890" not in message
    path = tmp_path / "config.toml"
    path.write_text('[channels.chat]\nkind = "chatplugin"\ntoken = "xoxb-secret"\n', "utf-8")
    os.chmod(path, 0o644)
    [warning] = cfg.permission_warnings(path, cfg.load_settings(path, warn=None))
    assert "holds a password (channel chat)" in warning and "xoxb-secret" not in warning


def test_a_bad_declaration_names_the_kind(tmp_path: Path) -> None:
    class Broken(ChatPlugin):
        options = (Option("token", "secret-string", "Bot token."),)

    registry.register("broken", Broken)  # type: ignore[arg-type]
    try:
        message = error(tmp_path, '[channels.b]\nkind = "broken"\n')
    finally:
        registry.unregister("broken")
    assert "channels.b.kind: its option 'token' has type 'secret-string'" in message


def test_the_starter_config_has_a_block_per_kind_that_validates_uncommented(
        tmp_path: Path, plugin: None) -> None:
    text = cfg.starter_config(os_user="ann", data_dir=tmp_path / "d")
    for kind in ("email", "maildir", "chatplugin"):
        assert f"# [channels.{kind}]\n# kind = \"{kind}\"\n" in text
    assert "# token_cmd = " in text and "A third party's chat channel." in text
    def uncomment(line: str) -> str:
        return line[2:] if (line.startswith("# ") and "=" in line) or line.startswith("# [channels") else line

    uncommented = "\n".join(uncomment(line) for line in text.splitlines())
    settings = cfg.parse_settings(tomllib.loads(uncommented), source=tmp_path / "c.toml")
    assert {c.kind for c in settings.channels} >= {"email", "maildir", "chatplugin"}


def test_loading_the_email_adapter_classes_imports_no_mail_code() -> None:
    """Every command that reads the config loads these classes for their declarations."""
    code = ("import sys; import adapters.email.channel, adapters.email.maildir; "
            "print(sorted(m for m in sys.modules"
            " if m.startswith(('adapters.email.', 'aiosmtplib', 'email.', 'asyncio'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}).stdout
    assert eval(out) == ["adapters.email.channel", "adapters.email.maildir", "adapters.email.options"]


def test_reading_a_config_with_built_in_channels_reads_no_entry_points(tmp_path: Path) -> None:
    """`omnidesk list` reads the config on every start: importlib.metadata would cost it ~8 ms."""
    path = tmp_path / "config.toml"
    path.write_text('[channels.local]\nkind = "maildir"\naddress = "s@x.test"\npath = "Maildir"\n'
                    '[channels.mail]\nkind = "email"\naddress = "s@x.test"\nimap_host = "h"\n', "utf-8")
    code = ("import sys, pathlib; from omnidesk.config import load_settings; "
            f"s = load_settings(pathlib.Path({str(path)!r}), warn=None); "
            "print(len(s.channels), sorted(m for m in sys.modules if m in ('importlib.metadata', "
            "'adapters.email.mime', 'adapters.email.imap', 'asyncio')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}).stdout
    assert out.strip() == "2 []"
