"""Configuration: where it is found, what is accepted, and how mistakes are reported."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from omnidesk import config as cfg
from omnidesk.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "config" / "omnidesk.example.toml"


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


def error_for(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        cfg.load_settings(path)
    message = str(info.value)
    assert message.startswith(f"{path}: "), message  # names the file
    assert "\n" not in message  # one line
    return message


# -- finding the file -------------------------------------------------------------


def test_cli_path_wins_over_env_and_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNIDESK_CONFIG", str(tmp_path / "env.toml"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert cfg.find_config(tmp_path / "cli.toml") == tmp_path / "cli.toml"


def test_env_wins_over_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNIDESK_CONFIG", str(tmp_path / "env.toml"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert cfg.find_config(None) == tmp_path / "env.toml"
    assert cfg.config_is_explicit(None)


def test_xdg_config_home_is_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMNIDESK_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert cfg.find_config(None) == tmp_path / "xdg" / "omnidesk" / "config.toml"
    assert not cfg.config_is_explicit(None)


def test_platformdirs_without_xdg(monkeypatch: pytest.MonkeyPatch) -> None:
    import platformdirs

    monkeypatch.delenv("OMNIDESK_CONFIG", raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    assert cfg.find_config(None) == platformdirs.user_config_path("omnidesk") / "config.toml"


def test_default_data_dir_follows_xdg_data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert cfg.default_data_dir() == tmp_path / "data" / "omnidesk"


# -- valid files ------------------------------------------------------------------


FULL = """
[desk]
name = "Acme support"
timezone = "Europe/Budapest"
data_dir = "state"
undo_seconds = 10
continuity_window_hours = 12.5
reopen_window_days = 3
subject_token = false
quote_last_message = false

[[agents]]
name = "alice"
display_name = "Alice Kovács"
email = "alice@acme.test"
os_user = "alice"
skills = ["billing", "hu"]
teams = ["tier1"]

[[agents]]
name = "chen"

[channels.support]
kind = "email"
address = "support@acme.test"
imap_host = "imap.acme.test"
imap_port = 143
imap_tls = "starttls"
password_cmd = "echo hunter2"
folders = ["INBOX", "Escalations"]
smtp_host = "smtp.acme.test"

[channels.archive]
kind = "maildir"
address = "archive@acme.test"
path = "mail/archive"

[[views]]
name = "Mine"
query = "assignee:me"
key = "1"

