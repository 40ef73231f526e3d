"""A local Twilio Programmable Messaging API (2010-04-01): SMS, MMS and WhatsApp messages.

The tests' Twilio. Base URL `fake.api_url` (what `api_url` is set to); resources as in
Twilio's API definition (`../shared/corpora/chat/twilio/openapi/twilio_api_v2010.json`):

- `GET|POST /2010-04-01/Accounts/{Sid}/Messages.json`: the list, newest first, filtered by
  `To`, `From`, `DateSent`, `DateSent>`/`DateSent<` (on/after, on/before; a date or a
  date-time), `PageSize` (default 50, at most 1000), paged through `next_page_uri`
  (a `PageToken` names the last message of the page before, so new messages do not
  shift later pages); create is form-encoded (`To`, `From`, `Body` or `ContentSid` +
  `ContentVariables`, `StatusCallback`) and answers 201 with status `queued`;
- `GET .../Messages/{Sid}.json`, `.../Messages/{Sid}/Media.json` (the media list) and
  `.../Messages/{Sid}/Media/{MediaSid}` (the bytes; Twilio redirects to its CDN);
- HTTP basic auth with the account SID and auth token, else 401 with code 20003;
- errors are `{"code", "message", "more_info", "status"}`: 21211 (invalid To), 21610
  (the recipient replied STOP), 21602 (no body), 21617 (body over 1,600 characters),
  21606 (a From that is not the account's), 20404; 429 via `fail(...)`;
- delivery: `advance()` moves sent messages queued -> sent -> delivered (-> read on
  WhatsApp); `fail_next(30007)` makes the next created message end undelivered with that
  code; a free-form WhatsApp message more than 24 h after the customer last wrote fails
  with 63016, as Twilio does;
- STOP and the other opt-out keywords from a customer block further SMS to them (21610),
  START re-subscribes, as Twilio's Advanced Opt-Out does;
- webhooks: `incoming_params(message)` and `status_params(message)` are the form parameters
  Twilio posts, and `signed(url, params)` the headers and body it sends, signed with the
  auth token (X-Twilio-Signature).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlencode

from omnidesk.demo.fakes.httpfake import FakeHTTPServer, Request, Response

ACCOUNT_SID = "AC" + "5ef8732a3c49700934481addd5ce1659"
AUTH_TOKEN = "9b7c1a2e4d6f80a1b3c5d7e9f1a3b5c7"
API = "/2010-04-01"
STOP_WORDS = {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "optout", "revoke"}
START_WORDS = {"start", "unstop", "yes"}
WINDOW = timedelta(hours=24)
_FAILURES = {30003: "Unreachable destination handset", 30005: "Unknown destination handset",
             30006: "Landline or unreachable carrier", 30007: "Message filtered"}
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_ROUTES = (
    ("Account.fetch", re.compile(r"^/2010-04-01/Accounts/(?P<account>AC\w+)\.json$")),
    ("Messages", re.compile(r"^/2010-04-01/Accounts/(?P<account>AC\w+)/Messages\.json$")),
    ("Message.fetch", re.compile(r"^/2010-04-01/Accounts/(?P<account>AC\w+)/Messages/(?P<sid>\w+)\.json$")),
    ("Media.list", re.compile(
        r"^/2010-04-01/Accounts/(?P<account>AC\w+)/Messages/(?P<sid>\w+)/Media\.json$")),
    ("Media.fetch", re.compile(
        r"^/2010-04-01/Accounts/(?P<account>AC\w+)/Messages/(?P<sid>\w+)/Media/(?P<media>ME\w+)$")),
)


class TwilioError(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class Media:
    sid: str
    content_type: str
    data: bytes
    created: datetime


def twilio_date(at: datetime | None) -> str | None:
    """Twilio's RFC 2822 dates: `Fri, 24 May 2019 17:44:50 +0000`."""
    return None if at is None else format_datetime(at.astimezone(UTC)).replace("-0000", "+0000")


def signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    """X-Twilio-Signature: base64 HMAC-SHA1 of the URL, then each parameter's name and value by name."""
    data = url + "".join(name + params[name] for name in sorted(params))
    return base64.b64encode(hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()).decode()


