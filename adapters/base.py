"""The contract between omnidesk and its channel adapters.

An adapter is a pure translator: it turns a channel's API into `Inbound`
records plus an opaque cursor, and an `Outbound` into a `Receipt`. It knows
nothing of the store, the TUI or the CLI, and imports nothing of `omnidesk`.

omnidesk finds adapters by `kind` through the `omnidesk.adapters` entry-point
group, so a third party can ship a channel as its own package; a kind whose
messages also come as local files (`omnidesk import`) adds a `FileImport` to
the `omnidesk.importers` group.

Ids and scopes. Every id a channel gives a message (ours or theirs) is a
*reference* of that message, kept by the core and scoped by channel and by
`scope`: the chat or workspace where the channel's ids are only unique there
(Telegram: the chat id; Slack: "TEAM/CHANNEL"), or "" where they are unique on
the channel (an email Message-ID, a Twilio SID). Threading, recognising our own
messages read back, and re-delivery all go through the references, so an
adapter only has to say which ids a message has and which it answers.

What a channel can do is declared, not special-cased in the core: the class
attributes `capabilities` (`Capabilities`) and `options` (`Option`s, secrets
marked) say whom it can address, whether it has subjects, HTML, attachments, a
length limit, whether it can send at all, and which configuration keys it takes.
docs/adapters.md walks through a whole channel.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, NamedTuple, Protocol, runtime_checkable

# Flags an adapter may set on an Inbound record.
FLAG_AUTO_REPLY = "auto-reply"  # vacation responders, Auto-Submitted, X-Autoreply
FLAG_BOUNCE = "bounce"  # delivery status notifications
FLAG_LIST = "list"  # mailing-list traffic (List-Id, Precedence: list/bulk)
FLAG_QUARANTINED = "quarantined"  # could not be parsed; kept raw for an agent to look at
FLAG_OWN_ECHO = "own-echo"  # the adapter knows this is a copy of something we sent
FLAG_OPT_OUT = "opt-out"  # the sender asked for no more messages (SMS STOP): nothing is sent to them
FLAG_OPT_IN = "opt-in"  # the sender asked for messages again (SMS START) after opting out

#: Flags that mean "never answer this automatically".
NO_AUTO_ANSWER = frozenset({FLAG_AUTO_REPLY, FLAG_BOUNCE, FLAG_LIST})

#: Identity kinds an `Address` may have. A phone number is one kind whether it texts,
#: calls or writes on WhatsApp, so the same number is one customer everywhere.
IDENTITY_KINDS = ("email", "phone", "slack", "telegram", "mastodon")

#: Delivery states of a message we sent, in the order a channel reports them;
#: `undelivered` and `failed` end it, with the channel's code.
DELIVERY_STATES = ("queued", "sent", "delivered", "read", "undelivered", "failed")

_SURROGATE = re.compile("[\ud800-\udfff]")


def valid_text(value: str) -> str:
    """`value` with every lone surrogate replaced by U+FFFD, so UTF-8 can encode it.

    Every text of an `Inbound` must be valid Unicode; Python's `utf-7` and
    `surrogateescape` decoding produce lone surrogates, which SQLite refuses.
    """
    if value.isascii():  # O(1) in CPython, and most values are ASCII
        return value
    try:
        value.encode("utf-8")  # several times faster than searching with the pattern
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", value)
    return value


def raw_json(value: Any) -> bytes:
    """`value` as the JSON kept as an `Inbound.raw`; a lone surrogate (JSON allows `\\ud800`) stays
    a JSON escape there, so the raw copy is valid UTF-8 and still says what came."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text.encode("utf-8", "backslashreplace")


