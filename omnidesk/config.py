"""Find, load and validate the TOML configuration into `omnidesk.settings.Settings`.

The schema is data (`DESK_KEYS`, `AGENT_KEYS`, ...; a channel kind's keys are
its adapter's `options` declarations, `channel_keys`): the validator, the tests
that check config/omnidesk.example.toml documents every key, and
docs/configuration.md all read the same tables. Every mistake is one
`ConfigError` naming the file, the key and what was expected; the CLI prints
it as one line and exits 1.
"""

from __future__ import annotations

import math
import os
import re
import stat
import sys
import tomllib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from omnidesk.errors import ConfigError, UserError
from omnidesk.settings import (
    DEFAULT_MAX_BODY_BYTES,
    SENDER_FIELDS,
    AgentSettings,
    ChannelSettings,
    DeskSettings,
    KbSettings,
    LangText,
    MacroSettings,
    RetentionSettings,
    SavedView,
    Settings,
    SurveySettings,
    TuiSettings,
    WebhookSettings,
)

if TYPE_CHECKING:  # a config without channels never needs the adapter contract
    from adapters.base import Option

APP_NAME = "omnidesk"
CONFIG_ENV = "OMNIDESK_CONFIG"


class Key(NamedTuple):
    """One config key: its type, whether it is required, and a line of documentation.

    Every "int" and "number" key has a `minimum` and a `maximum` (a test checks it):
    a value outside, or nan/inf, is refused at load, before it can overflow a
    timestamp or an SQLite integer somewhere later.
    A NamedTuple because it is defined at every start-up (cheaper than a dataclass).
    """

    type: str  # "str" | "int" | "number" | "bool" | "path" | "list[str]" | "table[str]" | "table" | "enum"
    doc: str
    required: bool = False
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None


DESK_KEYS: dict[str, Key] = {
    "name": Key("str", "Desk name, shown in the console title."),
    "timezone": Key("str", "IANA time zone for showing times, e.g. Europe/Budapest."),
    "data_dir": Key("path", "Where the database and attachments live (default: platformdirs data dir)."),
    "undo_seconds": Key("number", "How long a reply waits before it leaves (undo window).",
                        minimum=0, maximum=3600),
    "continuity_window_hours": Key("number", "Chat messages join the customer's open conversation "
                                   "active within this many hours (threading rule 3).",
                                   minimum=0, maximum=8760),
    "reopen_window_days": Key("number", "A reply to a resolved conversation reopens it within this "
                              "many days; later it starts a linked one.", minimum=0, maximum=3650),
    "subject_token": Key("bool", 'Put "[#N]" into outgoing email subjects.'),
    "quote_last_message": Key("bool", "Quote the message replied to in email replies."),
    "language": Key("str", "Language tag the desk writes in when a customer's language is unknown "
                    "(signatures and macros fall back to it), e.g. en."),
    "rules": Key("path", "The routing rules file (default: rules.toml beside this file; docs/rules.md)."),
}

AGENT_KEYS: dict[str, Key] = {
    "name": Key("str", "Short handle used by --as, assignee: and `assign`.", required=True),
    "display_name": Key("str", "Full name shown in the console."),
    "email": Key("str", "The agent's own email address."),
    "os_user": Key("str", "OS login ($USER) that acts as this agent by default."),
    "role": Key("enum", "What the agent may do: agent, lead (merge, export, erase, audit) or admin "
                "(also manage agents, act as another with --as); docs/security.md.",
                choices=("agent", "lead", "admin")),
    "skills": Key("list[str]", "Skills for routing, e.g. [\"billing\", \"hu\"]."),
    "teams": Key("list[str]", "Teams the agent belongs to."),
    "capacity": Key("int", "Most open or pending conversations the assignment strategies give the agent.",
                    minimum=0, maximum=1_000_000),
    "slack": Key("list[str]", "The agent's Slack users, USER@TEAM (a string or a list)."),
    "telegram": Key("list[str]", "The agent's Telegram user ids (a string or a list)."),
    "phone": Key("list[str]", "The agent's phone numbers, +country code (a string or a list)."),
    "mastodon": Key("list[str]", "The agent's Mastodon handles, user@instance (a string or a list)."),
    "signature": Key("lang_text", "The agent's own signature (text, or a table language = text); a "
                     "channel's signature places it with {agent_signature}."),
    "signature_html": Key("lang_text", "The agent's signature as HTML, for email."),
}

