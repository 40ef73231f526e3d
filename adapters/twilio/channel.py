"""The `twilio` channel: SMS and WhatsApp numbers of one Twilio account.

    adapter = TwilioAdapter("sms", {"account_sid": "AC...", "auth_token_env": "TWILIO_TOKEN",
                                    "numbers": ["+15005550006", "whatsapp:+14155238886"]}, secret)
    async for batch in adapter.poll(cursor): ...   # the Messages list of each number
    receipt = await adapter.send(outbound)         # Messages create, from the number written to
    batch, reply = await adapter.webhook(request)  # incoming-message and status callbacks

In: per number, `GET Messages.json?To=<number>&DateSent>=<day>`, all pages through
`next_page_uri`, oldest first. The cursor is a JSON object of each number's newest
`date_sent` seen; the next poll reads again from `overlap_seconds` before it (Twilio's
filter has day granularity and messages can appear late), and messages already seen are
not yielded again; the core's references absorb any repeat after a restart. Then per
number `GET Messages.json?From=<number>` over `delivery_hours`: our messages' statuses
as delivery changes, each reported once per process (the store applies them forward only).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qsl

from adapters.base import (
    Batch,
    Capabilities,
    ConfigurationError,
    Inbound,
    Option,
    Outbound,
    PermanentError,
    ProbeStep,
    Receipt,
    ReplyCheck,
    SecretResolver,
    Update,
    WebhookRejected,
    WebhookReply,
    WebhookRequest,
    required_secret,
    send_in_parts,
    sms_segments,
)
from adapters.base import split_text as split_at_boundaries
from adapters.twilio import messages as tw
from adapters.twilio import signature

if TYPE_CHECKING:
    from adapters.twilio.rest import TwilioREST

DEFAULT_API_URL = "https://api.twilio.com"
#: Twilio refuses a Body over 1,600 characters (21617); longer replies go as several messages.
MAX_LENGTH = 1600
PAGE_SIZE = 1000  # the most the Messages list gives per page
BATCH_SIZE = 500
WINDOW = timedelta(hours=24)  # WhatsApp's customer-service window
EMPTY_TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


class TwilioAdapter:
    """One Twilio account's numbers (SMS and WhatsApp senders) as an omnidesk channel."""

    kind: ClassVar[str] = "twilio"
    capabilities: ClassVar[Capabilities] = Capabilities(addresses=frozenset({"phone"}), max_length=MAX_LENGTH)
    options: ClassVar[tuple[Option, ...]] = (
        Option("account_sid", "str", "The account SID (AC...).", required=True),
        Option("auth_token", "str", "The account's auth token (prefer auth_token_cmd or auth_token_env);"
               " it also signs webhooks.", required=True, secret=True),
        Option("numbers", "list", "Our senders: E.164 numbers (+15005550006) and WhatsApp senders"
               " (whatsapp:+14155238886).", required=True),
        Option("api_url", "str", f"Base URL of the API (default {DEFAULT_API_URL}).",
               default=DEFAULT_API_URL),
        Option("whatsapp_templates", "list", "Approved WhatsApp templates a reply may use outside the"
               " 24-hour window, as NAME=ContentSid (order_update=HX...).", default=[]),
        Option("status_callback", "str", "URL Twilio posts delivery statuses to (the desk's"
               " /hooks/<channel>/status); empty: statuses are polled only.", default=""),
        Option("poll_seconds", "number", "Seconds between polls (default 10).", default=10,
               minimum=1, maximum=3600),
        Option("overlap_seconds", "number", "How far before the newest message seen each poll reads"
               " again (default 300).", default=300, minimum=0, maximum=86400),
        Option("history_days", "number", "Days of messages the first poll reads (default 7).", default=7,
               minimum=0, maximum=400),
        Option("delivery_hours", "number", "Hours our sent messages' statuses are followed (default 48).",
               default=48, minimum=0, maximum=24 * 30),
        Option("timeout_seconds", "number", "Network timeout (default 30).", default=30, minimum=1,
               maximum=600),
    )

    def __init__(self, name: str, options: Mapping[str, Any], secret: SecretResolver) -> None:
        self.name = name
        self.api_url = str(options.get("api_url") or DEFAULT_API_URL)
        if not self.api_url.startswith(("http://", "https://")):
            raise ConfigurationError(f"channel {name}: api_url {self.api_url!r} is not an http(s) URL")
        self.account_sid = str(options.get("account_sid") or "")
        if not (self.account_sid.startswith("AC") and len(self.account_sid) == 34):
            raise ConfigurationError(f"channel {name}: account_sid {self.account_sid!r} is not a Twilio"
                                     " account SID (AC and 32 hexadecimal digits)")
        self.numbers = numbers(name, options.get("numbers"))
        self.templates = templates(name, options.get("whatsapp_templates"))
        self.status_callback = str(options.get("status_callback") or "")
        self.poll_seconds = float(options.get("poll_seconds", 10))
        self.overlap = timedelta(seconds=float(options.get("overlap_seconds", 300)))
        self.history = timedelta(days=float(options.get("history_days", 7)))
        self.delivery_window = timedelta(hours=float(options.get("delivery_hours", 48)))
        self.timeout = float(options.get("timeout_seconds", 30))
        self._secret = secret
        self._api: TwilioREST | None = None
        self._seen: dict[str, datetime] = {}  # SIDs yielded within the overlap window -> date_sent
        self._reported: dict[str, str] = {}  # our SIDs in the delivery window -> the status last reported

    def token(self) -> str:
        return required_secret(self._secret, "auth_token", self.name, "auth token")

    def api(self) -> TwilioREST:
        """The REST client, built (and httpx imported) on first use."""
        if self._api is None:
            from adapters.twilio.rest import TwilioREST

            self._api = TwilioREST(self.api_url, self.account_sid, self.token(), timeout=self.timeout)
        return self._api

    @staticmethod
    def split_text(text: str) -> list[str]:
        """The messages a reply goes out as: at most 1,600 characters each."""
        return split_at_boundaries(text, MAX_LENGTH)

    @staticmethod
    def reply_note(text: str, context: Mapping[str, Any]) -> str:
        """`2 SMS segments · UCS-2 · 85 characters`; on WhatsApp, which has no segments, the length."""
        chars = f"{len(text):,} character{'s' if len(text) != 1 else ''}"
        if _context(context).get("transport") == "whatsapp":
            return f"WhatsApp · {chars}"
        parts = TwilioAdapter.split_text(text) if text else []
        segments = sum(sms_segments(p).count for p in parts)
        encoding = sms_segments(text).encoding
        note = f"{segments} SMS segment{'s' if segments != 1 else ''} · {encoding} · {chars}"
        return note + (f" · {len(parts)} messages" if len(parts) > 1 else "")

    @staticmethod
    def reply_templates(options: Mapping[str, Any]) -> tuple[str, ...]:
        """The approved WhatsApp templates (`whatsapp_templates`) a reply may be sent as, by name."""
        return tuple(sorted(templates("", options.get("whatsapp_templates"))))

    @staticmethod
    def reply_refusal(check: ReplyCheck) -> str | None:
        """Why Twilio would refuse this reply: a free-form WhatsApp reply outside the customer's
        24-hour window, or a template that is not configured (or not on WhatsApp)."""
        channel_templates = templates("", check.options.get("whatsapp_templates"))
        route = _context(check.context).get("transport") or _default_transport(
            numbers("", check.options.get("numbers")))
        if check.template:
            if route != "whatsapp":
                return "templates are for WhatsApp; this reply goes out as an SMS"
            if check.template not in channel_templates:
                known = ", ".join(sorted(channel_templates)) or "none configured (whatsapp_templates)"
                return f"no WhatsApp template named {check.template!r}; templates: {known}"
            return None
        if route != "whatsapp":
            return None
        last = next((at for at, meta in check.recent_inbound
                     if _context(meta).get("transport") == "whatsapp"), None)
        if last is not None and check.now - last <= WINDOW:
            return None
        since = "has not written on WhatsApp" if last is None else \
            f"last wrote on WhatsApp {_ago(check.now - last)} ago"
        hint = (f"; send an approved template instead (--template {' | '.join(sorted(channel_templates))})"
                if channel_templates else "; no approved templates are configured (whatsapp_templates)")
        return ("WhatsApp allows a free-form reply only within 24 hours of the customer's last message,"
                f" and this customer {since}{hint}")

    # -- in ----------------------------------------------------------------------------------

    async def poll(self, cursor: str | None) -> AsyncIterator[Batch]:
        """New customer messages per number (oldest first), then our messages' delivery changes."""
        marks = _marks(cursor)
        now = datetime.now(UTC)
        for number in self.numbers:
            mark = marks.get(number)
            since = (mark - self.overlap) if mark is not None else now - self.history
            found = sorted(self._new(await self._list({"To": number}, since), since))
            for start in range(0, len(found), BATCH_SIZE):
                chunk = found[start:start + BATCH_SIZE]
                records = [await self._record(m, at) for at, _, m in chunk]
                newest = max(r.sent_at for r in records)
                marks[number] = max(newest, mark) if mark is not None else newest
                yield Batch(records, _cursor(marks))
                for r in records:
                    self._seen[r.external_id] = r.sent_at
            self._forget_seen(marks.get(number))
        changes = await self._deliveries(now)
        if changes:
            yield Batch([], _cursor(marks) if marks else cursor, updates=changes)

    def _new(self, listed: list[dict[str, Any]],
             since: datetime) -> list[tuple[datetime, str, dict[str, Any]]]:
        """(date_sent, sid, message) of the customers' messages since `since` not yielded before."""
        out = []
        for message in listed:
            if message.get("direction") != "inbound" or message["sid"] in self._seen:
                continue
            sent = tw.parse_date(message.get("date_sent"))
            if sent is not None and sent >= since:
                out.append((sent, str(message["sid"]), message))
        return out

    def _forget_seen(self, mark: datetime | None) -> None:
        if mark is None:
            return
        horizon = mark - self.overlap - timedelta(days=1)
        for sid in [s for s, at in self._seen.items() if at < horizon]:
            del self._seen[sid]

    async def _list(self, filters: dict[str, str], since: datetime) -> list[dict[str, Any]]:
        """Every message matching `filters` sent on or after `since`'s day, all pages."""
        params: dict[str, Any] | None = {**filters, "DateSent>": since.strftime("%Y-%m-%d"),
                                         "PageSize": PAGE_SIZE}
        uri: str | None = self.api().messages_path
        found: list[dict[str, Any]] = []
        while uri:
            page = await self.api().get(uri, params)
            found.extend(m for m in page.get("messages") or () if isinstance(m, dict) and m.get("sid"))
            uri, params = page.get("next_page_uri") or None, None  # the next page's URI carries the query
        return found

    async def _record(self, message: dict[str, Any], sent_at: datetime) -> Inbound:
        try:
            attachments = ()
            if str(message.get("num_media") or "0") not in ("", "0"):
                uri = (message.get("subresource_uris") or {}).get("media")
                listing = await self.api().get(str(uri)) if uri else {}
                attachments = tw.media_attachments(str(message["sid"]), list(listing.get("media_list") or ()))
            return tw.from_resource(message, attachments, sent_at)
        except (KeyError, TypeError, ValueError) as exc:
            return tw.quarantined(message, exc)

    async def _deliveries(self, now: datetime) -> list[Update]:
        """Status changes of our messages from each number, each once per process."""
        if not self.delivery_window:
            return []
        changes: list[Update] = []
        listed: dict[str, str] = {}
        for number in self.numbers:
            for message in await self._list({"From": number}, now - self.delivery_window):
                sid, status = str(message["sid"]), str(message.get("status") or "")
                if message.get("direction") == "inbound":
                    continue
                listed[sid] = status
                if self._reported.get(sid) == status:
                    continue
                change = tw.resource_delivery(message)
                if change is not None:
                    changes.append(change)
        # What is not listed (out of the window, not sent yet) is forgotten: at worst it is reported
        # once more, which the store ignores, and the memory stays the window's size.
        self._reported = listed
        return changes

    async def wait_for_changes(self, timeout: float) -> None:
        await asyncio.sleep(max(0.0, min(timeout, self.poll_seconds)))

    async def fetch_attachment(self, fetch_ref: str) -> bytes:
        """The bytes of an MMS or WhatsApp media item (its Media URI, with the account's credentials)."""
        return await self.api().download(fetch_ref)

    # -- pushed to us ------------------------------------------------------------------------

    async def webhook(self, request: WebhookRequest) -> tuple[Batch | None, WebhookReply]:
        """An incoming-message or status callback, verified by X-Twilio-Signature."""
        if request.path not in ("", "/", "/status"):
            raise WebhookRejected(404, f"no Twilio webhook at {request.path!r}")
        if request.method.upper() != "POST":
            raise WebhookRejected(405, f"Twilio webhooks are POST requests, not {request.method}")
        given = request.headers.get("x-twilio-signature", "")
        if not given:
            raise WebhookRejected(403, "no X-Twilio-Signature header")
        try:
            form = dict(parse_qsl(request.body.decode("utf-8"), keep_blank_values=True, strict_parsing=False))
        except UnicodeDecodeError:
            raise WebhookRejected(400, "the webhook body is not UTF-8 form data") from None
        if not signature.valid(self.token(), request.url, form, given):
            raise WebhookRejected(403, "X-Twilio-Signature does not match the request (forged, or the URL"
                                       " Twilio calls is not the configured public URL)")
        if form.get("AccountSid") != self.account_sid:
            raise WebhookRejected(403, f"the webhook is for account {form.get('AccountSid')!r}, not ours")
        if not form.get("MessageSid"):
            raise WebhookRejected(400, "the webhook names no MessageSid")
        reply = WebhookReply(200, EMPTY_TWIML, "text/xml")
        status = form.get("MessageStatus") or form.get("SmsStatus") or ""
        if status and status not in ("received", "receiving"):
            change = tw.delivery(form["MessageSid"], status, request.received_at, form.get("ErrorCode"),
                                 form.get("ErrorMessage", ""))
            return Batch([], None, updates=[change] if change else []), reply
        if form.get("To") not in self.numbers:
            return Batch([], None), reply  # a number of the account this channel does not serve
        return Batch([tw.from_form(form, request.received_at)], None), reply

    # -- out ---------------------------------------------------------------------------------

    async def send(self, outbound: Outbound) -> Receipt:
        """Messages create from the number the customer wrote to (else our first SMS number)."""
        if outbound.attachments:  # capabilities say so; a reply must not lose its files quietly
            raise PermanentError(f"this Twilio channel sends text only; the reply has"
                                 f" {len(outbound.attachments)} attachment(s)")
        ours, route = self._sender(outbound.context)
        customer = next((a.address for a in outbound.to if a.kind == "phone"), None)
        if customer is None:
            raise PermanentError("no phone number to send to: the reply has no phone address in To")
        to = tw.WHATSAPP + customer if route == "whatsapp" else customer
        forms = [self._form(ours, to, {"Body": part})
                 for part in self.split_text(outbound.text) if part.strip()]
        if outbound.template:
            content = self.templates.get(outbound.template)
            if content is None:
                raise PermanentError(f"no WhatsApp template named {outbound.template!r}"
                                     f" on channel {self.name}")
            forms = [self._form(ours, to, {"ContentSid": content, "ContentVariables": json.dumps(
                dict(outbound.template_variables), ensure_ascii=False)})]
        if not forms:
            raise PermanentError("the reply is empty; Twilio refuses an empty message (21602)")
        sent = await send_in_parts(forms, lambda n, form: self.api().post(self.api().messages_path, form),
                                   lambda message: str(message.get("sid")))
        first = sent[0]
        change = tw.resource_delivery(first)
        for message in sent:
            self._reported[str(message["sid"])] = str(message.get("status") or "")
        return Receipt(external_id=str(first["sid"]),
                       sent_at=tw.parse_date(first.get("date_created")) or datetime.now(UTC),
                       meta={"twilio": {"transport": route, "from": ours, "to": to}},
                       also_ids=tuple(str(m["sid"]) for m in sent[1:]),
                       state=change.state if change is not None else "queued")

    def _sender(self, context: Mapping[str, Any]) -> tuple[str, str]:
        """(our number, transport): the number the answered message was sent to, else our first SMS one."""
        ours = str(_context(context).get("to") or "")
        if ours:
            if ours not in self.numbers:
                raise PermanentError(f"the customer wrote to {ours}, which channel {self.name} no longer has"
                                     " in numbers")
            return ours, tw.transport(ours)
        route = _default_transport(self.numbers)
        return next(n for n in self.numbers if tw.transport(n) == route), route

    def _form(self, ours: str, to: str, content: dict[str, str]) -> dict[str, str]:
        form = {"To": to, "From": ours, **content}
        if self.status_callback:
            form["StatusCallback"] = self.status_callback
        return form

    async def probe(self) -> list[ProbeStep]:
        """Fetch the account: are the SID and token good, is the API there."""
        try:
            account = await self.api().get(f"{self.api().account_path}.json")
        except Exception as exc:  # a probe reports, never raises
            return [ProbeStep("twilio account", "fail", str(exc))]
        state = str(account.get("status") or "?")
        return [ProbeStep("twilio account", "ok" if state == "active" else "warn",
                          f"{account.get('friendly_name') or self.account_sid} ({state}) at {self.api_url};"
                          f" numbers {', '.join(self.numbers)}")]

    async def close(self) -> None:
        if self._api is not None:
            api, self._api = self._api, None
            await api.close()


