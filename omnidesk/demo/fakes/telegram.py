"""A local Telegram Bot API: long polling, messages, files, with the Bot API's errors.

The demo's Telegram bot and the tests' Telegram.

Base URL `fake.api_url` (what `api_url` is set to); methods at `/bot<token>/<method>`,
files at `/file/bot<token>/<file_path>`, as in the Bot API documentation
(`../shared/corpora/chat/telegram/spec/api.json`). Parameters arrive as a query string,
a form or JSON; objects in a form (`reply_parameters`) are JSON-serialised strings.

What it models:
- answers are `{"ok": true, "result": ...}` or `{"ok": false, "error_code": N,
  "description": "..."}` with HTTP status N; a wrong token is 401 Unauthorized; flood
  control is 429 with `parameters.retry_after` (`flood()`);
- `getUpdates`: updates with `update_id >= offset`; calling it with an offset confirms
  (forgets) every earlier update, so an update not yet confirmed is delivered again;
  `timeout` long-polls; a second poller terminates the first with 409 Conflict, and so
  does an active webhook;
- `sendMessage`: 1-4096 characters, `reply_parameters` to a message of that chat
  (400 "message to be replied not found" unless `allow_sending_without_reply`),
  `parse_mode` MarkdownV2 refuses unescaped reserved characters as Telegram does,
  403 when the user blocked the bot;
- `getFile` gives a `file_path` whose download link expires (`expire_file_links()`);
  an unknown `file_id` is the recorded "wrong file_id" 400;
- message ids count per chat; a private chat's id is the user's id; groups are negative;
- `setWebhook(url, secret_token, allowed_updates)`: from then on every update is POSTed to
  `url` as JSON, in order, with `X-Telegram-Bot-Api-Secret-Token`, and kept until a push is
  answered 2xx (retried meanwhile, omnidesk/demo/fakes/pusher.py); getWebhookInfo tells the
  pending count and the last error; deleteWebhook stops the pushes (getUpdates works again).
"""

from __future__ import annotations

import itertools
import json
import re
import time
from dataclasses import dataclass
from typing import Any, ClassVar

from omnidesk.demo.fakes.httpfake import FakeHTTPServer, Request, Response
from omnidesk.demo.fakes.pusher import Pusher

TOKEN = "123456:TEST-telegram-token"
BOT = {"id": 7000000001, "is_bot": True, "first_name": "Desk", "username": "desk_test_bot"}
MAX_TEXT = 4096
MARKDOWN_V2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_ROUTE = re.compile(r"^/bot(?P<token>[^/]+)/(?P<method>[A-Za-z]+)$")
_FILE = re.compile(r"^/file/bot(?P<token>[^/]+)/(?P<path>.+)$")


class BotAPIError(Exception):
    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.parameters = code, description, parameters


@dataclass
class StoredFile:
    file_id: str
    unique_id: str
    data: bytes
    path: str | None = None


def markdown_v2_error(text: str) -> str | None:
    """The Bot API's complaint about MarkdownV2 text, or None when Telegram would take it.

    Every reserved character must be escaped with a backslash, except those that open
    and close an entity: `*bold*`, `_italic_`, `~strike~`, `` `code` `` and links
    `[text](url)`; an entity left open is "can't find end of the entity".
    """
    plain = re.sub(r"\\.", "", text)  # escaped characters are plain text
    plain = re.sub(r"\[[^\]]*\]\([^)]*\)", "", plain)  # a link
    for mark, name in (("*", "Bold"), ("_", "Italic"), ("~", "Strikethrough"), ("`", "Pre")):
        if plain.count(mark) % 2:
            return f"Bad Request: can't parse entities: Can't find end of {name} entity"
        plain = plain.replace(mark, "")
    for ch in plain:
        if ch in MARKDOWN_V2_RESERVED:
            return (
                f"Bad Request: can't parse entities: Character '{ch}' is reserved and must be "
                "escaped with the preceding '\\'"
            )
    return None