#: Sender identity keys every channel takes besides its adapter's own (the core reads them).
SENDER_KEYS: dict[str, Key] = {
    "from_name": Key("str", "Display name replies are sent under, e.g. \"{agent} at Example Support\" "
                     "(placeholders: " + ", ".join("{" + f + "}" for f in SENDER_FIELDS) + ")."),
    "signature": Key("lang_text", "Signature under replies on this channel (text, or a table "
                     "language = text; same placeholders; \"\" for none). Unset: the agent's "
                     "signature on channels with subjects (email), none on chat."),
    "signature_html": Key("lang_text", "The signature as HTML, for channels that send HTML (email)."),
}

#: The automatic acknowledgement of a new conversation, which every channel takes (docs/macros.md).
AUTO_ACK_KEYS: dict[str, Key] = {
    "auto_ack": Key("str", "Macro that acknowledges the first message of a new conversation on this "
                    "channel automatically (unset: none)."),
    "auto_ack_kb": Key("int", "Knowledge-base suggestions appended to the acknowledgement as links "
                       "(default 0).", minimum=0, maximum=5),
    "auto_ack_limit": Key("int", "At most this many acknowledgements per sender address per hour, "
                          "across channels (default 3).", minimum=1, maximum=100),
}

#: Survey keys every channel takes (the core reads them; docs/reports.md "Surveys").
SURVEY_CHANNEL_KEYS: dict[str, Key] = {
    "csat": Key("bool", "Ask the customer for a 1-5 rating on this channel after a resolve."),
    "nps": Key("bool", "Ask the 0-10 NPS question instead when the customer is due one."),
    "csat_delay": Key("str", "How long after the resolve (not reopened meanwhile) to ask, e.g. 1h, 30m, 1d."),
}

SURVEY_KEYS: dict[str, Key] = {
    "nps_period": Key("str", "Ask a customer NPS at most once in this long, e.g. 90d."),
    "expire": Key("str", "How long a rating link or chat answer is taken after asking, e.g. 14d."),
    "max_age": Key("str", "Conversations resolved longer ago than the delay plus this are not asked "
                   "(so turning csat on does not survey old ones), e.g. 7d."),
    "reopen_on_question": Key("bool", "A survey comment that asks something (a ? or a question word "
                              "first) reopens the conversation."),
    "csat_question": Key("lang_text", "The CSAT question (text, or a table language = text)."),
    "nps_question": Key("lang_text", "The NPS question (text, or a table language = text)."),
}

MACRO_KEYS: dict[str, Key] = {
    "dir": Key("path", "Folder of macro files (*.toml); default: macros/ next to this config file."),
}

#: The agent keys that are identities besides `email` (adapters.base.IDENTITY_KINDS, a test checks):
#: a message from any of them is the agent's own.
AGENT_IDENTITY_KEYS = ("slack", "telegram", "phone", "mastodon")

VIEW_KEYS: dict[str, Key] = {
    "name": Key("str", "Name shown in the sidebar.", required=True),
    "query": Key("str", "A search-language query (see docs/cli.md).", required=True),
    "key": Key("enum", "Digit key that opens the view in the console.",
               choices=tuple("123456789")),
}

RETENTION_KEYS: dict[str, Key] = {
    "raw_mail_days": Key("int", "Raw bytes of messages received longer ago than this many days are removed "
                         "(0: kept forever).", minimum=0, maximum=36500),
    "resolved_conversation_days": Key("int", "Conversations resolved longer ago than this many days keep "
                                      "only anonymous shells (0: kept forever).", minimum=0, maximum=36500),
}

TUI_KEYS: dict[str, Key] = {
    "bell_on_assign": Key("bool", "Ring the terminal bell when a conversation is assigned to you."),
    "ascii_glyphs": Key("bool", "Use ASCII instead of Unicode symbols."),
    "opener": Key("str", "Command that opens an attachment, the file path appended (default xdg-open)."),
    "keys": Key("table[str]", "Key remapping: action id = \"key[,key...]\" (see docs/keys.md)."),
}

WEBHOOK_KEYS: dict[str, Key] = {
    "listen": Key("str", 'Address `omnidesk sync` serves webhooks on, "host:port" (e.g. "127.0.0.1:8787").',
                  required=True),
    "public_url": Key("str", "The URL services call, the listener as seen from outside (a reverse proxy's);"
                      " default http://<listen>."),
    "max_body_bytes": Key("int", "Largest request body taken; a larger one is refused (413). Default 1 MiB.",
                          minimum=1024, maximum=64 * 1024 * 1024),
}