def email_address_problem(address: str) -> str | None:
    """Why `address` is not one addr-spec mail can be sent to (`ann@example.com`), or None.

    The syntax is read by the parser inbound mail goes through (`email.policy.default`'s
    address header, as adapters/email/headers.py); on top, the domain must be a host
    name with a dot (`x@y` is a typo, not a mail domain), labels of letters, digits
    and inner hyphens (`x@-.com` is not), or an IP literal such as `[192.0.2.1]`.
    Made for addresses a person types; inbound mail is read more leniently.
    """
    import ipaddress
    from email import errors, policy

    text = address.strip()
    if not text or any(not c.isprintable() or c.isspace() for c in text):
        return "empty or contains spaces or control characters"
    if len(text) > 254:
        return "longer than 254 characters"
    try:
        header = policy.default.header_factory("to", text)
        found = list(header.addresses)
    except Exception:  # the parser raises on some inputs (`a@`) instead of recording a defect
        return "not an address"
    # An accented local part (`kovács@példa.hu`) is fine by RFC 6531; every other defect is not.
    defects = [d for d in header.defects if not isinstance(d, errors.NonASCIILocalPartDefect)]
    if defects or len(found) != 1 or found[0].addr_spec != text or found[0].display_name:
        return "not one address of the form name@example.com"
    local, domain = found[0].username, found[0].domain
    if not local or len(local) > 64:
        return "the part before '@' is empty or longer than 64 characters"
    if domain.startswith("[") and domain.endswith("]"):
        try:
            ipaddress.ip_address(domain[1:-1].removeprefix("IPv6:"))
        except ValueError:
            return f"{domain} is not an IP address"
        return None
    labels = domain.split(".")
    if len(labels) < 2:
        return f"the domain {domain!r} has no dot"
    for label in labels:
        if not 1 <= len(label) <= 63 or label[0] == "-" or label[-1] == "-" or not all(
                c.isalnum() or c == "-" for c in label):
            return f"the domain {domain!r} is not a host name"
    if labels[-1].isdigit():
        return f"the domain {domain!r} ends in a number"
    return None


@dataclass(frozen=True, slots=True)
class Address:
    """Who sent or receives a message, as the channel names them.

    `kind` is one of `IDENTITY_KINDS` (a WhatsApp or SMS number is a `phone`);
    `address` is the raw value as the channel gave it: `U0123ABC@T0TEAM01` for a
    Slack user (user @ workspace), the decimal user id for Telegram. The core
    normalises it (lower-cased email, E.164 phone, upper-cased Slack) before storing.
    """

    kind: str
    address: str
    display_name: str = ""


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file on a message. Lazy when `fetch_ref` is set and `data` is empty.

    Channels whose files are links that expire or need the bot's token (Telegram
    `getFile`, Slack `url_private`) hand over a `fetch_ref` instead of the bytes;
    the core asks `adapter.fetch_attachment(fetch_ref)` when someone opens or saves
    it, and keeps the bytes as a blob from then on. `size` is the channel's word.
    """

    filename: str
    content_type: str
    data: bytes = b""
    content_id: str | None = None
    inline: bool = False
    fetch_ref: str | None = None
    size: int | None = None


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """A channel's word on a message we sent (an email DSN, an SMS status callback).

    `message_ref` is the external id of our message it is about (None: the
    report did not say); `state` is `failed`, `delayed` or `delivered`/`relayed`/
    `expanded`; `status` the remote code (`5.1.1`, `550`) and `diagnostic` the
    remote words, both possibly empty; `recipients` those the state is about.
    """

    message_ref: str | None
    state: str
    status: str = ""
    diagnostic: str = ""
    recipients: tuple[str, ...] = ()


@dataclass(slots=True)
class Inbound:
    """One message as it arrived on a channel, already decoded to text.

    `external_id` is unique per channel and `scope` (email Message-ID, Slack ts in
    its workspace and channel, Telegram message_id in its chat); re-delivering the
    same record is harmless. `thread_refs` lists the ids (in the same scope) this
    message answers, oldest first, most specific (direct parent) last; `also_ids`
    are further ids the channel gave the same message. `also_known_as` are other
    identities the sender showed (a phone number shared on Telegram, the email of a
    Slack profile): the core links them to the sender's customer, or the sender to
    the customer who already has one of them. `meta` is kept with the
    message and comes back in the `Outbound.context` of a reply to it (thread,
    chat, visibility), so the adapter can answer in place.
    `chat_like` marks messages with no subject-based threading (chat, SMS), which
    the continuity rule may join to the customer's open conversation. Every text is
    valid Unicode (`valid_text`). A quarantined record's first defect says why.
    `report` is set on delivery status notifications: what they say about a message we sent.
    """

    external_id: str
    sender: Address
    sent_at: datetime
    text: str
    subject: str = ""
    display_text: str | None = None  # None: same as text
    html: str | None = None
    recipients: tuple[Address, ...] = ()
    cc: tuple[Address, ...] = ()
    thread_refs: tuple[str, ...] = ()
    scope: str = ""
    also_ids: tuple[str, ...] = ()
    also_known_as: tuple[Address, ...] = ()
    chat_like: bool = False
    attachments: tuple[Attachment, ...] = ()
    raw: bytes | None = None
    defects: tuple[str, ...] = ()
    flags: frozenset[str] = frozenset()
    language: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    content_hash: str = ""
    report: DeliveryReport | None = None

    def __post_init__(self) -> None:
        if not self.content_hash:
            import hashlib  # here, not at the top: every command that reads the config imports this module

            h = hashlib.sha256()
            h.update(self.sender.address.encode("utf-8", "surrogatepass"))
            h.update(b"\0" + self.subject.encode("utf-8", "surrogatepass"))
            body = self.raw if self.raw is not None else self.text.encode("utf-8", "surrogatepass")
            h.update(b"\0" + body)
            self.content_hash = h.hexdigest()


#: Turns one undecoded record (the channel's bytes and what the adapter knows about them) into
#: an Inbound, never raising. A module-level function, so the core can run it in a worker process.
Decoder = Callable[[bytes, Mapping[str, Any]], Inbound]


@dataclass(frozen=True, slots=True)
class Edit:
    """A message was changed on the channel: the store shows `text`, the old text stays in its history."""

    external_id: str
    text: str
    edited_at: datetime
    scope: str = ""
    html: str | None = None


@dataclass(frozen=True, slots=True)
class Deletion:
    """A message was deleted on the channel: shown as deleted, its text kept for the audit unless erased."""

    external_id: str
    deleted_at: datetime
    scope: str = ""


@dataclass(frozen=True, slots=True)
class DeliveryChange:
    """A message we sent moved on (`DELIVERY_STATES`); `code` and `detail` are the channel's words."""

    external_id: str
    state: str
    at: datetime
    scope: str = ""
    code: str = ""
    detail: str = ""


