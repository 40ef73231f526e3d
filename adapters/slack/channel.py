"""The `slack` channel: a bot token reading its conversations and answering in the customer's thread.

    adapter = SlackAdapter("team", {"token_env": "SLACK_TOKEN"}, secret)
    async for batch in adapter.poll(cursor): ...   # see adapters/slack/poll.py
    batch, reply = await adapter.webhook(request)  # the Events API, see adapters/slack/events.py
    receipt = await adapter.send(outbound)         # chat.postMessage, split at 4,000 characters

slack-sdk (and aiohttp) are imported when the adapter first talks to Slack, so
listing or validating channels never loads them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from adapters.base import (
    AdapterError,
    Batch,
    Capabilities,
    ConfigurationError,
    Option,
    Outbound,
    PermanentError,
    ProbeStep,
    Receipt,
    SecretResolver,
    WebhookRejected,
    WebhookReply,
    WebhookRequest,
    split_text,
)

if TYPE_CHECKING:
    from adapters.slack.api import SlackAPI
    from adapters.slack.poll import Poller

DEFAULT_API_URL = "https://slack.com/api/"
MAX_LENGTH = 4000  # Slack truncates longer posts in clients; the API's own limit is 40,000


class SlackAdapter:
    """One Slack workspace, as the bot user of a Slack app sees it."""

    kind: ClassVar[str] = "slack"
    capabilities: ClassVar[Capabilities] = Capabilities(addresses=frozenset({"slack"}), max_length=MAX_LENGTH)
    options: ClassVar[tuple[Option, ...]] = (
        Option("token", "str", "the bot token (xoxb-...)", required=True, secret=True),
        Option("conversations", "list", "conversation ids to read (default: every one the bot is in)"),
        Option("api_url", "str", "the Web API base URL", default=DEFAULT_API_URL),
        Option("poll_seconds", "number", "seconds between polls", default=30, minimum=0.1, maximum=3600),
        Option("thread_days", "number", "days a thread is followed for new replies after its last one",
               default=7, minimum=0, maximum=365),
        Option("batch_size", "int", "messages per stored batch", default=200, minimum=1, maximum=10000),
        Option("timeout_seconds", "int", "seconds before a Web API call is given up", default=30,
               minimum=1, maximum=600),
        Option("signing_secret", "str", "the app's signing secret, to take Events API pushes at the daemon's"
               " /hooks/<channel> (without it, only polling)", secret=True),
    )

    def __init__(self, name: str, options: Mapping[str, Any], secret: SecretResolver) -> None:
        self.name = name
        self.settings = dict(options)
        self._secret = secret
        self.api_url = str(self.settings.get("api_url") or DEFAULT_API_URL)
        self.poll_seconds = self._number("poll_seconds", 30)
        conversations = self.settings.get("conversations") or []
        if isinstance(conversations, str) or not all(isinstance(c, str) for c in conversations):
            raise ConfigurationError(f"channel {name}: conversations must be a list of conversation ids")
        self.conversations = [c.strip() for c in conversations if c.strip()]
        self._api: SlackAPI | None = None
        self._poller: Poller | None = None
        self._signing_secret: str | None = None  # resolved on the first push (a _cmd runs once)

    def _number(self, key: str, default: float) -> float:
        value = self.settings.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ConfigurationError(f"channel {self.name}: {key} must be a positive number, not {value!r}")
        return float(value)

    @staticmethod
    def split_text(text: str) -> list[str]:
        return split_text(text, MAX_LENGTH)

    def _connect(self) -> Poller:
        if self._poller is None:
            from adapters.slack.api import SlackAPI
            from adapters.slack.poll import Poller

            self._api = SlackAPI(self.name, self.api_url, lambda: self._secret("token"),
                                 int(self._number("timeout_seconds", 30)))
            self._poller = Poller(self.name, self._api, self.conversations,
                                  int(self._number("batch_size", 200)), self._number("thread_days", 7))
        return self._poller

    def poll(self, cursor: str | None) -> AsyncIterator[Batch]:
        return self._connect().poll(cursor)

    async def wait_for_changes(self, timeout: float) -> None:
        await asyncio.sleep(min(timeout, self.poll_seconds))

    async def send(self, outbound: Outbound) -> Receipt:
        """chat.postMessage into the answered message's thread; long text as several posts."""
        from adapters.slack.mrkdwn import escape

        poller = self._connect()
        await poller.identify()
        context = outbound.context.get("slack") or {}
        channel = str(context.get("channel") or outbound.scope.partition("/")[2])
        if not channel:
            raise PermanentError(f"channel {self.name}: no Slack conversation to answer in"
                                 " (the reply has no Slack message to answer)")
        thread_ts = str(context["thread_ts"]) if "thread_ts" in context else (outbound.in_reply_to or "")
        assert self._api is not None
        posted: list[str] = []
        for part in self.split_text(outbound.text):
            body = await self._api.call("chat.postMessage", write=True, channel=channel, text=escape(part),
                                        thread_ts=thread_ts, unfurl_links=False, unfurl_media=False)
            posted.append(str(body["ts"]))
        return Receipt(external_id=posted[0], also_ids=tuple(posted[1:]), sent_at=datetime.now(UTC),
                       scope=f"{poller.team}/{channel}",
                       meta={"slack": {"channel": channel, "thread_ts": thread_ts, "team": poller.team}})

    async def webhook(self, request: WebhookRequest) -> tuple[Batch | None, WebhookReply]:
        """An Events API request: url_verification answered, message events as records and updates."""
        import json
        import time

        from adapters.slack.events import event_batch, verified

        if not {"signing_secret", "signing_secret_env", "signing_secret_cmd"} & self.settings.keys():
            raise WebhookRejected(404, "no signing_secret is configured, so the channel takes no pushes")
        if request.path:
            raise WebhookRejected(404, "the Events API is served at the channel's mount, not below it")
        if self._signing_secret is None:
            self._signing_secret = self._secret("signing_secret")
        payload = verified(request, self._signing_secret, now=time.time())
        kind = payload.get("type")
        if kind == "url_verification":
            answer = json.dumps({"challenge": str(payload.get("challenge") or "")}).encode()
            return None, WebhookReply(200, answer, "application/json")
        if kind != "event_callback" or not isinstance(payload.get("event"), dict):
            return None, WebhookReply()  # app_rate_limited and the like: nothing to store
        return await event_batch(payload["event"], self._connect(), self.conversations), WebhookReply()

    async def fetch_attachment(self, fetch_ref: str) -> bytes:
        """The bytes of a file a message carried (`fetch_ref` is its url_private_download)."""
        self._connect()
        assert self._api is not None
        return await self._api.download(fetch_ref)

    async def probe(self) -> list[ProbeStep]:
        """auth.test, then whether the conversations can be listed or read (doctor --connect)."""
        poller = self._connect()
        try:
            await poller.identify()
        except AdapterError as exc:
            return [ProbeStep("slack auth.test", "fail", str(exc))]
        who = f"bot {poller.bot_user} in team {poller.team} at {self.api_url}"
        steps = [ProbeStep("slack auth.test", "ok", who)]
        assert self._api is not None
        try:
            if self.conversations:
                for cid in self.conversations:
                    await self._api.call("conversations.history", channel=cid, limit=1)
                detail = f"{len(self.conversations)} configured conversation(s) readable"
            else:
                detail = f"member of {len(await poller.member_conversations())} conversation(s)"
        except AdapterError as exc:
            return [*steps, ProbeStep("slack conversations", "fail", str(exc))]
        return [*steps, ProbeStep("slack conversations", "ok", detail)]

    async def close(self) -> None:
        if self._api is not None:
            api, self._api, self._poller = self._api, None, None
            await api.close()