KB_KEYS: dict[str, Key] = {
    "path": Key("path", "Folder of knowledge-base articles (*.md with TOML front matter); "
                "default: kb/ next to this config file."),
    "public_url": Key("str", "Address of the published help centre (`omnidesk kb publish`), "
                      "e.g. https://help.example.com; links inserted into replies start with it."),
}

#: How an adapter's `Option.type` (adapters/base.py) is checked here.
_OPTION_TYPES = {"str": "str", "int": "int", "number": "number", "bool": "bool", "list": "list[str]",
                 "path": "path"}


def option_keys(options: Sequence[Option]) -> dict[str, Key]:
    """The config keys of a channel kind, from its adapter's declarations.

    A secret `KEY` is also `KEY_cmd` (a shell command printing it) and `KEY_env` (an
    environment variable holding it); a required secret is checked by `omnidesk doctor`,
    not at load, because those sources are only read when the channel connects.
    """
    keys: dict[str, Key] = {}
    for o in options:
        if o.type not in _OPTION_TYPES:
            raise ConfigError(f"its option {o.name!r} has type {o.type!r}; expected one of "
                              + ", ".join(_OPTION_TYPES))
        kind = "enum" if o.choices else _OPTION_TYPES[o.type]
        keys[o.name] = Key(kind, o.help, required=o.required and not o.secret, choices=o.choices,
                           minimum=o.minimum, maximum=o.maximum)
        if o.secret:
            keys[f"{o.name}_cmd"] = Key("str", f'Shell command printing {o.name}, e.g. "pass show support".')
            keys[f"{o.name}_env"] = Key("str", f"Environment variable holding {o.name}.")
    return keys


def channel_keys(kind: str) -> dict[str, Key] | None:
    """`kind`'s config keys (its adapter's `options`), or None when the adapter declares none.

    Loads the adapter class through the registry; adapters import their heavy libraries
    only when a channel is built, so this is cheap. ConfigError when it cannot be loaded.
    """
    from omnidesk import registry

    options = registry.options_for(kind)
    return None if options is None else option_keys(options)


def secret_names(kind: str) -> tuple[str, ...]:
    """The secrets `kind` declares (each also read as NAME_cmd and NAME_env); () when unknown."""
    from omnidesk import registry

    try:
        options = registry.options_for(kind) or ()
    except ConfigError:
        return ()
    return tuple(o.name for o in options if o.secret)


def __getattr__(name: str) -> Any:
    # CHANNEL_KEYS (kind -> keys of the built-in kinds) is computed from the adapters'
    # declarations on first use, not at import: most commands never need it.
    if name == "CHANNEL_KEYS":
        from omnidesk import registry

        return {kind: channel_keys(kind) or {} for kind in registry.BUILTINS}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def toml_key(name: str) -> str:
    """A key as TOML writes it: bare when it can be, else quoted with escapes, so a key
    holding a newline or an escape sequence cannot break the one-line error."""
    import json

    return name if _BARE_KEY.fullmatch(name) else json.dumps(name)


# -- finding --------------------------------------------------------------------


def default_config_path() -> Path:
    xdg = os.environ.get("XDG_CONFIG_HOME")
    if xdg:
        return Path(xdg) / APP_NAME / "config.toml"
    import platformdirs

    return platformdirs.user_config_path(APP_NAME) / "config.toml"


def find_config(cli_path: Path | None = None) -> Path:
    """`--config`, then $OMNIDESK_CONFIG, then $XDG_CONFIG_HOME/omnidesk/config.toml (platformdirs)."""
    if cli_path is not None:
        return Path(cli_path).expanduser()
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env).expanduser()
    return default_config_path()


def config_is_explicit(cli_path: Path | None = None) -> bool:
    """Was a file named (flag or env)? Then a missing file is an error, not "use defaults"."""
    return cli_path is not None or bool(os.environ.get(CONFIG_ENV))


def default_data_dir() -> Path:
    import platformdirs

    return platformdirs.user_data_path(APP_NAME)


def data_dir_for(settings: Settings) -> Path:
    return settings.desk.data_dir or default_data_dir()


# -- loading --------------------------------------------------------------------


