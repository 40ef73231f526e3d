"""Validated configuration as typed records (loaded by omnidesk/config.py).

Everything the running code reads from config lives here, with its default.
`omnidesk/config.py` turns a TOML file into a `Settings` and rejects unknown
keys, wrong types and missing required keys with a message naming each.

Every command loads these, so they are cheap to define: the list-like entries are
NamedTuples; the tables that callers copy with `dataclasses.replace` stay dataclasses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from omnidesk.sla.policy import CalendarSpec, Policy


@dataclass(slots=True)
class DeskSettings:
    """The [desk] table."""

    name: str = "omnidesk"
    timezone: str = "UTC"
    data_dir: Path | None = None  # None: platformdirs user data dir
    undo_seconds: float = 5.0  # replies wait this long before they leave
    continuity_window_hours: float = 24.0  # threading rule 3
    reopen_window_days: float = 7.0  # threading rule 4
    subject_token: bool = True  # put "[#N]" in outgoing email subjects
    quote_last_message: bool = True  # quote the message replied to in email replies
    language: str = "en"  # the language the desk writes in when a customer's is unknown
    rules: Path | None = None  # the routing rules file; None: rules.toml beside the config file


#: The placeholders a channel's `from_name` and signatures (and an agent's signature) may hold.
SENDER_FIELDS = ("agent", "agent_name", "agent_first", "agent_email", "desk", "channel", "agent_signature")

#: A text by language: (language tag, text) pairs in the order written; "" is any language.
LangText = tuple[tuple[str, str], ...]


class AgentSettings(NamedTuple):
    """One [[agents]] entry."""

    name: str
    display_name: str = ""
    email: str | None = None
    os_user: str | None = None
    skills: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    #: (kind, address) of the agent's identities besides `email` (Slack, Telegram, phone, ...).
    identities: tuple[tuple[str, str], ...] = ()
    signature: LangText = ()  # the agent's own signature, `{agent_signature}` in a channel's
    signature_html: LangText = ()
    capacity: int | None = None  # most open conversations the assignment strategies give it
    role: str = "agent"  # agent | lead | admin: what the agent may do (omnidesk/permissions.py)


@dataclass(slots=True)
class ChannelSettings:
    """One [channels.NAME] table. `options` are the adapter's own keys, validated by it;
    the sender identity keys (`from_name`, `signature`, `signature_html`) and the automatic
    acknowledgement's (`auto_ack`, `auto_ack_kb`, `auto_ack_limit`) are the core's."""

    name: str
    kind: str
    address: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    from_name: str = ""  # "{agent} at Example Support"; "" = the desk's name
    signature: LangText | None = None  # None: the agent's signature on channels with subjects
    signature_html: LangText = ()
    auto_ack: str = ""  # the macro that acknowledges a new conversation's first message; "" = none
    auto_ack_kb: int = 0  # that many knowledge-base suggestions appended as links
    auto_ack_limit: int = 3  # at most this many acknowledgements per sender address per hour
    csat: bool = False  # ask a CSAT rating after a resolve (docs/reports.md "Surveys")
    nps: bool = False  # ask NPS instead when the customer is due one ([surveys] nps_period)
    csat_delay_ms: int = 3_600_000  # after the resolve, if not reopened meanwhile

    @property
    def surveys(self) -> bool:
        return self.csat or self.nps


class SavedView(NamedTuple):
    """One [[views]] entry: a named query, optionally on a number key."""

    name: str
    query: str
    key: str | None = None  # "1".."9"


@dataclass(slots=True)
class TuiSettings:
    """The [tui] table."""

    bell_on_assign: bool = True
    ascii_glyphs: bool = False
    opener: str = ""  # command that opens an attachment; "" = xdg-open (open on macOS)
    keys: Mapping[str, str] = field(default_factory=dict)  # action id -> key(s), comma separated


#: `[webhooks] max_body_bytes` unless set: 1 MiB, more than any chat push carries.
DEFAULT_MAX_BODY_BYTES = 1024 * 1024


@dataclass(slots=True)
class WebhookSettings:
    """The [webhooks] table: where `omnidesk sync` listens for pushes, and the URL services call."""

    host: str
    port: int
    public_url: str  # without a trailing slash; default http://<listen>
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES

    def mount_url(self, channel: str) -> str:
        """The public URL of a channel's mount, `<public_url>/hooks/<channel>`."""
        return f"{self.public_url}/hooks/{channel}"


@dataclass(slots=True)
class KbSettings:
    """The [kb] table: where the knowledge base's articles are, and where they are published."""

    path: Path | None = None  # None: no knowledge base (no config file to be next to)
    public_url: str = ""  # the published help centre's address, for links in replies


@dataclass(slots=True)
class SurveySettings:
    """The [surveys] table: how often NPS is asked, how long an answer is taken, the questions."""

    nps_period_ms: int = 90 * 86_400_000  # at most one NPS question per customer in this long
    expire_ms: int = 14 * 86_400_000  # a rating link or chat answer is taken this long after asking
    max_age_ms: int = 7 * 86_400_000  # conversations resolved longer ago than delay + this are not asked
    reopen_on_question: bool = True  # a comment that asks something reopens the conversation
    csat_question: LangText = ()  # () = omnidesk.surveytext.DEFAULT_QUESTIONS
    nps_question: LangText = ()


@dataclass(slots=True)
class MacroSettings:
    """The [macros] table."""

    dir: Path | None = None  # None: `macros/` next to the config file


class RetentionSettings(NamedTuple):
    """The [retention] table: how long content is kept; 0 keeps it forever."""

    raw_mail_days: int = 0  # raw bytes of messages (the mail as received)
    resolved_conversation_days: int = 0  # a resolved conversation's content becomes a shell


@dataclass(slots=True)
class Settings:
    """The whole validated configuration."""

    desk: DeskSettings = field(default_factory=DeskSettings)
    agents: tuple[AgentSettings, ...] = ()
    channels: tuple[ChannelSettings, ...] = ()
    views: tuple[SavedView, ...] = ()
    tui: TuiSettings = field(default_factory=TuiSettings)
    webhooks: WebhookSettings | None = None  # None: no [webhooks] table, no listener
    kb: KbSettings = field(default_factory=KbSettings)
    macros: MacroSettings = field(default_factory=MacroSettings)
    surveys: SurveySettings = field(default_factory=SurveySettings)
    source: Path | None = None  # the file these came from, for messages
    calendars: tuple[CalendarSpec, ...] = ()  # [calendars.NAME], in file order
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    sla: tuple[Policy, ...] = ()  # [sla.NAME] policies, in file order (the first that matches applies)

    def channel(self, name: str) -> ChannelSettings | None:
        return next((c for c in self.channels if c.name == name), None)

    @property
    def rules_path(self) -> Path | None:
        """The routing rules file: `[desk] rules`, else rules.toml beside the config file."""
        if self.desk.rules is not None:
            return self.desk.rules
        return self.source.parent / "rules.toml" if self.source is not None else None