def numbers(channel: str, value: Any) -> tuple[str, ...]:
    """The configured senders, checked: `+` and 7-15 digits, optionally after `whatsapp:`."""
    found = tuple(str(n).strip() for n in value or ())
    for number in found:
        digits = tw.bare(number)
        if not (digits.startswith("+") and digits[1:].isdigit() and 7 <= len(digits) - 1 <= 15):
            raise ConfigurationError(f"channel {channel}: {number!r} in numbers is not an E.164 number"
                                     " (+15005550006) or a WhatsApp sender (whatsapp:+14155238886)")
    if not found and channel:
        raise ConfigurationError(f"channel {channel}: numbers is empty; list the numbers customers write to")
    return found


def templates(channel: str, value: Any) -> dict[str, str]:
    """`whatsapp_templates` entries NAME=ContentSid as a mapping."""
    out: dict[str, str] = {}
    for entry in value or ():
        name, _, sid = str(entry).partition("=")
        if channel and (not name.strip() or not sid.strip().startswith("HX")):
            raise ConfigurationError(f"channel {channel}: whatsapp_templates entry {entry!r} is not"
                                     " NAME=HX... (a Content SID)")
        out[name.strip()] = sid.strip()
    return out


def _default_transport(senders: tuple[str, ...]) -> str:
    return "sms" if any(tw.transport(n) == "sms" for n in senders) or not senders else "whatsapp"


def _context(context: Mapping[str, Any]) -> Mapping[str, Any]:
    found = context.get("twilio") if isinstance(context, Mapping) else None
    return found if isinstance(found, Mapping) else {}


def _ago(delta: timedelta) -> str:
    hours = int(delta.total_seconds() // 3600)
    return f"{hours // 24} days" if hours >= 48 else f"{hours} hours"


def _marks(cursor: str | None) -> dict[str, datetime]:
    if not cursor:
        return {}
    try:
        return {str(k): datetime.fromisoformat(v) for k, v in json.loads(cursor).items()}
    except (ValueError, AttributeError, TypeError):
        raise ConfigurationError(f"the stored Twilio cursor {cursor!r} is not a JSON object of"
                                 " dates") from None


def _cursor(marks: Mapping[str, datetime]) -> str:
    return json.dumps({k: v.isoformat() for k, v in sorted(marks.items())}, separators=(",", ":"))

