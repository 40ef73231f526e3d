"""The `telegram` channel: a bot's private chats (and groups where it is addressed).

    adapter = TelegramAdapter("bot", {"token_env": "BOT_TOKEN"}, secret)
    async for batch in adapter.poll(cursor): ...   # the core commits records + cursor
    await adapter.wait_for_changes(15)             # a getUpdates long poll
    receipt = await adapter.send(outbound)         # sendMessage, split at 4,096 characters

The cursor is the next getUpdates offset. Sending an offset confirms every earlier update
to Telegram, so it is sent only once the batch before it is committed: the next request
after a yield carries it. A crash before that re-delivers the batch, and the core's dedupe
absorbs it. What a long poll in `wait_for_changes` receives is kept for the next `poll`,
not confirmed.

Webhook mode (`webhook = true`): Telegram refuses getUpdates while a webhook is set, so
the adapter never calls it; its first `poll` registers the daemon's mount URL (the core's
`webhook_url` option) with setWebhook and the `webhook_secret`, and `webhook()` takes each
pushed Update (checking `X-Telegram-Bot-Api-Secret-Token`) as polling would have. Telegram
keeps an update until a push of it is answered 2xx, which the core does after the commit.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from adapters.base import (
    WEBHOOK_URL_OPTION,
    Batch,
    Capabilities,
    ConfigurationError,
    Option,
    Outbound,
    PermanentError,
    ProbeStep,
    Receipt,
    SecretResolver,
    TransientError,
    WebhookRejected,
    WebhookReply,
    WebhookRequest,
    required_secret,
    send_in_parts,
)
from adapters.base import split_text as split_at_boundaries
from adapters.telegram import updates as tg

if TYPE_CHECKING:
    from adapters.telegram.botapi import BotAPI

DEFAULT_API_URL = "https://api.telegram.org"
MAX_LENGTH = 4096
#: getUpdates answers at most this many updates; one answer is one batch.
BATCH_LIMIT = 100
ALLOWED_UPDATES = ["message", "edited_message"]
#: A part after the first that meets flood control (about one message a second per chat) waits
#: this long at most, this many times, before the reply is reported as partly sent.
PART_WAIT_SECONDS = 10.0
PART_ATTEMPTS = 3
#: What Telegram takes as a webhook's secret_token: 1-256 of these characters.
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")


class TelegramAdapter:
    """One Telegram bot as an omnidesk channel."""

    kind: ClassVar[str] = "telegram"
    capabilities: ClassVar[Capabilities] = Capabilities(addresses=frozenset({"telegram"}),
                                                        max_length=MAX_LENGTH)
    options: ClassVar[tuple[Option, ...]] = (
        Option("token", "str", "The bot token from @BotFather (prefer token_cmd or token_env).",
               required=True, secret=True),
        Option("api_url", "str", f"Bot API server (default {DEFAULT_API_URL}; a self-hosted one works"
               " the same).", default=DEFAULT_API_URL),
        Option("long_poll_seconds", "number", "How long one getUpdates may wait for news (default 30).",
               default=30, minimum=1, maximum=600),
        Option("timeout_seconds", "number", "Network timeout of other requests (default 30).",
               default=30, minimum=1, maximum=3600),
        Option("webhook", "bool", "Take updates pushed to the daemon's /hooks/<channel> instead of"
               " getUpdates (needs [webhooks] and webhook_secret).", default=False),
        Option("webhook_secret", "str", "The secret_token Telegram sends with each push: 1-256 of A-Z,"
               " a-z, 0-9, _ and -.", secret=True),
    )

    def __init__(self, name: str, options: Mapping[str, Any], secret: SecretResolver) -> None:
        self.name = name
        self.api_url = str(options.get("api_url") or DEFAULT_API_URL)
        if not self.api_url.startswith(("http://", "https://")):
            raise ConfigurationError(f"channel {name}: api_url {self.api_url!r} is not an http(s) URL")
        self.long_poll = float(options.get("long_poll_seconds", 30))
        self.timeout = float(options.get("timeout_seconds", 30))
        self._secret = secret
        self._api: BotAPI | None = None
        self._bot: dict[str, Any] | None = None  # getMe, asked when a group message needs judging
        self._committed: int | None = None  # the offset Telegram may be told: all before it is stored
        self._held: tuple[int | None, list[dict[str, Any]]] | None = None  # (offset, updates) of a wait
        self._file_paths: dict[str, str] = {}  # file_id -> file_path from getFile, until it expires
        self.webhook_mode = bool(options.get("webhook", False))
        self.webhook_url = str(options.get(WEBHOOK_URL_OPTION) or "")
        self._webhook_secret: str | None = None
        self._registered = False  # setWebhook done by this instance

    @staticmethod
    def split_text(text: str) -> list[str]:
        """The parts a reply goes out in: at most 4,096 characters, cut at paragraphs or sentences."""
        return split_at_boundaries(text, MAX_LENGTH)

    def api(self) -> BotAPI:
        """The Bot API client, built (and httpx imported) on first use."""
        if self._api is None:
            from adapters.telegram.botapi import BotAPI

            token = required_secret(self._secret, "token", self.name, "bot token")
            self._api = BotAPI(self.api_url, token, timeout=self.timeout)
        return self._api

    # -- in ----------------------------------------------------------------------------------

    async def poll(self, cursor: str | None) -> AsyncIterator[Batch]:
        """Batches of at most 100 updates; each is confirmed by the request after it.

        In webhook mode nothing is polled: the first call registers the webhook (when a listener
        serves this channel; without one, as in `sync --once`, updates wait at Telegram for it).
        """
        if self.webhook_mode:
            await self._register_webhook()
            return
        offset = _offset(cursor)
        self._committed = offset
        while True:
            found = await self._updates(offset)
            if not found:
                return
            offset = int(found[-1]["update_id"]) + 1
            if self._bot is None and tg.needs_bot(found):
                self._bot = await self.api().call("getMe")
            records, edits = tg.translate(found, self._bot)
            yield Batch(records, str(offset), updates=list(edits), commit_first=True)
            self._committed = offset  # resumed: the core has committed that batch and its cursor

    async def _updates(self, offset: int | None, wait: float = 0) -> list[dict[str, Any]]:
        """Updates from `offset` on: those a wait already holds, or a getUpdates (`wait` s long poll)."""
        if self._held is not None:
            held_offset, held = self._held
            self._held = None
            if held_offset == offset:
                return held
        params: dict[str, Any] = {"limit": BATCH_LIMIT, "timeout": int(wait),
                                  "allowed_updates": ALLOWED_UPDATES}
        if offset is not None:
            params["offset"] = offset
        result = await self.api().call("getUpdates", params, wait=wait)
        return [u for u in result or () if offset is None or int(u.get("update_id", 0)) >= offset]

    async def wait_for_changes(self, timeout: float) -> None:
        """Long-poll without confirming anything new; what arrives waits for the next poll."""
        if self.webhook_mode:  # pushes arrive through webhook(); polling has nothing to wait for
            await asyncio.sleep(timeout)
            return
        if self._held is not None:
            return
        offset = self._committed
        found = await self._updates(offset, wait=max(1.0, min(timeout, self.long_poll)))
        if found:
            self._held = (offset, found)

    # -- pushed: webhook mode ---------------------------------------------------------------

    def _secret_token(self) -> str:
        if self._webhook_secret is None:
            secret = self._secret("webhook_secret").strip()
            if not _SECRET_TOKEN.fullmatch(secret):
                raise ConfigurationError(f"channel {self.name}: webhook_secret must be 1-256 characters of"
                                         " A-Z, a-z, 0-9, _ and - (Telegram's secret_token)")
            self._webhook_secret = secret
        return self._webhook_secret

    async def _register_webhook(self) -> None:
        """setWebhook to the listener's URL with the secret, once per adapter (the daemon's start)."""
        if self._registered or not self.webhook_url:
            return
        await self.api().call("setWebhook", {"url": self.webhook_url, "secret_token": self._secret_token(),
                                             "allowed_updates": ALLOWED_UPDATES})
        self._registered = True

    async def webhook(self, request: WebhookRequest) -> tuple[Batch | None, WebhookReply]:
        """One pushed Update, its secret token checked, as the records and edits polling gives."""
        import hmac
        import json

        if not self.webhook_mode:
            raise WebhookRejected(404, "webhook = true is not set, so the channel takes no pushes")
        if request.path:
            raise WebhookRejected(404, "updates are pushed to the channel's mount, not below it")
        given = request.headers.get("x-telegram-bot-api-secret-token", "")
        if not hmac.compare_digest(given.encode("utf-8", "replace"), self._secret_token().encode()):
            raise WebhookRejected(403 if given else 401, "missing or wrong X-Telegram-Bot-Api-Secret-Token")
        try:
            update = json.loads(request.body)
        except ValueError:
            raise WebhookRejected(400, "the body is not JSON") from None
        if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
            raise WebhookRejected(400, "the body is not a Telegram Update")
        if self._bot is None and tg.needs_bot([update]):
            self._bot = await self.api().call("getMe")
        records, edits = tg.translate([update], self._bot)
        return Batch(records, None, updates=list(edits)), WebhookReply()

    async def fetch_attachment(self, fetch_ref: str) -> bytes:
        """The bytes of a file_id: getFile for its path, then the download (getFile again if it expired)."""
        from adapters.telegram.botapi import FileGone

        for fresh in (False, True):
            path = None if fresh else self._file_paths.get(fetch_ref)
            if path is None:
                found = await self.api().call("getFile", {"file_id": fetch_ref})
                path = str((found or {}).get("file_path") or "")
                if not path:
                    raise PermanentError("Telegram getFile gave no file_path: the file is too big to"
                                         " download (over 20 MB) or gone")
                self._file_paths[fetch_ref] = path
            try:
                return await self.api().download(path)
            except FileGone:
                self._file_paths.pop(fetch_ref, None)
        raise PermanentError("Telegram: the file's download link was refused even after asking getFile again")

    # -- out ---------------------------------------------------------------------------------

    async def send(self, outbound: Outbound) -> Receipt:
        """sendMessage per part, the first answering the customer's message; plain text, no parse_mode."""
        if outbound.attachments:  # capabilities say so; a reply must not lose its files quietly
            raise PermanentError(f"this Telegram channel sends text only; the reply has"
                                 f" {len(outbound.attachments)} attachment(s)")
        chat_id = _chat_id(outbound)
        parts = [p for p in self.split_text(outbound.text) if p.strip()]
        if not parts:
            raise PermanentError("the reply is empty; Telegram refuses empty messages")
        reply_to = _reply_to(outbound, chat_id)

        async def send_part(n: int, part: str) -> dict[str, Any]:
            params: dict[str, Any] = {"chat_id": chat_id, "text": part}
            if n == 0 and reply_to is not None:
                params["reply_parameters"] = {"message_id": reply_to, "allow_sending_without_reply": True}
            return await self._send_part(params, first=n == 0)

        sent = await send_in_parts(parts, send_part, lambda m: str(m.get("message_id")))
        ids = [str(m["message_id"]) for m in sent]
        return Receipt(external_id=ids[0], sent_at=datetime.fromtimestamp(int(sent[0].get("date", 0)), UTC),
                       meta={"telegram": {"chat_id": chat_id, "message_ids": [int(i) for i in ids]}},
                       scope=str(chat_id), also_ids=tuple(ids[1:]))

    async def _send_part(self, params: dict[str, Any], *, first: bool) -> dict[str, Any]:
        """sendMessage; a later part waits out a short flood limit, since the outbox cannot retry one part."""
        attempts = 0
        while True:
            try:
                return dict(await self.api().call("sendMessage", params))
            except TransientError as exc:
                attempts += 1
                wait = exc.retry_after
                if first or wait is None or wait > PART_WAIT_SECONDS or attempts >= PART_ATTEMPTS:
                    raise
                await asyncio.sleep(wait)

    async def probe(self) -> list[ProbeStep]:
        """getMe (is the token good, is the server there), then getWebhookInfo (would polling conflict)."""
        try:
            me = await self.api().call("getMe")
        except Exception as exc:  # a probe reports, never raises
            return [ProbeStep("telegram getMe", "fail", str(exc))]
        found = f"@{me.get('username')} (id {me.get('id')}) at {self.api_url}"
        steps = [ProbeStep("telegram getMe", "ok", found)]
        try:
            hook = await self.api().call("getWebhookInfo")
        except Exception as exc:
            return [*steps, ProbeStep("telegram webhook", "warn", f"getWebhookInfo failed: {exc}")]
        if self.webhook_mode:
            registered = str(hook.get("url") or "")
            if not registered:
                steps.append(ProbeStep("telegram webhook", "warn", "webhook mode, but no webhook is set yet:"
                                       " `omnidesk sync` sets it when it starts"))
            else:
                problem = str(hook.get("last_error_message") or "")
                pending = hook.get("pending_update_count", 0)
                steps.append(ProbeStep("telegram webhook", "warn" if problem else "ok",
                                       f"pushed to {registered}, {pending} pending"
                                       + (f"; last error: {problem}" if problem else "")))
        elif hook.get("url"):
            steps.append(ProbeStep("telegram webhook", "fail", "a webhook is set, so getUpdates is refused"
                                   " (409); delete it with deleteWebhook"))
        else:
            steps.append(ProbeStep("telegram webhook", "ok", "no webhook; long polling works"))
        return steps

    async def close(self) -> None:
        if self._api is not None:
            api, self._api = self._api, None
            await api.close()


def _offset(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        return int(cursor)
    except ValueError:
        raise ConfigurationError(f"the stored Telegram cursor {cursor!r} is not an update offset") from None


def _chat_id(outbound: Outbound) -> int:
    """The chat to answer in: the answered message's chat, else the To user's private chat."""
    context = outbound.context.get("telegram") if isinstance(outbound.context, Mapping) else None
    if isinstance(context, Mapping) and isinstance(context.get("chat_id"), int):
        return int(context["chat_id"])
    for address in outbound.to:
        if address.kind == "telegram" and address.address.lstrip("-").isdigit():
            return int(address.address)
    raise PermanentError("no Telegram chat to send to: the reply answers no Telegram message and has"
                         " no telegram address (a user id) in To")


def _reply_to(outbound: Outbound, chat_id: int) -> int | None:
    """The message_id to reply to, if the answered message is in this chat."""
    ref = outbound.in_reply_to
    if not ref or not ref.isdigit() or (outbound.scope and outbound.scope != str(chat_id)):
        return None
    return int(ref)