#: What a batch may carry besides new messages; each is applied idempotently, and one
#: about a message the desk does not hold is kept aside, never an error.
Update = Edit | Deletion | DeliveryChange


@dataclass(slots=True)
class Batch:
    """Records fetched together, and the cursor to store once they are persisted.

    The core commits the records, the `updates` and `cursor` in one transaction,
    so a crash either keeps all or none.

    Batches from `poll_undecoded` may also carry `undecoded` records,
    (bytes, meta) pairs that the core turns into Inbound records with `decode`
    wherever it likes (in worker processes, while the next batch downloads);
    they come after `records`. Such batches may be requested before the previous
    one is committed, and several may commit in one transaction (with the last
    one's cursor), unless `commit_first` says the adapter acts on "the previous
    batch is committed" when asked for the next one (e.g. marking mail seen).
    """

    records: list[Inbound]
    cursor: str | None
    undecoded: list[tuple[bytes, Mapping[str, Any]]] = field(default_factory=list)
    decode: Decoder | None = None
    commit_first: bool = False
    updates: list[Update] = field(default_factory=list)

    def decoded(self) -> list[Inbound]:
        """Every record of the batch, decoding the undecoded ones here."""
        if not self.undecoded:
            return self.records
        assert self.decode is not None, "undecoded records need a decode function"
        return self.records + [self.decode(data, meta) for data, meta in self.undecoded]


@dataclass(slots=True)
class Outbound:
    """A reply to send. `message_ref` is ours and stable across retries.

    For email `message_ref` is the Message-ID generated before sending, so a
    retry after a crash can be recognised and a copy coming back is ours; a chat
    channel uses it as its idempotency key where the service has one.
    `in_reply_to` is the id of the message answered (in `scope`), `references`
    the thread's ids before it, and `context` that message's `Inbound.meta`
    (Slack channel and thread_ts, Telegram chat_id, Mastodon visibility).
    """

    message_ref: str
    to: tuple[Address, ...]
    text: str
    subject: str = ""
    from_address: Address | None = None
    cc: tuple[Address, ...] = ()
    bcc: tuple[Address, ...] = ()  # envelope only: never in a header the recipients see
    html: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    meta: Mapping[str, Any] = field(default_factory=dict)
    scope: str = ""
    context: Mapping[str, Any] = field(default_factory=dict)
    template: str = ""  # an approved template's configured name, sent instead of the text (WhatsApp)
    template_variables: Mapping[str, str] = field(default_factory=dict)
    #: Sent by the desk itself, not a person (an automatic acknowledgement): mail marks it
    #: `Auto-Submitted: auto-replied` (RFC 3834), so responders at the other end stay quiet.
    automatic: bool = False