class FakeTelegram(FakeHTTPServer):
    """One bot with private chats and groups, and people who write to it."""

    def __init__(self) -> None:
        super().__init__()
        self.token = TOKEN
        self.updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(500_000_001)
        self._message_ids: dict[int, itertools.count[int]] = {}
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}  # (chat id, message id) -> message
        self.chats: dict[int, dict[str, Any]] = {}
        self.files: dict[str, StoredFile] = {}
        self._file_ids = itertools.count(1)
        self.blocked: set[int] = set()
        self.webhook_url = ""
        self.webhook_secret = ""
        self.webhook_allowed: list[str] = []
        self.pusher: Pusher | None = None  # while a webhook is set
        self.push_retry_seconds = 0.2
        self._poll_generation = 0

    @property
    def api_url(self) -> str:
        return self.origin

    # -- people and chats ----------------------------------------------------------------

    @staticmethod
    def user(
        user_id: int,
        first_name: str,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
    ) -> dict[str, Any]:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        return user

    def private_chat(self, user: dict[str, Any]) -> dict[str, Any]:
        chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
        for key in ("last_name", "username"):
            if key in user:
                chat[key] = user[key]
        self.chats[user["id"]] = chat
        return chat

    def group_chat(self, chat_id: int, title: str) -> dict[str, Any]:
        assert chat_id < 0, "group ids are negative"
        chat = {
            "id": chat_id,
            "type": "supergroup" if chat_id < -1_000_000_000_000 else "group",
            "title": title,
        }
        self.chats[chat_id] = chat
        return chat

    def block(self, user: dict[str, Any]) -> None:
        self.blocked.add(int(user["id"]))

    def flood(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        self.fail(
            method,
            status=429,
            times=times,
            body={
                "ok": False,
                "error_code": 429,
                "description": f"Too Many Requests: retry after {retry_after}",
                "parameters": {"retry_after": retry_after},
            },
        )

    # -- what people do --------------------------------------------------------------------

    def say(
        self,
        user: dict[str, Any],
        text: str | None = None,
        *,
        chat: dict[str, Any] | None = None,
        reply_to: dict[str, Any] | None = None,
        **content: Any,
    ) -> dict[str, Any]:
        """A message from `user` (in their private chat unless `chat`); extra fields as in Message."""
        with self.lock:
            chat = chat or self.chats.get(user["id"]) or self.private_chat(user)
            message = self._message(chat, user)
            if text is not None:
                message["text"] = text
            message.update(content)
            if reply_to is not None:
                message["reply_to_message"] = reply_to
            self._push({"message": message})
            return message

    def send_file(
        self,
        user: dict[str, Any],
        kind: str,
        data: bytes,
        *,
        caption: str | None = None,
        file_name: str | None = None,
        mime_type: str | None = None,
    ) -> dict[str, Any]:
        """A photo, document or voice note; only the reference travels, the bytes via getFile."""
        stored = self._store_file(data)
        ref: dict[str, Any] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.unique_id,
            "file_size": len(data),
        }
        if kind == "photo":
            content: dict[str, Any] = {
                "photo": [ref | {"width": 90, "height": 90}, ref | {"width": 800, "height": 800}]
            }
        elif kind == "voice":
            content = {"voice": ref | {"duration": 3, "mime_type": mime_type or "audio/ogg"}}
        else:
            content = {
                kind: ref
                | {"file_name": file_name or "file", "mime_type": mime_type or "application/octet-stream"}
            }
        if caption is not None:
            content["caption"] = caption
        return self.say(user, None, **content)

    def share_contact(self, user: dict[str, Any], phone_number: str, **fields: Any) -> dict[str, Any]:
        """`user` shares their own number; `fields` as in `say` (a `date`)."""
        contact = {"phone_number": phone_number, "first_name": user["first_name"], "user_id": user["id"]}
        return self.say(user, None, contact=contact, **fields)

    def edit(self, message: dict[str, Any], text: str) -> dict[str, Any]:
        with self.lock:
            edited = dict(message, text=text, edit_date=int(time.time()))
            self.messages[(message["chat"]["id"], message["message_id"])] = edited
            self._push({"edited_message": edited})
            return edited

    def expire_file_links(self) -> None:
        """Download links last about an hour; after that getFile must be asked again."""
        with self.lock:
            for stored in self.files.values():
                stored.path = None

    def sent(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        """Messages the bot sent, oldest first."""
        with self.lock:
            return [
                m
                for (cid, _), m in sorted(self.messages.items())
                if m["from"]["id"] == BOT["id"] and (chat_id is None or cid == chat_id)
            ]

    # -- the Bot API -------------------------------------------------------------------------

    def route_key(self, request: Request) -> str:
        match = _ROUTE.match(request.path)
        return match["method"] if match else request.path

    def handle(self, request: Request) -> Response:
        file_match = _FILE.match(request.path)
        if file_match:
            return self._download(file_match["token"], file_match["path"])
        match = _ROUTE.match(request.path)
        if match is None:
            return self._error(BotAPIError(404, "Not Found"))
        if match["token"] != self.token:
            return self._error(BotAPIError(401, "Unauthorized"))
        handler = self._METHODS.get(match["method"].lower())
        if handler is None:
            return self._error(BotAPIError(404, "Not Found"))
        try:
            return Response(200, {"ok": True, "result": handler(self, request.params)})
        except BotAPIError as exc:
            return self._error(exc)

    @staticmethod
    def _error(exc: BotAPIError) -> Response:
        body: dict[str, Any] = {"ok": False, "error_code": exc.code, "description": exc.description}
        if exc.parameters:
            body["parameters"] = exc.parameters
        return Response(exc.code, body)

    def _get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return dict(
            BOT, can_join_groups=True, can_read_all_group_messages=False, supports_inline_queries=False
        )

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = _int(params, "offset", 0)
        limit = max(1, min(_int(params, "limit", 100), 100))
        timeout = max(0, _int(params, "timeout", 0))
        allowed = _json_list(params.get("allowed_updates"))
        with self.changed:
            if self.webhook_url:
                raise BotAPIError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first",
                )
            self._poll_generation += 1
            generation = self._poll_generation
            self.changed.notify_all()  # an older poller still waiting is terminated
            if offset:
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
            deadline = time.monotonic() + timeout
            while True:
                ready = [
                    u
                    for u in self.updates
                    if u["update_id"] >= offset
                    and (not allowed or any(k in allowed for k in u if k != "update_id"))
                ]
                if ready or time.monotonic() >= deadline:
                    return ready[:limit]
                self.changed.wait(min(0.2, deadline - time.monotonic()))
                if self._poll_generation != generation:
                    raise BotAPIError(
                        409,
                        "Conflict: terminated by other getUpdates request; "
                        "make sure that only one bot instance is running",
                    )

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            chat = self._chat(params)
            text = str(params.get("text") or "")
            if not text.strip():
                raise BotAPIError(400, "Bad Request: message text is empty")
            if len(text) > MAX_TEXT:
                raise BotAPIError(400, "Bad Request: message is too long")
            if params.get("parse_mode") == "MarkdownV2":
                complaint = markdown_v2_error(text)
                if complaint:
                    raise BotAPIError(400, complaint)
            message = self._message(chat, BOT)
            message["text"] = text
            entities = _json_list(params.get("entities"))
            if entities:
                message["entities"] = entities
            reply = _json_object(params.get("reply_parameters"))
            if reply is None and params.get("reply_to_message_id"):
                reply = {"message_id": params["reply_to_message_id"]}
            if reply is not None:
                parent = self.messages.get((int(reply.get("chat_id", chat["id"])), int(reply["message_id"])))
                if parent is None and not reply.get("allow_sending_without_reply"):
                    self._unsend(message)
                    raise BotAPIError(400, "Bad Request: message to be replied not found")
                if parent is not None:
                    message["reply_to_message"] = parent
            self.notify()
            return message

    def _get_file(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            stored = self.files.get(str(params.get("file_id", "")))
            if stored is None:
                raise BotAPIError(400, "Bad Request: wrong file_id or the file is temporarily unavailable")
            if stored.path is None:
                stored.path = f"documents/file_{next(self._file_ids)}"
            return {
                "file_id": stored.file_id,
                "file_unique_id": stored.unique_id,
                "file_size": len(stored.data),
                "file_path": stored.path,
            }

    def _set_webhook(self, params: dict[str, Any]) -> bool:
        url = str(params.get("url") or "")
        if not url:
            return self._delete_webhook(params)
        secret = str(params.get("secret_token") or "")
        if secret and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise BotAPIError(400, "Bad Request: secret token contains unallowed characters")
        if not url.startswith(("http://", "https://")):
            raise BotAPIError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        with self.lock:
            self.webhook_url, self.webhook_secret = url, secret
            self.webhook_allowed = _json_list(params.get("allowed_updates"))
            if self.pusher is None:
                self.pusher = Pusher(self._push_headers, retry_seconds=self.push_retry_seconds, in_order=True,
                                     on_acknowledged=self._acknowledged)
                for update in self.updates:  # what getUpdates did not confirm goes out now
                    self._deliver(update)
            self.pusher.start(url)
            self.notify()
        return True

    def _delete_webhook(self, params: dict[str, Any]) -> bool:
        with self.lock:
            self.webhook_url = ""
            pusher, self.pusher = self.pusher, None
            if str(params.get("drop_pending_updates", "")).lower() in ("1", "true"):
                self.updates.clear()
        if pusher is not None:  # outside the lock: its thread may be acknowledging under it
            pusher.stop()
        return True

    def _webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self.updates),
        }
        error = self.pusher.last_error() if self.pusher is not None else ""
        if error:
            info |= {"last_error_date": int(time.time()), "last_error_message": error}
        if self.webhook_allowed:
            info["allowed_updates"] = self.webhook_allowed
        return info

    def _push_headers(self, body: bytes, attempt: int) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self.webhook_secret:
            headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook_secret
        return headers

    def _deliver(self, update: dict[str, Any]) -> None:
        allowed = self.webhook_allowed
        if self.pusher is not None and (not allowed or any(k in allowed for k in update if k != "update_id")):
            self.pusher.push(str(update["update_id"]), json.dumps(update, ensure_ascii=False).encode())

    def _acknowledged(self, key: str) -> None:
        """A push answered 2xx: Telegram forgets the update, as getUpdates' offset would confirm it."""
        with self.lock:
            self.updates = [u for u in self.updates if str(u["update_id"]) != key]
            self.notify()

    def stop(self) -> None:
        with self.lock:
            pusher, self.pusher = self.pusher, None
        if pusher is not None:
            pusher.stop()
        super().stop()

    _METHODS: ClassVar[dict[str, Any]] = {
        "getme": _get_me,
        "getupdates": _get_updates,
        "sendmessage": _send_message,
        "getfile": _get_file,
        "setwebhook": _set_webhook,
        "deletewebhook": _delete_webhook,
        "getwebhookinfo": _webhook_info,
    }

    # -- internals ---------------------------------------------------------------------------

    def _chat(self, params: dict[str, Any]) -> dict[str, Any]:
        raw = params.get("chat_id")
        if raw in (None, ""):
            raise BotAPIError(400, "Bad Request: chat_id is empty")
        try:
            chat = self.chats.get(int(raw))
        except (TypeError, ValueError):
            chat = None
        if chat is None:
            raise BotAPIError(400, "Bad Request: chat not found")
        if chat["id"] in self.blocked:
            raise BotAPIError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _message(self, chat: dict[str, Any], sender: dict[str, Any]) -> dict[str, Any]:
        counter = self._message_ids.setdefault(chat["id"], itertools.count(1))
        message = {
            "message_id": next(counter),
            "from": dict(sender),
            "chat": dict(chat),
            "date": int(time.time()),
        }
        self.messages[(chat["id"], message["message_id"])] = message
        return message

    def _unsend(self, message: dict[str, Any]) -> None:
        self.messages.pop((message["chat"]["id"], message["message_id"]), None)

    def _push(self, content: dict[str, Any]) -> None:
        update = {"update_id": next(self._update_ids), **content}
        self.updates.append(update)
        self._deliver(update)
        self.notify()

    def _store_file(self, data: bytes) -> StoredFile:
        with self.lock:
            n = next(self._file_ids)
            stored = StoredFile(f"BQACAgIAAxkBAAI{n:06d}", f"AgAD{n:06d}", data)
            self.files[stored.file_id] = stored
            return stored

    def _download(self, token: str, path: str) -> Response:
        if token != self.token:
            return self._error(BotAPIError(401, "Unauthorized"))
        with self.lock:
            for stored in self.files.values():
                if stored.path == path:
                    return Response(200, raw=stored.data, content_type="application/octet-stream")
        return self._error(BotAPIError(404, "Not Found"))


def _int(params: dict[str, Any], key: str, default: int) -> int:
    try:
        return int(params.get(key, default))
    except (TypeError, ValueError):
        raise BotAPIError(400, f"Bad Request: invalid {key}") from None


def _json_list(value: Any) -> list[Any]:
    if value in (None, ""):
        return []
    loaded = json.loads(value) if isinstance(value, str) else value
    if not isinstance(loaded, list):
        raise BotAPIError(400, "Bad Request: can't parse list JSON object")
    return loaded


def _json_object(value: Any) -> dict[str, Any] | None:
    if value in (None, ""):
        return None
    loaded = json.loads(value) if isinstance(value, str) else value
    if not isinstance(loaded, dict) or "message_id" not in loaded:
        raise BotAPIError(400, "Bad Request: can't parse reply parameters JSON object")
    return loaded