def _stderr_warn(message: str) -> None:
    sys.stderr.write(f"omnidesk: warning: {message}\n")


def load_settings(path: Path, *, warn: Callable[[str], None] | None = _stderr_warn) -> Settings:
    """Read and validate one TOML file. ConfigError names the file, key and expectation."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found",
                          hint="create one with `omnidesk init`") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except ValueError as exc:  # a value tomllib reads but Python cannot hold: 5,000 digits, year 0
        raise ConfigError(f"{path}: invalid TOML: {str(exc).split(';')[0]}") from None
    settings = parse_settings(data, source=path)
    if warn is not None:
        for message in permission_warnings(path, settings):
            warn(message)
    return settings


def parse_settings(data: Mapping[str, Any], *, source: Path | None = None) -> Settings:
    """Validate an already-parsed TOML document."""
    v = _Validator(source)
    v.check_keys(data, {"desk", "agents", "channels", "views", "tui", "webhooks", "kb", "macros",
                       "calendars", "sla", "retention", "surveys"}, "")
    base = source.parent if source is not None else Path.cwd()

    desk_raw = v.table(data, "desk", "desk")
    desk_values = v.section(desk_raw, DESK_KEYS, "desk")
    for key in ("data_dir", "rules"):
        if key in desk_values:
            desk_values[key] = _resolve_path(desk_values[key], base)
    if "timezone" in desk_values:
        v.check_timezone(desk_values["timezone"], "desk.timezone")
    if "language" in desk_values:
        v.check_language(desk_values["language"], "desk.language")
    desk = DeskSettings(**desk_values)

    agents = []
    for i, item in enumerate(v.array_of_tables(data, "agents")):
        # One identity may be written as a string, several as a list.
        item = {k: [x] if k in AGENT_IDENTITY_KEYS and isinstance(x, str) else x for k, x in item.items()}
        values = v.section(item, AGENT_KEYS, f"agents[{i}]")
        v.check_name(values["name"], f"agents[{i}].name")
        for key in ("skills", "teams"):
            if key in values:
                values[key] = tuple(values[key])
        values["identities"] = tuple((k, x) for k in AGENT_IDENTITY_KEYS for x in values.pop(k, ()))
        for key in ("signature", "signature_html"):
            if key in values:
                v.check_placeholders(values[key], f"agents[{i}].{key}", exclude="agent_signature")
        agents.append(AgentSettings(**values))
    v.check_unique([a.name for a in agents], "agents", "name")
    for kind in AGENT_IDENTITY_KEYS:
        v.check_unique([x for a in agents for k, x in a.identities if k == kind], "agents", kind)

    channels = []
    channels_raw = v.table(data, "channels", "channels")
    for name, item in channels_raw.items():
        where = f"channels.{toml_key(name)}"
        v.check_name(name, where)
        if not isinstance(item, dict):
            v.fail(where, f"expected a table [{where}] with kind = ...", item)
        channels.append(_channel(v, name, item, base))

    views = []
    for i, item in enumerate(v.array_of_tables(data, "views")):
        views.append(SavedView(**v.section(item, VIEW_KEYS, f"views[{i}]")))
    v.check_unique([view.name for view in views], "views", "name")
    _check_view_keys(v, views)

    tui_values = v.section(v.table(data, "tui", "tui"), TUI_KEYS, "tui")
    tui = TuiSettings(**tui_values)
    webhooks = _webhooks(v, data["webhooks"]) if "webhooks" in data else None
    macro_values = v.section(v.table(data, "macros", "macros"), MACRO_KEYS, "macros")
    if "dir" in macro_values:
        macro_values["dir"] = _resolve_path(macro_values["dir"], base)
    for chan in channels:
        if chan.surveys and webhooks is None and _has_subjects(chan.kind):
            v.fail(f"channels.{toml_key(chan.name)}.csat", "email surveys link to the webhook listener:"
                   " add a [webhooks] table (listen, public_url)")
    settings = Settings(desk=desk, agents=tuple(agents), channels=tuple(channels), views=tuple(views),
                        tui=tui, webhooks=webhooks, kb=_kb(v, data, source),
                        macros=MacroSettings(**macro_values), surveys=_surveys(v, data), source=source)
    retention = v.table(data, "retention", "retention")
    settings.retention = RetentionSettings(**v.section(retention, RETENTION_KEYS, "retention"))
    if "calendars" in data or "sla" in data:  # most desks have neither: skip importing the SLA code
        from omnidesk.sla.config import parse_calendars, parse_policies

        settings.calendars = parse_calendars(v, v.table(data, "calendars", "calendars"))
        settings.sla = parse_policies(v, v.table(data, "sla", "sla"), settings.calendars)
    return settings


def _has_subjects(kind: str) -> bool:
    """Channels whose surveys are links (email): the others are answered with a number."""
    from omnidesk.registry import capabilities

    return capabilities(kind).subject


def _duration(v: _Validator, values: Mapping[str, Any], key: str, where: str) -> int | None:
    from omnidesk.timeutil import parse_duration

    if key not in values:
        return None
    try:
        return parse_duration(values[key], f"{where}.{key}")
    except UserError:
        v.fail(f"{where}.{key}", "expected a duration like 30m, 1h, 7d or 2w", values[key])
        return None


def _surveys(v: _Validator, data: Mapping[str, Any]) -> SurveySettings:
    values = v.section(v.table(data, "surveys", "surveys"), SURVEY_KEYS, "surveys")
    found = SurveySettings(reopen_on_question=values.get("reopen_on_question", True),
                           csat_question=values.get("csat_question", ()),
                           nps_question=values.get("nps_question", ()))
    for key, attr in (("nps_period", "nps_period_ms"), ("expire", "expire_ms"), ("max_age", "max_age_ms")):
        ms = _duration(v, values, key, "surveys")
        if ms is not None:
            setattr(found, attr, ms)
    return found


def _webhooks(v: _Validator, table: Any) -> WebhookSettings:
    """[webhooks]: `listen` as host and port, `public_url` an http(s) URL without a trailing slash."""
    from urllib.parse import urlsplit

    if not isinstance(table, dict):
        v.fail("webhooks", "expected a table [webhooks]", table)
    values = v.section(table, WEBHOOK_KEYS, "webhooks")
    listen = values["listen"].strip()
    host, sep, port_text = listen.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")  # "[::1]:8787"
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        v.fail("webhooks.listen", 'expected "host:port" with a port from 1 to 65535, e.g. "127.0.0.1:8787"',
               values["listen"])
    default_url = f"http://{'[' + host + ']' if ':' in host else host}:{port_text}"
    public_url = values.get("public_url", default_url).strip().rstrip("/")
    parts = urlsplit(public_url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        v.fail("webhooks.public_url", 'expected an http(s) URL without query, e.g. "https://desk.example.com"',
               values.get("public_url"))
    return WebhookSettings(host, int(port_text), public_url,
                           values.get("max_body_bytes", DEFAULT_MAX_BODY_BYTES))


def _kb(v: _Validator, data: Mapping[str, Any], source: Path | None) -> KbSettings:
    values = v.section(v.table(data, "kb", "kb"), KB_KEYS, "kb")
    if "path" in values:
        path: Path | None = _resolve_path(values["path"], source.parent if source else Path.cwd())
    else:  # no file, nothing to be next to: no knowledge base unless one is named
        path = source.parent.resolve() / "kb" if source is not None else None
    url = values.get("public_url", "")
    if url and not re.match(r"^https?://[^\s/?#]+", url):
        v.fail("kb.public_url", "expected an http:// or https:// address", url)
    return KbSettings(path=path, public_url=url.rstrip("/"))


def _check_view_keys(v: _Validator, views: list[SavedView]) -> None:
    """Two saved views on one digit: an error naming both (a built-in view gives way instead)."""
    first: dict[str, int] = {}
    for i, view in enumerate(views):
        if view.key is None:
            continue
        if view.key in first:
            other = views[first[view.key]]
            v.fail(f"views[{i}].key", f"key {view.key!r} of view {view.name!r} is already the key of view"
                   f" {other.name!r} (views[{first[view.key]}])")
        first[view.key] = i


def _channel(v: _Validator, name: str, item: Mapping[str, Any], base: Path) -> ChannelSettings:
    where = f"channels.{toml_key(name)}"
    if "kind" not in item:
        v.fail(f"{where}.kind", "missing required key; expected one of " + ", ".join(sorted(_plugin_kinds())))
    kind = item["kind"]
    if not isinstance(kind, str):
        v.fail(f"{where}.kind", "expected a string", kind)
    from omnidesk import registry

    if not registry.is_known(kind):
        v.fail(f"{where}.kind", "unknown channel kind " + repr(kind) + "; expected one of "
               + ", ".join(sorted(_plugin_kinds())))
    try:
        schema = channel_keys(kind)
    except ConfigError as exc:
        v.fail(f"{where}.kind", str(exc))
    sender = v.section({k: val for k, val in item.items() if k in SENDER_KEYS}, SENDER_KEYS, where)
    for key, value in sender.items():
        v.check_placeholders(value if key != "from_name" else (("", value),), f"{where}.{key}")
    sender.update(v.section({k: val for k, val in item.items() if k in AUTO_ACK_KEYS}, AUTO_ACK_KEYS, where))
    survey = v.section({k: val for k, val in item.items() if k in SURVEY_CHANNEL_KEYS}, SURVEY_CHANNEL_KEYS,
                       where)
    delay = _duration(v, survey, "csat_delay", where)
    sender.update(csat=survey.get("csat", False), nps=survey.get("nps", False))
    if delay is not None:
        sender["csat_delay_ms"] = delay
    core = SENDER_KEYS.keys() | AUTO_ACK_KEYS.keys() | SURVEY_CHANNEL_KEYS.keys()
    given = {k: val for k, val in item.items() if k != "kind" and k not in core}
    if schema is None:  # an adapter that declares no options checks its own
        address = given.get("address")
        return ChannelSettings(name=name, kind=kind, address=address if isinstance(address, str) else None,
                               options=given, **sender)
    secrets = secret_names(kind)
    v.secrets.update(secrets)
    options = v.section(given, schema, where)
    for key, spec in schema.items():
        if spec.type == "path" and key in options:
            options[key] = str(_resolve_path(options[key], base))
    for secret in secrets:
        sources = [k for k in (secret, f"{secret}_cmd", f"{secret}_env") if k in options]
        if len(sources) > 1:
            v.fail(f"{where}.{sources[1]}", f"give only one of {secret}_cmd, {secret}_env, {secret}")
    address = options.get("address")
    return ChannelSettings(name=name, kind=kind, address=address if isinstance(address, str) else None,
                           options=options, **sender)


def _plugin_kinds() -> set[str]:
    """Adapter kinds the registry knows: the `omnidesk.adapters` entry points and the built-ins."""
    from omnidesk.registry import kinds

    return set(kinds())


def _resolve_path(value: str | Path, base: Path) -> Path:
    path = Path(os.path.expandvars(str(value))).expanduser()
    return path if path.is_absolute() else (base / path).resolve()


_TYPE_WORDS = {
    "str": "a string", "path": "a path (string)", "int": "an integer", "number": "a number",
    "bool": "true or false", "list[str]": "a list of strings", "table[str]": "a table of strings",
    "lang_text": "a string or a table of language = string",
    "table": "a table",
}


class _Redacted:
    def __init__(self, value: Any) -> None:
        self.kind = type(value)


def _describe(value: Any) -> str:
    if isinstance(value, _Redacted):
        return {bool: "boolean", int: "integer", float: "number", list: "list",
                dict: "table"}.get(value.kind, value.kind.__name__) + " (value hidden)"
    kind = {bool: "boolean", int: "integer", float: "number", str: "string", list: "list",
            dict: "table"}.get(type(value), type(value).__name__)
    shown = repr(value)
    if len(shown) > 40:
        shown = shown[:37] + "..."
    return f"{kind} {shown}" if kind not in ("table", "list") else kind


class _Validator:
    def __init__(self, source: Path | None) -> None:
        self.source = str(source) if source is not None else "<config>"
        #: Keys that hold a secret in the file (the channels' declared secrets, as they are read).
        self.secrets: set[str] = set()

    def fail(self, key: str, expectation: str, got: Any = ...) -> None:
        if got is not ... and key.rsplit(".", 1)[-1] in self.secrets:
            got = _Redacted(got)  # a password never appears in a message, even a wrong one
        suffix = "" if got is ... else f", got {_describe(got)}"
        raise ConfigError(f"{self.source}: {key}: {expectation}{suffix}")

    def check_keys(self, table: Mapping[str, Any], allowed: set[str], where: str) -> None:
        for key in table:
            if key not in allowed:
                full = f"{where}.{toml_key(key)}" if where else toml_key(key)
                self.fail(full, "unknown key; expected one of " + ", ".join(sorted(allowed)))

    def table(self, data: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, dict):
            self.fail(where, f"expected a table [{where}]", value)
        return value

    def array_of_tables(self, data: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(x, dict) for x in value):
            self.fail(key, f"expected an array of tables [[{key}]]", value)
        return value

    def section(self, table: Mapping[str, Any], schema: Mapping[str, Key], where: str) -> dict[str, Any]:
        self.check_keys(table, set(schema), where)
        values: dict[str, Any] = {}
        for name, spec in schema.items():
            full = f"{where}.{name}"
            if name not in table:
                if spec.required:
                    self.fail(full, f"missing required key; expected {_TYPE_WORDS.get(spec.type, 'a value')}"
                              f" ({spec.doc})")
                continue
            values[name] = self.value(table[name], spec, full)
        return values

    def value(self, value: Any, spec: Key, full: str) -> Any:
        t = spec.type
        ok: bool
        if t in ("str", "path"):
            ok = isinstance(value, str)
        elif t == "int":
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif t == "number":
            ok = isinstance(value, int | float) and not isinstance(value, bool)
        elif t == "bool":
            ok = isinstance(value, bool)
        elif t == "list[str]":
            ok = isinstance(value, list) and all(isinstance(x, str) for x in value)
        elif t == "table[str]":
            ok = isinstance(value, dict) and all(isinstance(x, str) for x in value.values())
        elif t == "lang_text":
            return self.lang_text(value, full)
        elif t == "table":
            ok = isinstance(value, dict)
        elif t == "enum":
            if value not in spec.choices:
                self.fail(full, "expected one of " + ", ".join(repr(c) for c in spec.choices), value)
            return value
        else:  # pragma: no cover - a schema mistake, not a user one
            raise AssertionError(t)
        if not ok:
            self.fail(full, f"expected {_TYPE_WORDS[t]}", value)
        if t == "str" and not value.strip() and spec.required:
            self.fail(full, "must not be empty")
        if t in ("int", "number"):
            self.check_range(value, spec, full)
        if t == "number":
            return float(value)
        if t == "table[str]":
            return dict(value)
        return value

    def lang_text(self, value: Any, full: str) -> LangText:
        """A string (any language) or a table of language tag = string, as (tag, text) pairs."""
        from omnidesk.langpick import LANGUAGE_TAG, normal_tag

        if isinstance(value, str):
            return (("", value),)
        if not isinstance(value, dict) or not value or not all(isinstance(x, str) for x in value.values()):
            self.fail(full, f"expected {_TYPE_WORDS['lang_text']}", value)
        for tag in value:
            if not LANGUAGE_TAG.match(tag):
                self.fail(f"{full}.{toml_key(tag)}", "expected a language tag such as en, hu or pt-BR")
        return tuple((normal_tag(tag), text) for tag, text in value.items())

    def check_placeholders(self, texts: LangText, full: str, *, exclude: str = "") -> None:
        """Only `{name}` placeholders of SENDER_FIELDS (no attributes, indexes, formats); `{{` is a brace."""
        import string

        allowed = [f for f in SENDER_FIELDS if f != exclude]
        for tag, text in texts:
            where = f"{full}.{tag}" if tag else full
            try:
                fields = [(f, spec, conv) for _, f, spec, conv in string.Formatter().parse(text)
                          if f is not None]
            except ValueError as exc:
                self.fail(where, f"bad placeholder ({exc}); write {{{{ and }}}} for braces")
            for f, spec, conv in fields:
                if f not in allowed or spec or conv:
                    self.fail(where, f"unknown placeholder {{{f}{'!' + conv if conv else ''}"
                              f"{':' + spec if spec else ''}}}; expected one of "
                              + ", ".join("{" + a + "}" for a in allowed))

    def check_language(self, tag: str, where: str) -> None:
        from omnidesk.langpick import LANGUAGE_TAG

        if not LANGUAGE_TAG.match(tag):
            self.fail(where, "expected a language tag such as en, hu or pt-BR", tag)

    def check_range(self, value: float, spec: Key, full: str) -> None:
        """`spec.minimum <= value <= spec.maximum`; nan and inf are never in range."""
        low = -math.inf if spec.minimum is None else spec.minimum
        high = math.inf if spec.maximum is None else spec.maximum
        if not ((isinstance(value, int) or math.isfinite(value)) and low <= value <= high):
            kind = "an integer" if spec.type == "int" else "a number"
            self.fail(full, f"expected {kind} from {low:g} to {high:g}", value)

    def check_name(self, name: str, where: str) -> None:
        if not _NAME.match(name):
            self.fail(where, "expected a short name of letters, digits, '_', '.', '-'", name)

    def check_unique(self, names: list[Any], section: str, key: str) -> None:
        seen: set[Any] = set()
        for i, name in enumerate(names):
            if name in seen:
                self.fail(f"{section}[{i}].{key}", f"duplicate {key} {name!r}")
            seen.add(name)

    def check_timezone(self, name: str, where: str) -> None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            self.fail(where, "expected an IANA time zone such as UTC or Europe/Budapest", name)


# -- secrets in the file ----------------------------------------------------------


def permission_warnings(path: Path, settings: Settings) -> list[str]:
    """A file holding a password must not be readable by group or others."""
    holders = [c.name for c in settings.channels if any(k in c.options for k in secret_names(c.kind))]
    if not holders:
        return []
    try:
        mode = path.stat().st_mode
    except OSError:
        return []
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        return [f"{path} holds a password (channel {', '.join(holders)}) and is readable by "
                f"group/others (mode {stat.S_IMODE(mode):04o}); run: chmod 600 {path} "
                "(or use password_cmd / password_env)"]
    return []


# -- the starter file ---------------------------------------------------------------


def starter_config(*, desk_name: str = "omnidesk", agent_name: str | None = None,
                   os_user: str | None = None, timezone: str = "UTC",
                   data_dir: Path | None = None) -> str:
    """A commented config for `omnidesk init`: one agent (you), channels to uncomment."""
    os_user = os_user or os.environ.get("USER") or os.environ.get("LOGNAME") or "me"
    agent_name = agent_name or _safe_name(os_user)
    data_line = (f'data_dir = {_toml_str(str(data_dir))}' if data_dir is not None
                 else '# data_dir = "~/.local/share/omnidesk"   # default: the platform data dir')
    return f"""\