@dataclass(frozen=True, slots=True)
class ReplyCheck:
    """What the core knows of a reply before it queues it, for an adapter's `reply_refusal`.

    `context` is the answered message's `Inbound.meta` (empty when the reply answers
    nothing on this channel); `recent_inbound` the customer's latest messages on this
    channel from the address `to`, newest first, as (sent_at, meta); `options` the
    channel's configured options; `template` the template chosen, if any.
    """

    text: str
    to: Address
    context: Mapping[str, Any]
    recent_inbound: tuple[tuple[datetime, Mapping[str, Any]], ...]
    options: Mapping[str, Any]
    now: datetime
    template: str = ""


@dataclass(frozen=True, slots=True)
class Receipt:
    """What the channel said when it accepted an Outbound.

    Every id in it becomes a reference of our message (in `scope`): `external_id`,
    and `also_ids` when the text went out in several parts. `state` is where
    delivery stands now; later `DeliveryChange`s move it on.
    """

    external_id: str
    sent_at: datetime
    meta: Mapping[str, Any] = field(default_factory=dict)
    scope: str = ""
    also_ids: tuple[str, ...] = ()
    state: str = "sent"


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a channel can do; the core asks this instead of the channel's kind.

    `addresses`: identity kinds it can send to (empty: it cannot send). `subject`,
    `html`, `attachments`: whether replies carry them. `max_length`: characters in
    one message, None for no limit (longer text is split by the adapter's
    `split_text`, which the composer uses to show the parts).
    """

    addresses: frozenset[str] = frozenset()
    subject: bool = False
    html: bool = False
    attachments: bool = False
    max_length: int | None = None

    @property
    def can_send(self) -> bool:
        return bool(self.addresses)


@dataclass(frozen=True, slots=True)
class Option:
    """A configuration key a channel kind takes, for validation, `init` and `doctor`.

    `type` is `str`, `int`, `number`, `bool`, `list` (of strings) or `path` (a
    string; a relative one is taken from the config file's directory); numbers are
    checked against `minimum`/`maximum`, a `str` with `choices` must be one of them.
    A `secret` is also read as `KEY_cmd` (a command's output) or `KEY_env` (an
    environment variable), at most one of the three, never logged.
    """

    name: str
    type: str
    help: str
    required: bool = False
    secret: bool = False
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()


def required_secret(secret: SecretResolver, key: str, channel: str, what: str) -> str:
    """The secret `key` of `channel`, stripped; ConfigurationError naming `what` when it is empty."""
    value = secret(key).strip()
    if not value:
        raise ConfigurationError(f"channel {channel}: the {what} is empty")
    return value


def split_text(text: str, limit: int | None) -> list[str]:
    """`text` in parts of at most `limit` characters, cut at a paragraph, line, sentence
    or word boundary where one is near enough, never inside a word otherwise possible."""
    if limit is None or len(text) <= limit:
        return [text]
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[:limit]
        cut = -1
        for boundary in ("\n\n", "\n", ". ", "! ", "? ", "。", "؟ ", " "):
            at = window.rfind(boundary)
            if at >= limit // 2:  # a boundary in the first half makes parts too short
                cut = at + len(boundary)
                break
        if cut <= 0:
            cut = limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts


#: GSM 03.38 basic character set: one septet each (the escape 0x1B itself is not text).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
#: GSM 03.38 extension table: an escape plus one septet, so two septets each.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")


class SmsSegments(NamedTuple):
    """How an SMS text travels: `count` segments of at most `per_segment` units in `encoding`.

    GSM-7 units are septets (an extension character such as € or [ takes two), UCS-2
    units are UTF-16 code units (an emoji takes two). A text that fits one segment has
    the whole 160 or 70; a longer one loses room to the concatenation header (153, 67).
    """

    count: int
    encoding: str  # "GSM-7" | "UCS-2"
    per_segment: int


def sms_segments(text: str) -> SmsSegments:
    """The SMS segments `text` needs, as carriers count them (0 for an empty text).

    A segment never splits an escape pair or a surrogate pair, so a long text can need
    one more segment than its units divided by 153 or 67.
    """
    if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text):
        encoding, single, multi = "GSM-7", 160, 153
        units = [2 if c in GSM7_EXTENSION else 1 for c in text]
    else:
        encoding, single, multi = "UCS-2", 70, 67
        units = [2 if ord(c) > 0xFFFF else 1 for c in text]
    total = sum(units)
    if total <= single:
        return SmsSegments(1 if text else 0, encoding, single)
    count, used = 1, 0
    for size in units:  # greedy packing: an indivisible pair that does not fit opens the next segment
        if used + size > multi:
            count, used = count + 1, 0
        used += size
    return SmsSegments(count, encoding, multi)


async def send_in_parts(parts: Sequence[Any], send: Callable[[int, Any], Awaitable[Any]],
                        ident: Callable[[Any], str]) -> list[Any]:
    """`send(n, part)` for each part in order, and what each returned.

    When a part after the first fails, a retry would send the first ones again: the
    PermanentError raised instead says which went out (`ident` of each answer).
    """
    sent: list[Any] = []
    for n, part in enumerate(parts):
        try:
            sent.append(await send(n, part))
        except AdapterError as exc:
            if not sent:
                raise
            raise partly_sent([ident(answer) for answer in sent], len(parts), exc) from exc
    return sent


def partly_sent(sent_ids: Sequence[str], parts: int, failed: BaseException) -> PermanentError:
    """The error of a reply cut into `parts` messages whose next part failed after `sent_ids` went
    out: permanent, since the outbox cannot retry one part, and saying which went out."""
    return PermanentError(f"sent {len(sent_ids)} of {parts} parts (ids {', '.join(sent_ids)});"
                          f" part {len(sent_ids) + 1} failed: {failed}")


class AdapterError(Exception):
    """Base class for errors an adapter raises."""


class TransientError(AdapterError):
    """Try again later: timeouts, refused connections, 4xx SMTP, HTTP 429/5xx."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(AdapterError):
    """Retrying will not help: 5xx SMTP, unknown recipient, message too large."""


class ConfigurationError(AdapterError):
    """The channel's settings are wrong or incomplete (named in the message)."""


class SourceError(AdapterError):
    """A path given to import is not what its format needs (named in the message)."""


@dataclass(frozen=True, slots=True)
class ProbeStep:
    """One step of an adapter's optional `probe()` (connect, log in, ...), for `omnidesk doctor --connect`."""

    step: str  # e.g. "imap login"
    status: str  # ok | warn | fail
    detail: str  # what was found, or why it failed, in one line


def unreachable_reason(exc: BaseException) -> str | None:
    """Why `exc` (or what caused it) means the server cannot be reached at all; None otherwise."""
    import socket  # only a failed connection needs it; keeps the module cheap for config checks

    seen: BaseException | None = exc
    for _ in range(16):  # chains are short; a cyclic one must not hang us
        if seen is None:
            break
        if isinstance(seen, ConnectionRefusedError):
            return "connection refused"
        if isinstance(seen, socket.gaierror):
            return f"the host name does not resolve ({seen.strerror or seen})"
        seen = seen.__cause__ or seen.__context__
    return None


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """One HTTP request the daemon's listener received for a channel.

    `path` is what follows the channel's mount (`/hooks/<channel name>`), "" or
    "/status"; `url` the public URL the sender called, as it signed it (from the
    listener's configured public base URL, query string included); header names
    are lower case; `body` is the raw bytes, already within the listener's size limit.
    """

    method: str
    path: str
    url: str
    headers: Mapping[str, str]
    body: bytes
    received_at: datetime


@dataclass(frozen=True, slots=True)
class WebhookReply:
    """What the listener answers, sent only after the request's batch is committed."""

    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"


#: The key of a `reply_note` context under which the composer hands the agent's choices for this reply
#: (keys of the adapter's `reply_choices`, e.g. {"visibility": "public"}), so the note describes the reply
#: as it will go; absent when the agent chose nothing.
CHOSEN = "chosen"

#: The option the core adds to a channel's options when the daemon's listener serves it: the public
#: URL of the channel's mount (`<[webhooks] public_url>/hooks/<channel name>`), for a service that is
#: told where to push (Telegram's setWebhook). Absent when nothing listens (`sync --once`, the console).
WEBHOOK_URL_OPTION = "webhook_url"


class WebhookRejected(AdapterError):
    """The request is refused and nothing is stored: bad signature (401/403), replayed or stale (403),
    malformed (400), a path the channel does not serve (404). `status` is the HTTP answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


#: Resolves a secret named in the channel settings (password_cmd, env, value).
SecretResolver = Callable[[str], str]


@runtime_checkable
class Adapter(Protocol):
    """What every channel adapter provides.

    `poll` yields batches of new records, each with the cursor to persist after
    it; it ends when the channel has nothing more right now. An adapter may also
    offer `poll_undecoded(cursor)`: the same batches, with records left as raw
    bytes for the core to decode in parallel (see `Batch`). `wait_for_changes`
    returns when new records may be available (IMAP IDLE, a sleep for polling
    channels). `send` delivers one Outbound or raises Transient/PermanentError.

    Class attributes: `capabilities` and `options` (see `Capabilities`, `Option`).
    A channel that splits long text offers `split_text(text) -> list[str]` (a
    staticmethod, so the composer can call it without a connection).

    Optional: `async def probe(self) -> list[ProbeStep]` logs in to every server the
    channel uses and reports each step (`omnidesk doctor --connect`); it never raises
    for a failed step and changes nothing on the servers.
    `async def fetch_attachment(self, fetch_ref: str) -> bytes` downloads a lazy
    `Attachment`, raising Transient/PermanentError.
    `async def webhook(self, request: WebhookRequest) -> tuple[Batch | None, WebhookReply]`
    verifies and reads a push from the service (signature, timestamp window) or raises
    `WebhookRejected`; the core commits the batch (its `cursor` None: pushes never move
    the poll cursor) and only then sends the reply, so an unacknowledged push is
    re-delivered and its records deduplicated by reference like a poll's.
    `reply_note(text: str, context: Mapping) -> str` (a staticmethod) is one line the
    composer shows under the reply as it is typed: SMS segments and encoding, Mastodon
    visibility and characters left; `context` is the answered message's `Inbound.meta`.
    `reply_refusal(check: ReplyCheck) -> str | None` (a staticmethod) is asked before a
    reply is queued: a reason the channel would refuse it (a WhatsApp reply outside the
    24-hour window, a template that is not configured), which the agent sees, or None.
    `reply_templates(options: Mapping) -> tuple[str, ...]` (a staticmethod) names the
    approved templates a reply may be sent as with the channel's configured `options`
    (WhatsApp's), which the console offers when a free-form reply is refused.
    """

    kind: ClassVar[str]
    capabilities: ClassVar[Capabilities]
    options: ClassVar[tuple[Option, ...]]
    name: str

    def poll(self, cursor: str | None) -> AsyncIterator[Batch]: ...

    async def wait_for_changes(self, timeout: float) -> None: ...

    async def send(self, outbound: Outbound) -> Receipt: ...

    async def close(self) -> None: ...


#: How an adapter class is built: name, its settings table, and a secret resolver.
AdapterFactory = Callable[[str, Mapping[str, Any], SecretResolver], Adapter]


class LocalMessage(NamedTuple):
    """One message in local files: a whole file, or `length` bytes at `offset` of an mbox.

    A tuple: a Maildir import makes one per file (100,000 frozen dataclasses took a second).
    """

    path: str
    offset: int = 0
    length: int = -1
    received_ts: float | None = None  # file mtime or mbox From_ date, for mail without a Date


@runtime_checkable
class FileImport(Protocol):
    """How `omnidesk import` reads a channel kind's messages from local files.

    `find` lists the messages of `paths` in format `fmt` (one of `formats`), in delivery
    order, or raises SourceError. `parse` (never raises: the worst case is a quarantined
    record) and `message_id` (the external id `parse` would give, read cheaply) run in
    parser processes on one message's bytes: implement them as static methods, so workers
    find them by name and no state is pickled.
    """

    formats: ClassVar[tuple[str, ...]]

    @staticmethod
    def find(fmt: str, paths: Sequence[Path]) -> list[LocalMessage]: ...

    @staticmethod
    def parse(raw: bytes, fallback_date: datetime | None) -> Inbound: ...

    @staticmethod
    def message_id(raw: bytes) -> str | None: ...