class FakeTwilio(FakeHTTPServer):
    """One account with its phone numbers and WhatsApp senders, and customers who text them."""

    def __init__(self, numbers: tuple[str, ...] = ("+15005550006", "whatsapp:+14155238886")) -> None:
        super().__init__()
        self.account_sid = ACCOUNT_SID
        self.auth_token = AUTH_TOKEN
        self.numbers = set(numbers)
        self.messages: dict[str, dict[str, Any]] = {}
        self.media: dict[str, list[Media]] = {}
        self.opted_out: set[tuple[str, str]] = set()  # (our number, customer) after STOP
        self._fail_next: list[int] = []
        self._sids = itertools.count(1)
        self.clock: datetime | None = None  # None: real time; set it to age messages

    @property
    def api_url(self) -> str:
        return self.origin

    def now(self) -> datetime:
        return self.clock or datetime.now(UTC).replace(microsecond=0)

    # -- what customers and tests do -------------------------------------------------------

    def text(self, sender: str, to: str, body: str = "", *, at: datetime | None = None,
             media: tuple[tuple[bytes, str], ...] = (), profile_name: str = "") -> dict[str, Any]:
        """A message from a customer (`sender`, with `whatsapp:` for WhatsApp) to our `to`."""
        with self.lock:
            at = at or self.now()
            message = self._message("MM" if media else "SM", sender, to, body, "inbound", "received", at)
            message["num_media"] = str(len(media))
            if profile_name:
                message["_profile_name"] = profile_name
            self.media[message["sid"]] = [
                Media(f"ME{next(self._sids):032x}", content_type, data, at) for data, content_type in media]
            word = body.strip().lower()
            if word in STOP_WORDS:
                self.opted_out.add((to, sender))
            elif word in START_WORDS:
                self.opted_out.discard((to, sender))
            self.notify()
            return message

    def fail_next(self, code: int = 30007) -> None:
        """The next message created ends undelivered (30xxx) or failed with `code`."""
        with self.lock:
            self._fail_next.append(code)

    def advance(self) -> list[dict[str, Any]]:
        """Move every sent message one delivery step on; the messages that changed."""
        changed = []
        with self.lock:
            for message in self.messages.values():
                if message["direction"] == "inbound" or message["status"] in ("delivered", "read", "failed",
                                                                             "undelivered"):
                    continue
                failure = message.pop("_fails_with", None) if message["status"] == "sent" else None
                if failure is not None:
                    code, meaning = failure
                    message["status"] = "undelivered" if code < 60000 or code == 63016 else "failed"
                    message["error_code"], message["error_message"] = code, meaning
                else:
                    message["status"] = {"queued": "sent", "sent": "delivered"}[message["status"]]
                if message["status"] == "sent":
                    message["_sent"] = self.now()
                message["date_updated"] = twilio_date(self.now())
                changed.append(message)
            self.notify()
        return changed

    def read(self, message: dict[str, Any]) -> None:
        """A WhatsApp customer read our message (blue ticks)."""
        with self.lock:
            message["status"] = "read"
            message["date_updated"] = twilio_date(self.now())

    def sent(self, to: str | None = None) -> list[dict[str, Any]]:
        """Messages we sent (created through the API), oldest first."""
        with self.lock:
            return [m for m in self.messages.values() if m["direction"] == "outbound-api"
                    and (to is None or m["to"] == to)]

    # -- webhooks as Twilio sends them ---------------------------------------------------------

    def incoming_params(self, message: dict[str, Any]) -> dict[str, str]:
        """The form Twilio posts to a number's messaging webhook for an incoming message."""
        params = {"MessageSid": message["sid"], "SmsSid": message["sid"], "SmsMessageSid": message["sid"],
                  "AccountSid": self.account_sid, "From": message["from"], "To": message["to"],
                  "Body": message["body"], "NumMedia": message["num_media"],
                  "NumSegments": message["num_segments"], "SmsStatus": "received", "ApiVersion": "2010-04-01"}
        for n, item in enumerate(self.media.get(message["sid"], [])):
            params[f"MediaUrl{n}"] = f"{self.api_url}{self._uri(message['sid'])}/Media/{item.sid}"
            params[f"MediaContentType{n}"] = item.content_type
        if message["from"].startswith("whatsapp:"):
            params["ProfileName"] = message.get("_profile_name", "")
            params["WaId"] = message["from"].removeprefix("whatsapp:+")
        return params

    def status_params(self, message: dict[str, Any]) -> dict[str, str]:
        """The form Twilio posts to a message's StatusCallback when its status changes."""
        params = {"MessageSid": message["sid"], "SmsSid": message["sid"], "AccountSid": self.account_sid,
                  "From": message["from"], "To": message["to"], "MessageStatus": message["status"],
                  "SmsStatus": message["status"], "ApiVersion": "2010-04-01"}
        if message.get("error_code"):
            params["ErrorCode"] = str(message["error_code"])
        return params

    def signed(self, url: str, params: dict[str, str]) -> tuple[dict[str, str], bytes]:
        """The headers (lower-case names) and body of Twilio's POST of `params` to `url`."""
        headers = {"content-type": "application/x-www-form-urlencoded",
                   "x-twilio-signature": signature(self.auth_token, url, params),
                   "i-twilio-idempotency-token": f"{next(self._sids):032x}"}
        return headers, urlencode(params).encode()

    # -- the API ---------------------------------------------------------------------------

    def route_key(self, request: Request) -> str:
        for key, pattern in _ROUTES:
            if pattern.match(request.path):
                if key == "Messages":
                    return "Messages.create" if request.verb == "POST" else "Messages.list"
                return key
        return request.path

    def handle(self, request: Request) -> Response:
        try:
            return self._handle(request)
        except TwilioError as exc:
            return Response(exc.status, {"code": exc.code, "message": exc.message,
                                         "more_info": f"https://www.twilio.com/docs/errors/{exc.code}",
                                         "status": exc.status})

    def _handle(self, request: Request) -> Response:
        key = self.route_key(request)
        match = next((p.match(request.path) for k, p in _ROUTES if p.match(request.path)), None)
        if match is None:
            raise TwilioError(404, 20404, f"The requested resource {request.path} was not found")
        self._authenticate(request, match["account"])
        with self.lock:
            if key == "Account.fetch":
                return Response(200, {"sid": self.account_sid, "friendly_name": "omnidesk test account",
                                      "status": "active", "type": "Full"})
            if key == "Messages.list":
                return Response(200, self._list(request))
            if key == "Messages.create":
                return Response(201, self._public(self._create(request.params)))
            message = self.messages.get(match["sid"])
            if message is None:
                raise TwilioError(404, 20404, f"The requested resource {request.path} was not found")
            if key == "Message.fetch":
                return Response(200, self._public(message))
            items = self.media.get(message["sid"], [])
            if key == "Media.list":
                return Response(200, self._media_list(message, items))
            found = next((m for m in items if m.sid == match["media"]), None)
            if found is None:
                raise TwilioError(404, 20404, f"The requested resource {request.path} was not found")
            return Response(200, raw=found.data, content_type=found.content_type)

    def _authenticate(self, request: Request, account: str) -> None:
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        given = request.header("authorization") or ""
        if not hmac.compare_digest(given, expected):
            raise TwilioError(401, 20003, "Authenticate")
        if account != self.account_sid:
            raise TwilioError(404, 20404, f"The requested resource {request.path} was not found")

    def _list(self, request: Request) -> dict[str, Any]:
        p = request.params
        try:
            size = max(1, min(int(p.get("PageSize", 50)), 1000))
            page = int(p.get("Page", 0))
        except ValueError:
            raise TwilioError(400, 20001, "Invalid PageSize or Page") from None
        found = [m for m in self._newest_first() if self._matches(m, p)]
        token = p.get("PageToken", "")
        if token:
            after = token.removeprefix("PA")
            sids = [m["sid"] for m in found]
            found = found[sids.index(after) + 1:] if after in sids else []
        chunk, more = found[:size], len(found) > size
        filters = {k: v for k, v in p.items() if k in ("To", "From", "DateSent", "DateSent>", "DateSent<")}
        base = f"{self._uri()}.json?"
        first = base + urlencode({**filters, "PageSize": size, "Page": 0})
        following = (base + urlencode({**filters, "PageSize": size, "Page": page + 1,
                                       "PageToken": "PA" + chunk[-1]["sid"]})) if more and chunk else None
        return {"first_page_uri": first, "end": page * size + len(chunk) - 1, "previous_page_uri": None,
                "messages": [self._public(m) for m in chunk], "uri": base + urlencode(
                    {**filters, "PageSize": size, "Page": page}), "page_size": size,
                "start": page * size, "next_page_uri": following, "page": page}

    def _newest_first(self) -> list[dict[str, Any]]:
        return sorted(self.messages.values(), key=lambda m: (m["_sent"] or m["_created"], m["sid"]),
                      reverse=True)

    @staticmethod
    def _matches(message: dict[str, Any], p: dict[str, Any]) -> bool:
        if ("To" in p and message["to"] != p["To"]) or ("From" in p and message["from"] != p["From"]):
            return False
        sent = message["_sent"]
        for key, ok in (("DateSent", lambda a, b: a == b), ("DateSent>", lambda a, b: a >= b),
                        ("DateSent<", lambda a, b: a <= b)):
            if key not in p:
                continue
            if sent is None:
                return False
            value = str(p[key])
            bound: Any
            if "T" in value:
                bound = datetime.fromisoformat(value.replace("Z", "+00:00"))
                mine: Any = sent
            else:
                bound, mine = datetime.fromisoformat(value).date(), sent.date()
            if not ok(mine, bound):
                return False
        return True

    def _create(self, p: dict[str, Any]) -> dict[str, Any]:
        to, sender = str(p.get("To", "")), str(p.get("From", ""))
        body, content = str(p.get("Body", "")), str(p.get("ContentSid", ""))
        if not _E164.match(to.removeprefix("whatsapp:")):
            raise TwilioError(400, 21211, f"Invalid 'To' Phone Number: {to}")
        if sender not in self.numbers:
            raise TwilioError(400, 21606, f"The From phone number {sender} is not a valid, SMS-capable"
                                          " inbound phone number or short code for your account.")
        if to.startswith("whatsapp:") != sender.startswith("whatsapp:"):
            raise TwilioError(400, 63007, "Twilio could not find a Channel with the specified From address")
        if not body and not content:
            raise TwilioError(400, 21602, "Message body is required.")
        if len(body) > 1600:
            raise TwilioError(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
        if (sender, to) in self.opted_out:
            raise TwilioError(400, 21610, "Attempt to send to unsubscribed recipient")
        message = self._message("SM", sender, to, body or f"[template {content}]", "outbound-api", "queued",
                                self.now())
        if content:
            message["_content"] = (content, str(p.get("ContentVariables", "")))
        if self._fail_next:
            code = self._fail_next.pop(0)
            message["_fails_with"] = (code, _FAILURES.get(code, "Delivery failed"))
        elif to.startswith("whatsapp:") and not content and not self._in_window(sender, to):
            message["_fails_with"] = (63016, "Failed to send freeform message because you are outside the"
                                             " allowed window. Please use a Template.")
        if p.get("StatusCallback"):
            message["_status_callback"] = str(p["StatusCallback"])
        self.notify()
        return message

    def _in_window(self, ours: str, customer: str) -> bool:
        last = max((m["_sent"] for m in self.messages.values() if m["direction"] == "inbound"
                    and m["from"] == customer and m["to"] == ours and m["_sent"]), default=None)
        return last is not None and self.now() - last <= WINDOW

    def _message(self, prefix: str, sender: str, to: str, body: str, direction: str, status: str,
                 at: datetime) -> dict[str, Any]:
        sid = f"{prefix}{next(self._sids):032x}"
        message = {
            "account_sid": self.account_sid, "api_version": "2010-04-01", "body": body,
            "date_created": twilio_date(at), "date_sent": None, "date_updated": twilio_date(at),
            "direction": direction, "error_code": None, "error_message": None, "from": sender,
            "messaging_service_sid": None, "num_media": "0", "num_segments": "1", "price": None,
            "price_unit": "USD", "sid": sid, "status": status, "to": to,
            "subresource_uris": {"media": f"{self._uri(sid)}/Media.json"}, "uri": f"{self._uri(sid)}.json",
            "_created": at, "_sent": at if direction == "inbound" else None,
        }
        self.messages[sid] = message
        return message

    def _public(self, message: dict[str, Any]) -> dict[str, Any]:
        public = {k: v for k, v in message.items() if not k.startswith("_")}
        public["date_sent"] = twilio_date(message["_sent"]) if message["_sent"] else None
        return public

    def _media_list(self, message: dict[str, Any], items: list[Media]) -> dict[str, Any]:
        uri = f"{self._uri(message['sid'])}/Media.json"
        return {"first_page_uri": uri + "?PageSize=50&Page=0", "end": max(0, len(items) - 1),
                "previous_page_uri": None, "next_page_uri": None, "page": 0, "page_size": 50, "start": 0,
                "uri": uri, "media_list": [
                    {"account_sid": self.account_sid, "content_type": m.content_type,
                     "date_created": twilio_date(m.created), "date_updated": twilio_date(m.created),
                     "parent_sid": message["sid"], "sid": m.sid,
                     "uri": f"{self._uri(message['sid'])}/Media/{m.sid}.json"} for m in items]}

    def _uri(self, sid: str | None = None) -> str:
        base = f"{API}/Accounts/{self.account_sid}/Messages"
        return f"{base}/{sid}" if sid else base