[tui]
bell_on_assign = false
keys = { reply = "r,ctrl+r" }
"""


def test_full_file_loads_into_typed_settings(tmp_path: Path) -> None:
    s = cfg.load_settings(write(tmp_path, FULL))
    assert s.desk.name == "Acme support"
    assert s.desk.timezone == "Europe/Budapest"
    assert s.desk.data_dir == tmp_path / "state"  # relative to the config file
    assert s.desk.undo_seconds == 10.0 and isinstance(s.desk.undo_seconds, float)
    assert s.desk.continuity_window_hours == 12.5
    assert s.desk.subject_token is False
    assert [a.name for a in s.agents] == ["alice", "chen"]
    assert s.agents[0].display_name == "Alice Kovács"
    assert s.agents[0].skills == ("billing", "hu")
    support = s.channel("support")
    assert support is not None and support.kind == "email" and support.address == "support@acme.test"
    assert support.options["imap_port"] == 143
    assert support.options["folders"] == ["INBOX", "Escalations"]
    assert "kind" not in support.options
    archive = s.channel("archive")
    assert archive is not None and archive.options["path"] == str(tmp_path / "mail" / "archive")
    assert s.views[0].query == "assignee:me" and s.views[0].key == "1"
    assert s.tui.bell_on_assign is False and s.tui.keys == {"reply": "r,ctrl+r"}
    assert s.source == tmp_path / "config.toml"


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    s = cfg.load_settings(write(tmp_path, ""))
    assert s.desk.undo_seconds == 5.0 and s.agents == () and s.channels == ()


# -- mistakes: one line naming file, key and expectation ------------------------------


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ("[desk]\nundo_secs = 5\n", "desk.undo_secs", "unknown key"),
        ("colour = 'red'\n", "colour", "unknown key"),
        ("[desk]\nundo_seconds = 'five'\n", "desk.undo_seconds", "expected a number, got string 'five'"),
        ("[desk]\nsubject_token = 1\n", "desk.subject_token", "expected true or false, got integer 1"),
        ("[desk]\nundo_seconds = -1\n", "desk.undo_seconds", "expected a number from 0 to 3600"),
        ("[desk]\ntimezone = 'Mars/Olympus'\n", "desk.timezone", "IANA time zone"),
        ("[[agents]]\ndisplay_name = 'x'\n", "agents[0].name", "missing required key"),
        ("[[agents]]\nname = 'a'\nskills = 'billing'\n", "agents[0].skills", "expected a list of strings"),
        ("[[agents]]\nname = 'a'\n[[agents]]\nname = 'a'\n", "agents[1].name", "duplicate name 'a'"),
        ("[channels.s]\naddress = 'a@b'\n", "channels.s.kind", "missing required key"),
        ("[channels.s]\nkind = 'pigeon'\n", "channels.s.kind", "unknown channel kind 'pigeon'"),
        ("[channels.s]\nkind = 'email'\naddress = 'a@b'\n", "channels.s.imap_host", "missing required key"),
        ("[channels.s]\nkind = 'email'\naddress = 'a@b'\nimap_host = 'h'\nimap_port = '993'\n",
         "channels.s.imap_port", "expected an integer, got string '993'"),
        ("[channels.s]\nkind = 'email'\naddress = 'a@b'\nimap_host = 'h'\nimap_tls = 'yes'\n",
         "channels.s.imap_tls", "expected one of 'ssl', 'starttls', 'none'"),
        ("[channels.s]\nkind = 'email'\naddress = 'a@b'\nimap_host = 'h'\nimap_passwd = 'x'\n",
         "channels.s.imap_passwd", "unknown key"),
        ("[channels.s]\nkind = 'maildir'\naddress = 'a@b'\nimap_host = 'h'\npath = 'm'\n",
         "channels.s.imap_host", "unknown key"),  # email keys are not maildir keys
        ("[channels.s]\nkind = 'email'\naddress = 'a@b'\nimap_host = 'h'\npassword = 'x'\n"
         "password_env = 'P'\n",
         "channels.s.password_env", "only one of"),
        ("[[views]]\nname = 'v'\n", "views[0].query", "missing required key"),
        ("[[views]]\nname = 'v'\nquery = 'q'\nkey = '0'\n", "views[0].key", "expected one of"),
        ("[[views]]\nname = 'Billing'\nquery = 'tag:billing'\nkey = '3'\n"
         "[[views]]\nname = 'VIP'\nquery = 'tag:vip'\nkey = '3'\n",
         "views[1].key", "key '3' of view 'VIP' is already the key of view 'Billing' (views[0])"),
        ("[tui]\nkeys = { reply = 5 }\n", "tui.keys", "expected a table of strings"),
        ("desk = 5\n", "desk", "expected a table"),
    ],
)
def test_mistakes_name_file_key_and_expectation(tmp_path: Path, text: str, key: str, expected: str) -> None:
    message = error_for(tmp_path, text)
    assert f": {key}: " in message, message
    assert expected in message, message


def test_invalid_toml_names_the_file_and_line(tmp_path: Path) -> None:
    message = error_for(tmp_path, "[desk\nname = 1\n")
    assert "invalid TOML" in message and "line 1" in message


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        cfg.load_settings(tmp_path / "nope.toml")


def test_unknown_key_lists_the_valid_ones(tmp_path: Path) -> None:
    message = error_for(tmp_path, "[desk]\nundo = 5\n")
    assert "undo_seconds" in message  # the expectation shows what would have been right


# -- secrets in the file ------------------------------------------------------------


SECRET = "[channels.s]\nkind = 'email'\naddress = 'a@b'\nimap_host = 'h'\npassword = 'hunter2'\n"


def test_warns_when_a_password_file_is_group_readable(tmp_path: Path) -> None:
    path = write(tmp_path, SECRET)
    path.chmod(0o644)
    warnings: list[str] = []
    cfg.load_settings(path, warn=warnings.append)
    assert len(warnings) == 1
    assert str(path) in warnings[0] and "0644" in warnings[0] and "chmod 600" in warnings[0]
    assert "hunter2" not in warnings[0]


def test_no_warning_for_private_file_or_password_cmd(tmp_path: Path) -> None:
    warnings: list[str] = []
    cfg.load_settings(write(tmp_path, SECRET), warn=warnings.append)  # 0600
    other = write(tmp_path, SECRET.replace("password = 'hunter2'", "password_cmd = 'true'"), "b.toml")
    other.chmod(0o644)
    cfg.load_settings(other, warn=warnings.append)
    assert warnings == []


# -- the starter and the example ---------------------------------------------------


def test_starter_config_is_valid_and_names_the_user(tmp_path: Path) -> None:
    text = cfg.starter_config(desk_name='Acme "EU"', os_user="ann", timezone="Asia/Tehran",
                              data_dir=tmp_path / "d")
    s = cfg.parse_settings(tomllib.loads(text), source=tmp_path / "c.toml")
    assert s.desk.name == 'Acme "EU"' and s.desk.timezone == "Asia/Tehran"
    assert s.desk.data_dir == tmp_path / "d"
    assert [(a.name, a.os_user) for a in s.agents] == [("ann", "ann")]
    assert text.count("#") > 10  # commented


def all_schema_keys() -> set[str]:
    from omnidesk.sla.config import CALENDAR_KEYS, ESCALATION_KEYS, SLA_KEYS

    keys = {f"desk.{k}" for k in cfg.DESK_KEYS} | {f"agents.{k}" for k in cfg.AGENT_KEYS}
    keys |= {f"views.{k}" for k in cfg.VIEW_KEYS} | {f"tui.{k}" for k in cfg.TUI_KEYS}
    keys |= {f"webhooks.{k}" for k in cfg.WEBHOOK_KEYS}
    keys |= {f"kb.{k}" for k in cfg.KB_KEYS} | {f"retention.{k}" for k in cfg.RETENTION_KEYS}
    keys |= {f"channels.any.{k}" for k in cfg.SENDER_KEYS} | {f"macros.{k}" for k in cfg.MACRO_KEYS}
    keys |= {f"channels.any.{k}" for k in cfg.AUTO_ACK_KEYS}
    keys |= {f"calendars.{k}" for k in CALENDAR_KEYS} | {f"sla.{k}" for k in SLA_KEYS}
    keys |= {f"sla.on_breach.{k}" for k in ESCALATION_KEYS}
    for kind, schema in cfg.CHANNEL_KEYS.items():
        keys |= {f"channels.{kind}.{k}" for k in schema}
    return keys


def test_example_config_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPORT_PASSWORD", "x")
    s = cfg.load_settings(EXAMPLE, warn=None)
    assert {c.kind for c in s.channels} == set(cfg.CHANNEL_KEYS)  # one example of every built-in kind


def test_example_config_documents_every_key() -> None:
    """Every key the validator knows appears in the example (set or commented out)."""
    text = EXAMPLE.read_text("utf-8")
    mentioned = {line.lstrip("# ").split("=")[0].strip() for line in text.splitlines() if "=" in line}
    missing = sorted(k for k in all_schema_keys() if k.rsplit(".", 1)[1] not in mentioned)
    assert missing == []


def test_configuration_doc_lists_every_key() -> None:
    text = (REPO / "docs" / "configuration.md").read_text("utf-8")
    missing = sorted(k for k in all_schema_keys() if f"`{k.rsplit('.', 1)[1]}`" not in text)
    assert missing == []



def test_a_wrongly_typed_password_is_not_echoed(tmp_path: Path) -> None:
    message = error_for(tmp_path, "[channels.s]\nkind = 'email'\naddress = 'a@b'\nimap_host = 'h'\n"
                                  "password = 98765432\n")
    assert "channels.s.password: expected a string, got integer (value hidden)" in message
    assert "98765432" not in message


# -- numbers: a type and a range for every one ------------------------------------


def _number_keys() -> list[tuple[str, str, cfg.Key]]:
    tables = {"desk": cfg.DESK_KEYS, **{f"channels.{k}": t for k, t in cfg.CHANNEL_KEYS.items()}}
    return [(where, name, key) for where, table in tables.items() for name, key in table.items()
            if key.type in ("int", "number")]


def test_every_number_in_the_config_has_a_range() -> None:
    assert len(_number_keys()) >= 8
    assert all(k.minimum is not None and k.maximum is not None for _, _, k in _number_keys())


def _key_id(value: object) -> str:
    return value if isinstance(value, str) else ""


def _config_with(where: str, name: str, literal: str) -> str:
    if where == "desk":
        return f"[desk]\n{name} = {literal}\n"
    kind = where.split(".", 1)[1]
    values = {"address": "'a@b.example'", "path": "'m'"}
    placeholder = {"list[str]": repr(["h"])}  # a required list (Twilio's numbers) takes one item
    required = "".join(f"{key} = {values.get(key, placeholder.get(spec.type, repr('h')))}\n"
                       for key, spec in cfg.CHANNEL_KEYS[kind].items() if spec.required)
    return f"[channels.s]\nkind = '{kind}'\n{required}{name} = {literal}\n"


@pytest.mark.parametrize("literal", ["nan", "inf", "-inf", "+nan", "1e400", "1e300", "99999999999999999999",
                                     "-1", "1" + "0" * 4000, "-99999999999999999999"])
@pytest.mark.parametrize(("where", "name", "key"), _number_keys(), ids=_key_id)
def test_absurd_numbers_are_refused_at_load_naming_the_range(tmp_path: Path, where: str, name: str,
                                                             key: cfg.Key, literal: str) -> None:
    message = error_for(tmp_path, _config_with(where, name, literal))
    full = f"{where.replace('channels.' + where.split('.')[-1], 'channels.s')}.{name}"
    assert f"{full}: expected {'an integer' if key.type == 'int' else 'a number'} from " \
           f"{key.minimum:g} to {key.maximum:g}" in message or "expected an integer, got number" in message


@pytest.mark.parametrize(("where", "name", "key"), _number_keys(), ids=_key_id)
def test_both_ends_of_each_range_are_accepted(tmp_path: Path, where: str, name: str, key: cfg.Key) -> None:
    for bound in (key.minimum, key.maximum):
        cfg.load_settings(write(tmp_path, _config_with(where, name, f"{bound:g}")), warn=None)


def test_a_number_python_cannot_read_is_one_line(tmp_path: Path) -> None:
    assert "invalid TOML" in error_for(tmp_path, "[desk]\nundo_seconds = " + "9" * 5000 + "\n")
    assert "invalid TOML" in error_for(tmp_path, "[desk]\nname = 0000-01-01\n")


# -- [webhooks] -------------------------------------------------------------------------


def test_webhooks_table_defaults_its_public_url_to_the_listen_address(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[webhooks]\nlisten = "[::1]:8787"\n', "utf-8")
    hooks = cfg.load_settings(path, warn=None).webhooks
    assert hooks is not None and (hooks.host, hooks.port) == ("::1", 8787)
    assert hooks.public_url == "http://[::1]:8787" and hooks.max_body_bytes == 1024 * 1024
    assert hooks.mount_url("team") == "http://[::1]:8787/hooks/team"
    path.write_text('[webhooks]\nlisten = "0.0.0.0:80"\npublic_url = "https://desk.example.com/omni/"\n'
                    "max_body_bytes = 4096\n", "utf-8")
    hooks = cfg.load_settings(path, warn=None).webhooks
    assert hooks is not None and hooks.mount_url("bot") == "https://desk.example.com/omni/hooks/bot"
    assert hooks.max_body_bytes == 4096
    path.write_text("[desk]\n", "utf-8")
    assert cfg.load_settings(path, warn=None).webhooks is None  # no table: no listener


@pytest.mark.parametrize(("body", "expected"), [
    ('listen = "127.0.0.1:8787"\nport = 1', "webhooks.port: unknown key; expected one of listen,"
                                            " max_body_bytes, public_url"),
    ('listen = "localhost"', 'webhooks.listen: expected "host:port"'),
    ('listen = "h:99999"', 'webhooks.listen: expected "host:port"'),
    ('listen = ":8787"', 'webhooks.listen: expected "host:port"'),
    ('public_url = "https://x"', "webhooks.listen: missing required key"),
    ('listen = "h:1"\npublic_url = "ftp://desk.example.com"', "webhooks.public_url: expected an http(s) URL"),
    ('listen = "h:1"\npublic_url = "https://desk.example.com/?a=1"', "webhooks.public_url: expected"),
    ('listen = "h:1"\nmax_body_bytes = 10', "webhooks.max_body_bytes: expected an integer from 1024"),
])
def test_a_wrong_webhooks_table_is_one_line_naming_the_key(tmp_path: Path, body: str, expected: str) -> None:
    message = error_for(tmp_path, f"[webhooks]\n{body}\n")
    assert expected in message and "\n" not in message