# omnidesk configuration. Every key: `omnidesk init --example` and docs/configuration.md.

[desk]
name = {_toml_str(desk_name)}
timezone = {_toml_str(timezone)}          # IANA name, for showing times
{data_line}
undo_seconds = 5                # replies wait this long before they leave
continuity_window_hours = 24    # chat messages join a conversation active this recently
reopen_window_days = 7          # replies reopen resolved conversations this long
subject_token = true            # "[#123]" in outgoing email subjects

# Agents: who works the desk. `os_user` picks the agent for commands run by that login.
[[agents]]
name = {_toml_str(agent_name)}
display_name = {_toml_str(agent_name)}
os_user = {_toml_str(os_user)}
role = "admin"                  # agent | lead | admin (docs/security.md)
skills = []

{_starter_channels()}
# Saved views: sidebar entries, opened with their digit key.
[[views]]
name = "Mine"
query = "assignee:me status:open"
key = "1"

[[views]]
name = "Unassigned"
query = "is:unassigned status:open"
key = "2"
"""


def _starter_channels() -> str:
    """A commented table per installed channel kind, from its adapter's declarations:
    the keys it requires, each secret as KEY_cmd (better than the secret in this file)."""
    from omnidesk import registry

    blocks = []
    for kind in registry.kinds():
        try:
            doc = (registry.factory_for(kind).__doc__ or "").strip().splitlines()
            options = registry.options_for(kind)
        except ConfigError:
            continue  # `omnidesk doctor` names an adapter that cannot be loaded
        if options is None:
            continue
        lines = [f"# {doc[0] if doc else f'A {kind} channel.'} Every key: docs/configuration.md.",
                 f"# [channels.{_safe_name(kind)}]", f"# kind = {_toml_str(kind)}"]
        for o in options:
            if not o.required:
                continue
            if o.secret:
                line, help_text = f"# {o.name}_cmd = {_toml_str(f'pass show omnidesk/{kind}')}", \
                    f"prints the {o.name} (or set {o.name}_env, or {o.name} here)"
            else:
                line, help_text = f"# {o.name} = {_starter_value(o)}", o.help
            lines.append(f"{line.ljust(40)} # {help_text}")
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


def _starter_value(option: Option) -> str:
    if option.default is not None:
        value = option.default
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str):
            return _toml_str(value)
        return str(value)
    return {"list": "[]", "bool": "false", "int": "0", "number": "0"}.get(option.type, '"..."')


def _toml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _safe_name(value: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]", "", value)
    return name if name and name[0].isalnum() else "agent"
