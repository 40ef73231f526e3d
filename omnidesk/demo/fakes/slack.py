"""A local Slack Web API: the methods a support desk uses, with Slack's shapes and errors.

The demo's Slack workspace and the tests' Slack.

Point slack-sdk at it with `WebClient(token=..., base_url=fake.base_url)` (or the async
client). What it models, as documented at api.slack.com and seen in the recordings under
`../shared/corpora/chat/slack/`:

- every answer is HTTP 200 with `{"ok": false, "error": "..."}` on failure, except rate
  limits (HTTP 429, `Retry-After`, body `{"ok":false,"error":"ratelimited"}`) and
  injected server errors;
- tokens: `not_authed` without one, `invalid_auth` for an unknown one, `token_revoked`
  and `account_inactive` after `revoke()` / `deactivate()`;
- `conversations.history` lists top-level messages and thread parents newest first,
  bounded by `oldest`/`latest` (exclusive unless `inclusive`), paged by an opaque
  `next_cursor` that encodes the next page's newest `ts`, with `has_more`;
  `conversations.replies` gives the parent first, then replies oldest first;
- thread parents carry `reply_count`, `reply_users`, `latest_reply`; replies carry
  `thread_ts` and `parent_user_id`; edits add `edited`; a deleted parent that still has
  replies stays as a `tombstone`; other deletions vanish, as in Slack;
- `chat.postMessage` by the bot token posts as the bot user (`user`, `bot_id`,
  `app_id`), returns the new `ts`, and errors `channel_not_found`, `not_in_channel`,
  `no_text`, `msg_too_long`, `thread_not_found` like Slack does;
- files: `url_private` answers only with the bot token in `Authorization`; without it
  Slack sends its sign-in page, so the fake does too (HTTP 200, text/html);
- the Events API, once `subscribe(url)`d: every message posted, edited or deleted is pushed
  to `url` as an `event_callback` (a `message` event, `message_changed`, `message_deleted`,
  a thread parent deleted with replies as a change to its tombstone), signed with the
  signing secret (`X-Slack-Signature: v0=HMAC-SHA256("v0:{timestamp}:{body}")`,
  `X-Slack-Request-Timestamp`); one not answered 2xx within `timeout` is sent again with
  `X-Slack-Retry-Num` and `X-Slack-Retry-Reason` (omnidesk/demo/fakes/pusher.py);
  `url_verification(url)` and `post_event(...)` send one request and return the answer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import quote

from omnidesk.demo.fakes.httpfake import FakeHTTPServer, Request, Response
from omnidesk.demo.fakes.pusher import Pusher

TEAM_ID = "T0DESK001"
BOT_USER = "U0BOT0001"
BOT_ID = "B0BOT0001"
APP_ID = "A0APP0001"
TOKEN = "xoxb-test-token"
MAX_TEXT = 40_000
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SIGN_IN_PAGE = b"<!DOCTYPE html><html><head><title>Slack</title></head><body>Sign in</body></html>"


@dataclass
class User:
    id: str
    name: str
    real_name: str = ""
    email: str | None = None
    tz: str = "Europe/Budapest"
    is_bot: bool = False
    deleted: bool = False

    def as_json(self) -> dict[str, Any]:
        profile: dict[str, Any] = {
            "real_name": self.real_name,
            "real_name_normalized": self.real_name,
            "display_name": self.name,
            "display_name_normalized": self.name,
            "team": TEAM_ID,
        }
        if self.email:
            profile["email"] = self.email
        return {
            "id": self.id,
            "team_id": TEAM_ID,
            "name": self.name,
            "deleted": self.deleted,
            "real_name": self.real_name,
            "tz": self.tz,
            "tz_label": self.tz,
            "tz_offset": 3600,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "is_admin": False,
            "is_owner": False,
            "profile": profile,
            "updated": 1_700_000_000,
        }


@dataclass
class Channel:
    id: str
    name: str
    kind: str  # public_channel | private_channel | im | mpim
    is_member: bool = True
    user: str | None = None  # the other side of an im
    archived: bool = False
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)  # ts -> message

    def as_json(self) -> dict[str, Any]:
        base: dict[str, Any] = {"id": self.id, "created": 1_600_000_000, "is_archived": self.archived}
        if self.kind == "im":
            return base | {"is_im": True, "is_org_shared": False, "user": self.user, "is_user_deleted": False}
        return base | {
            "name": self.name,
            "name_normalized": self.name,
            "is_channel": self.kind == "public_channel",
            "is_group": self.kind == "private_channel",
            "is_im": False,
            "is_mpim": self.kind == "mpim",
            "is_private": self.kind != "public_channel",
            "is_member": self.is_member,
            "is_general": False,
            "is_shared": False,
            "is_ext_shared": False,
            "is_org_shared": False,
            "num_members": 3,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
        }


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """Slack's request signature: `v0=` + HMAC-SHA256 of `v0:{timestamp}:{body}` with the signing secret."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: bytes, *, timestamp: int | None = None, retry_num: int = 0,
                   retry_reason: str = "http_timeout") -> dict[str, str]:
    """The headers of one Events API request, as Slack sends them (retries say which and why)."""
    when = int(time.time()) if timestamp is None else timestamp
    headers = {"Content-Type": "application/json", "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
               "X-Slack-Request-Timestamp": str(when), "X-Slack-Signature": sign(secret, when, body)}
    if retry_num:
        headers |= {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
    return headers


def _cursor(ts: str) -> str:
    return base64.b64encode(f"next_ts:{ts}".encode()).decode()


def _uncursor(cursor: str) -> str | None:
    try:
        text = base64.b64decode(cursor.encode(), validate=True).decode()
    except ValueError:
        return None
    return text.removeprefix("next_ts:") if text.startswith("next_ts:") else None


def _limit(params: dict[str, Any], default: int = 100) -> int:
    try:
        value = int(params.get("limit") or default)
    except (TypeError, ValueError):
        return default
    return max(1, min(value, 999))


def _window(params: dict[str, Any]) -> tuple[float, float, bool]:
    oldest = float(params.get("oldest") or 0)
    latest = float(params.get("latest") or 1e12)
    inclusive = str(params.get("inclusive", "")).lower() in ("1", "true")
    return oldest, latest, inclusive


def _inside(ts: str, oldest: float, latest: float, inclusive: bool) -> bool:
    t = float(ts)
    return oldest <= t <= latest if inclusive else oldest < t < latest


class FakeSlack(FakeHTTPServer):
    """One workspace with a bot user, channels, DMs and customers who write."""

    def __init__(self) -> None:
        super().__init__()
        self.tokens: dict[str, str] = {TOKEN: "ok"}
        self.users: dict[str, User] = {BOT_USER: User(BOT_USER, "omnidesk", "omnidesk", is_bot=True)}
        self.channels: dict[str, Channel] = {}
        self._ids = itertools.count(1)
        self._last_ts = 0.0
        self.file_data: dict[str, bytes] = {}
        self.signing_secret = SIGNING_SECRET
        self._event_ids = itertools.count(1)
        self.pusher: Pusher | None = None  # set by subscribe()

    @property
    def base_url(self) -> str:
        """What slack-sdk's `base_url` (and our `api_url`) is set to: ends with a slash."""
        return f"{self.origin}/api/"

    # -- building the workspace ------------------------------------------------------

    def add_user(
        self,
        name: str,
        *,
        real_name: str = "",
        email: str | None = None,
        tz: str = "Europe/Budapest",
        user_id: str | None = None,
    ) -> User:
        with self.lock:
            user = User(user_id or f"U{next(self._ids):08d}", name, real_name or name, email, tz)
            self.users[user.id] = user
            return user

    def add_channel(self, name: str, *, kind: str = "public_channel", is_member: bool = True) -> Channel:
        with self.lock:
            prefix = {"public_channel": "C", "private_channel": "G", "mpim": "G"}[kind]
            channel = Channel(f"{prefix}{next(self._ids):08d}", name, kind, is_member)
            self.channels[channel.id] = channel
            return channel

    def open_dm(self, user: User) -> Channel:
        with self.lock:
            for channel in self.channels.values():
                if channel.kind == "im" and channel.user == user.id:
                    return channel
            channel = Channel(f"D{next(self._ids):08d}", "", "im", True, user=user.id)
            self.channels[channel.id] = channel
            return channel

    def revoke(self, token: str = TOKEN) -> None:
        self.tokens[token] = "token_revoked"

    def deactivate(self, token: str = TOKEN) -> None:
        self.tokens[token] = "account_inactive"

    def rate_limit(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        self.fail(
            method,
            status=429,
            body={"ok": False, "error": "ratelimited"},
            headers={"Retry-After": str(retry_after)},
            times=times,
        )

    # -- the Events API ------------------------------------------------------------------

    def subscribe(self, url: str, *, retry_seconds: float = 0.2, max_attempts: int = 4,
                  timeout: float = 3.0) -> Pusher:
        """Push every event from now on to `url` (the app's Request URL); Slack tries 4 times in all."""
        with self.lock:
            if self.pusher is None:
                self.pusher = Pusher(self._push_headers, retry_seconds=retry_seconds,
                                     max_attempts=max_attempts, timeout=timeout)
            self.pusher.start(url)
            return self.pusher

    def unsubscribe(self) -> None:
        with self.lock:
            pusher, self.pusher = self.pusher, None
        if pusher is not None:
            pusher.stop()

    def stop(self) -> None:
        self.unsubscribe()
        super().stop()

    def _push_headers(self, body: bytes, attempt: int) -> dict[str, str]:
        reason = "http_timeout"
        if attempt and self.pusher is not None:
            failed = [d for d in self.pusher.deliveries if d.status is None or d.status >= 300]
            reason = "http_error" if failed and failed[-1].status else "http_timeout"
        return signed_headers(self.signing_secret, body, retry_num=attempt, retry_reason=reason)

    def event_callback(self, event: dict[str, Any]) -> dict[str, Any]:
        """The envelope Slack wraps an event in."""
        n = next(self._event_ids)
        return {
            "token": "Jhj5dZrVaK7ZwHHjRyZWjbDl",
            "team_id": TEAM_ID,
            "context_team_id": TEAM_ID,
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": f"Ev{n:09d}",
            "event_time": int(time.time()),
            "authorizations": [{"enterprise_id": None, "team_id": TEAM_ID, "user_id": BOT_USER,
                                "is_bot": True, "is_enterprise_install": False}],
            "is_ext_shared_channel": False,
            "event_context": base64.b64encode(f"4-message-{TEAM_ID}-{n}".encode()).decode(),
        }

    def _emit(self, channel: Channel, event: dict[str, Any]) -> None:
        """Push `event` (in `channel`) to the subscriber, if there is one."""
        if self.pusher is None:
            return
        kinds = {"public_channel": "channel", "private_channel": "group", "mpim": "mpim", "im": "im"}
        event = {**event, "channel": channel.id, "channel_type": kinds[channel.kind]}
        event.setdefault("event_ts", event["ts"])
        payload = self.event_callback(event)
        self.pusher.push(payload["event_id"], json.dumps(payload, ensure_ascii=False).encode())

    def url_verification(self, url: str, challenge: str = "3eZbrw1aBm2rZgRNFdxV2595") -> tuple[int, bytes]:
        """The request Slack sends when the Request URL is saved in the app's settings; (status, body)."""
        payload = {"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", "challenge": challenge, "type": "url_verification"}
        return self.post_event(url, payload)

    def post_event(self, url: str, payload: dict[str, Any] | bytes, *, timestamp: int | None = None,
                   retry_num: int = 0, secret: str | None = None) -> tuple[int, bytes]:
        """One signed request to `url` (a replay: give the same bytes and `timestamp`); (status, body)."""
        body = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
        headers = signed_headers(self.signing_secret if secret is None else secret, body,
                                 timestamp=timestamp, retry_num=retry_num)
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=10) as response:
                return int(response.status), response.read()
        except urllib.error.HTTPError as exc:
            return int(exc.code), exc.read()

    # -- what customers (and agents in the Slack app) do ------------------------------

    def say(
        self,
        channel: Channel,
        user: User,
        text: str,
        *,
        thread_ts: str | None = None,
        files: list[tuple[str, str, bytes]] | None = None,
        broadcast: bool = False,
    ) -> str:
        """Post as `user`; `files` are (name, mimetype, bytes). Returns the new ts."""
        with self.lock:
            fields: dict[str, Any] = {"user": user.id, "text": text}
            if files:
                fields["files"] = [self._file(name, mimetype, data) for name, mimetype, data in files]
                fields["upload"] = True
            message = self._new_message(channel, fields, thread_ts, broadcast)
            self.notify()
            return str(message["ts"])

    def edit(self, channel: Channel, ts: str, text: str) -> None:
        with self.lock:
            message = channel.messages[ts]
            previous = dict(message)
            message["text"] = text
            message["edited"] = {"user": message.get("user", ""), "ts": self._next_ts()}
            self._emit(channel, {"type": "message", "subtype": "message_changed", "hidden": True,
                                 "ts": message["edited"]["ts"], "message": dict(message),
                                 "previous_message": previous})
            self.notify()

    def delete(self, channel: Channel, ts: str) -> None:
        with self.lock:
            message = channel.messages[ts]
            previous = dict(message)
            if message.get("reply_count"):
                # Slack keeps a deleted parent that has replies, as a tombstone.
                replies = len(self._replies(channel, ts)) - 1
                message.clear()
                message.update(
                    {
                        "type": "message",
                        "subtype": "tombstone",
                        "text": "This message was deleted.",
                        "ts": ts,
                        "thread_ts": ts,
                        "user": "USLACKBOT",
                        "hidden": True,
                        "reply_count": replies,
                    }
                )
                self._emit(channel, {"type": "message", "subtype": "message_changed", "hidden": True,
                                     "ts": self._next_ts(), "message": dict(message),
                                     "previous_message": previous})
            else:
                del channel.messages[ts]
                parent = channel.messages.get(str(message.get("thread_ts", "")))
                if parent is not None and parent is not message:
                    parent["reply_count"] = max(0, int(parent.get("reply_count", 1)) - 1)
                self._emit(channel, {"type": "message", "subtype": "message_deleted", "hidden": True,
                                     "ts": self._next_ts(), "deleted_ts": ts, "previous_message": previous})
            self.notify()

    def join_event(self, channel: Channel, user: User) -> str:
        """A `channel_join` system message, which a desk must ignore."""
        with self.lock:
            message = self._new_message(
                channel,
                {"user": user.id, "subtype": "channel_join", "text": f"<@{user.id}> has joined the channel"},
                None,
                False,
            )
            return str(message["ts"])

    def app_says(self, channel: Channel, text: str, *, bot_id: str = "B0OTHER01") -> str:
        """A `bot_message` from another app (an integration, a webhook), which a desk must ignore."""
        with self.lock:
            fields = {"subtype": "bot_message", "bot_id": bot_id, "username": "deploys", "text": text}
            message = self._new_message(channel, fields, None, False)
            self.notify()
            return str(message["ts"])

    def bot_posts(self) -> list[dict[str, Any]]:
        """Every message the bot posted, oldest first, with its channel id."""
        with self.lock:
            return sorted(
                (
                    {**m, "channel": c.id}
                    for c in self.channels.values()
                    for m in c.messages.values()
                    if m.get("bot_id") == BOT_ID
                ),
                key=lambda m: float(m["ts"]),
            )

    # -- the Web API -------------------------------------------------------------------

    def route_key(self, request: Request) -> str:
        return request.path.removeprefix("/api/") if request.path.startswith("/api/") else request.path

    def handle(self, request: Request) -> Response:
        if request.path.startswith("/files-pri/"):
            return self._download(request)
        method = self.route_key(request)
        handler = self._METHODS.get(method)
        if handler is None:
            return Response(404, {"ok": False, "error": "unknown_method"})
        with self.lock:
            refused = self._auth_error(request)
            if refused:
                return Response(200, {"ok": False, "error": refused})
            body = handler(self, request.params)
        return Response(200, body)

    def _auth_error(self, request: Request) -> str | None:
        token = request.params.get("token")
        auth = request.header("authorization") or ""
        if auth.startswith("Bearer "):
            token = auth.removeprefix("Bearer ")
        if not token:
            return "not_authed"
        state = self.tokens.get(token)
        if state is None:
            return "invalid_auth"
        return None if state == "ok" else state

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": f"{self.origin}/",
            "team": "Desk Test",
            "user": "omnidesk",
            "team_id": TEAM_ID,
            "user_id": BOT_USER,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _conversations_list(self, params: dict[str, Any], members_only: bool = False) -> dict[str, Any]:
        types = set(str(params.get("types") or "public_channel").split(","))
        exclude_archived = str(params.get("exclude_archived", "")).lower() in ("1", "true")
        listed = [
            c
            for c in self.channels.values()
            if c.kind in types and not (exclude_archived and c.archived) and (c.is_member or not members_only)
        ]
        return self._page(params, [c.as_json() for c in listed], "channels")

    def _users_conversations(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._conversations_list(params, members_only=True)

    def _page(self, params: dict[str, Any], items: list[dict[str, Any]], key: str) -> dict[str, Any]:
        """Offset pages for lists that do not change under the reader (channels)."""
        start = 0
        cursor = params.get("cursor")
        if cursor:
            decoded = _uncursor(str(cursor))
            if decoded is None or not decoded.isdigit():
                return {"ok": False, "error": "invalid_cursor"}
            start = int(decoded)
        end = start + _limit(params)
        page = items[start:end]
        return {
            "ok": True,
            key: page,
            "response_metadata": {"next_cursor": _cursor(str(end)) if end < len(items) else ""},
        }

    def _channel(self, params: dict[str, Any]) -> Channel | dict[str, Any]:
        channel = self.channels.get(str(params.get("channel", "")))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        if not channel.is_member and channel.kind != "public_channel":
            return {"ok": False, "error": "channel_not_found"}
        if not channel.is_member:
            return {"ok": False, "error": "not_in_channel"}
        return channel

    def _history(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        if not isinstance(channel, Channel):
            return channel
        oldest, latest, inclusive = _window(params)
        top = [
            m
            for m in channel.messages.values()
            if (m.get("thread_ts") in (None, m["ts"]) or m.get("subtype") == "thread_broadcast")
            and _inside(m["ts"], oldest, latest, inclusive)
        ]
        top.sort(key=lambda m: float(m["ts"]), reverse=True)
        return self._ts_page(params, top)

    def _replies(self, channel: Channel, ts: str) -> list[dict[str, Any]]:
        thread = [m for m in channel.messages.values() if m.get("thread_ts") == ts or m["ts"] == ts]
        return sorted(thread, key=lambda m: float(m["ts"]))

    def _conversations_replies(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        if not isinstance(channel, Channel):
            return channel
        ts = str(params.get("ts", ""))
        if ts not in channel.messages:
            return {"ok": False, "error": "thread_not_found"}
        oldest, latest, inclusive = _window(params)
        thread = self._replies(channel, ts)
        parent, rest = thread[0], [m for m in thread[1:] if _inside(m["ts"], oldest, latest, inclusive)]
        # Slack gives the parent first on every first page, whatever `oldest` says.
        ordered = rest if params.get("cursor") else [parent, *rest]
        return self._ts_page(params, ordered, ascending=True)

    def _ts_page(
        self, params: dict[str, Any], messages: list[dict[str, Any]], ascending: bool = False
    ) -> dict[str, Any]:
        """Pages over messages whose cursor is the next page's first ts, so new arrivals never shift it."""
        cursor = params.get("cursor")
        if cursor:
            start_ts = _uncursor(str(cursor))
            if start_ts is None:
                return {"ok": False, "error": "invalid_cursor"}
            t = float(start_ts)
            messages = [m for m in messages if (float(m["ts"]) >= t if ascending else float(m["ts"]) <= t)]
        limit = _limit(params)
        page, more = messages[:limit], messages[limit:]
        body: dict[str, Any] = {"ok": True, "messages": [dict(m) for m in page], "has_more": bool(more)}
        body["response_metadata"] = {"next_cursor": _cursor(str(more[0]["ts"])) if more else ""}
        if not ascending:
            body["pin_count"] = 0
        return body

    def _users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(params.get("user", "")))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": user.as_json()}

    def _post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        if not isinstance(channel, Channel):
            return channel
        text = str(params.get("text") or "")
        if not text.strip() and not params.get("blocks"):
            return {"ok": False, "error": "no_text"}
        if len(text) > MAX_TEXT:
            return {"ok": False, "error": "msg_too_long"}
        thread_ts = params.get("thread_ts") or None
        if thread_ts is not None and str(thread_ts) not in channel.messages:
            return {"ok": False, "error": "thread_not_found"}
        broadcast = str(params.get("reply_broadcast", "")).lower() in ("1", "true")
        fields = {
            "user": BOT_USER,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "text": text,
            "bot_profile": {"id": BOT_ID, "app_id": APP_ID, "name": "omnidesk", "team_id": TEAM_ID},
        }
        message = self._new_message(channel, fields, str(thread_ts) if thread_ts else None, broadcast)
        self.notify()
        return {"ok": True, "channel": channel.id, "ts": message["ts"], "message": dict(message)}

    def _files_info(self, params: dict[str, Any]) -> dict[str, Any]:
        for channel in self.channels.values():
            for message in channel.messages.values():
                for f in message.get("files", ()):
                    if f["id"] == params.get("file"):
                        return {"ok": True, "file": f}
        return {"ok": False, "error": "file_not_found"}

    _METHODS: ClassVar[dict[str, Any]] = {
        "auth.test": _auth_test,
        "conversations.list": _conversations_list,
        "users.conversations": _users_conversations,
        "conversations.history": _history,
        "conversations.replies": _conversations_replies,
        "users.info": _users_info,
        "chat.postMessage": _post_message,
        "files.info": _files_info,
    }

    # -- internals -----------------------------------------------------------------------

    def _next_ts(self) -> str:
        now = max(time.time(), self._last_ts + 0.000001)
        self._last_ts = now
        return f"{now:.6f}"

    def _new_message(
        self, channel: Channel, fields: dict[str, Any], thread_ts: str | None, broadcast: bool
    ) -> dict[str, Any]:
        ts = self._next_ts()
        message: dict[str, Any] = {"type": "message", "ts": ts, **fields}
        if channel.kind != "im":
            message["team"] = TEAM_ID
        if thread_ts is not None:
            parent = channel.messages[thread_ts]
            message["thread_ts"] = thread_ts
            message["parent_user_id"] = parent.get("user", "")
            if broadcast:
                message["subtype"] = "thread_broadcast"
            parent["thread_ts"] = thread_ts
            parent["reply_count"] = int(parent.get("reply_count", 0)) + 1
            users = parent.setdefault("reply_users", [])
            if message.get("user") not in users:
                users.append(message.get("user"))
            parent["reply_users_count"] = len(users)
            parent["latest_reply"] = ts
        channel.messages[ts] = message
        self._emit(channel, dict(message))
        return message

    def _file(self, name: str, mimetype: str, data: bytes) -> dict[str, Any]:
        file_id = f"F{next(self._ids):08d}"
        quoted = quote(name)
        self.file_data[file_id] = data
        return {
            "id": file_id,
            "name": name,
            "title": name,
            "mimetype": mimetype,
            "size": len(data),
            "url_private": f"{self.origin}/files-pri/{TEAM_ID}-{file_id}/{quoted}",
            "url_private_download": f"{self.origin}/files-pri/{TEAM_ID}-{file_id}/download/{quoted}",
            "mode": "hosted",
            "is_external": False,
        }

    def _download(self, request: Request) -> Response:
        auth = request.header("authorization") or ""
        if self.tokens.get(auth.removeprefix("Bearer ")) != "ok":
            return Response(200, raw=SIGN_IN_PAGE, content_type="text/html; charset=utf-8")
        parts = request.path.split("/")
        file_id = parts[2].split("-", 1)[-1] if len(parts) > 2 else ""
        data = self.file_data.get(file_id)
        if data is None:
            return Response(404, raw=b"Not Found", content_type="text/plain")
        return Response(200, raw=data, content_type="application/octet-stream")
