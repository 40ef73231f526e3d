"""The `mastodon` channel: an account's mentions and direct messages, answered in their thread.

    adapter = MastodonAdapter("social", {"instance": "https://mastodon.social",
                                         "access_token_env": "MASTODON_TOKEN"}, secret)
    async for batch in adapter.poll(cursor): ...   # notifications, held requests, re-read statuses
    receipt = await adapter.send(outbound)         # POST /api/v1/statuses, Idempotency-Key

What a poll reads is in `poll`, how a reply goes out in `replies`; httpx is imported when
the adapter first talks to the instance, so listing or validating channels never loads it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

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
    required_secret,
)
from adapters.base import split_text as split_at_boundaries
from adapters.mastodon import notifications as notes
from adapters.mastodon.replies import MAX_LENGTH, VISIBILITIES

if TYPE_CHECKING:
    from adapters.mastodon.api import MastodonAPI


class MastodonAdapter:
    """One Mastodon account as an omnidesk channel."""

    kind: ClassVar[str] = "mastodon"
    capabilities: ClassVar[Capabilities] = Capabilities(addresses=frozenset({"mastodon"}),
                                                        max_length=MAX_LENGTH)
    options: ClassVar[tuple[Option, ...]] = (
        Option("instance", "str", "The instance's base URL, e.g. https://mastodon.social.", required=True),
        Option("access_token", "str", "An access token of the desk's account (Preferences > Development;"
               " scopes read, write:statuses, write:notifications).", required=True, secret=True),
        Option("accept_requests", "bool", "Accept the notification requests the server holds back (direct"
               " messages from accounts not followed), so their later messages arrive directly"
               " (default true; their messages are read either way).", default=True),
        Option("poll_seconds", "number", "Seconds between polls (default 30).", default=30, minimum=1,
               maximum=3600),
        Option("follow_days", "number", "Days a received status is re-read for edits and deletions"
               " (default 3; 0: never).", default=3, minimum=0, maximum=60),
        Option("refresh_minutes", "number", "Minutes between those re-reads (default 10).", default=10,
               minimum=0, maximum=1440),
        Option("timeout_seconds", "number", "Network timeout of a request (default 30).", default=30,
               minimum=1, maximum=600),
    )
    #: What an agent may choose for one reply (`omnidesk reply --visibility`), read from Outbound.meta.
    reply_choices: ClassVar[Mapping[str, tuple[str, ...]]] = {"visibility": VISIBILITIES}

    def __init__(self, name: str, options: Mapping[str, Any], secret: SecretResolver) -> None:
        self.name = name
        self.instance = str(options.get("instance") or "").rstrip("/")
        host = urlsplit(self.instance).hostname if self.instance.startswith(("http://", "https://")) else None
        if not host:
            raise ConfigurationError(f"channel {name}: instance {self.instance!r} is not an http(s) URL")
        self.host = host.lower()
        self.accept_requests = bool(options.get("accept_requests", True))
        self.poll_seconds = float(options.get("poll_seconds", 30))
        self.follow_seconds = float(options.get("follow_days", 3)) * 86400
        self.refresh_seconds = float(options.get("refresh_minutes", 10)) * 60
        self.timeout = float(options.get("timeout_seconds", 30))
        self._secret = secret
        self._api: MastodonAPI | None = None
        self._instance: notes.Instance | None = None

    @staticmethod
    def split_text(text: str) -> list[str]:
        """The parts at Mastodon's default 500 characters (the instance may allow more; see reply_note)."""
        return split_at_boundaries(text, MAX_LENGTH)

    @staticmethod
    def reply_note(text: str, context: Mapping[str, Any]) -> str:
        """`direct · 312 of 500 characters`, with the handle counted; past the limit, how many statuses."""
        from adapters.mastodon.replies import note

        return note(text, context)

    def api(self) -> MastodonAPI:
        """The REST client, built (and httpx imported) on first use."""
        if self._api is None:
            from adapters.mastodon.api import MastodonAPI

            token = required_secret(self._secret, "access_token", self.name, "access token")
            self._api = MastodonAPI(self.name, self.instance, token, timeout=self.timeout)
        return self._api

    async def instance_info(self) -> notes.Instance:
        """The instance's domain and character limit, asked once (`/api/v2/instance`, else v1)."""
        if self._instance is None:
            from adapters.mastodon.api import NotFound

            try:
                body = (await self.api().get("/api/v2/instance")).body or {}
                domain = str(body.get("domain") or self.host)
            except NotFound:  # before Mastodon 4.0
                body = (await self.api().get("/api/v1/instance")).body or {}
                domain = str(body.get("uri") or self.host)
            statuses = ((body.get("configuration") or {}).get("statuses") or {})
            limit = statuses.get("max_characters") or body.get("max_toot_chars") or MAX_LENGTH
            self._instance = notes.Instance(self.host, domain.lower(), int(limit))
        return self._instance

    # -- in ----------------------------------------------------------------------------------

    async def poll(self, cursor: str | None) -> AsyncIterator[Batch]:
        from adapters.mastodon.poll import Poller

        poller = Poller(self.api(), await self.instance_info(), self.instance, self.accept_requests,
                        self.follow_seconds, self.refresh_seconds)
        async for batch in poller.poll(cursor):
            yield batch

    async def wait_for_changes(self, timeout: float) -> None:
        await asyncio.sleep(min(timeout, self.poll_seconds))

    async def fetch_attachment(self, fetch_ref: str) -> bytes:
        """A media file's bytes from its URL (public; the token is not sent with it)."""
        import httpx

        from adapters.base import TransientError

        if not fetch_ref.startswith(("https://", "http://")):
            raise PermanentError(f"Mastodon media {fetch_ref!r} is not an http(s) URL")
        try:
            async with httpx.AsyncClient(timeout=self.timeout, follow_redirects=True) as client:
                response = await client.get(fetch_ref)
        except httpx.HTTPError as exc:
            raise TransientError(f"Mastodon media download: {exc or type(exc).__name__}") from None
        if response.status_code >= 500 or response.status_code == 429:
            raise TransientError(f"Mastodon media download: HTTP {response.status_code}")
        if response.status_code != 200:
            raise PermanentError(f"Mastodon media download: HTTP {response.status_code}")
        return response.content

    # -- out ---------------------------------------------------------------------------------

    async def send(self, outbound: Outbound) -> Receipt:
        """A status per part, the first answering the customer's (see `replies`)."""
        from adapters.mastodon.replies import post

        return await post(self.api(), outbound, await self.instance_info())

    async def probe(self) -> list[ProbeStep]:
        """verify_credentials (the token), the instance (domain, limit), the notification policy."""
        try:
            me = (await self.api().get("/api/v1/accounts/verify_credentials")).body or {}
            instance = await self.instance_info()
        except AdapterError as exc:  # a probe reports, never raises
            return [ProbeStep("mastodon verify_credentials", "fail", str(exc))]
        steps = [ProbeStep("mastodon verify_credentials", "ok",
                           f"@{me.get('acct')}@{instance.domain} (id {me.get('id')}) at {self.instance}"),
                 ProbeStep("mastodon instance", "ok", f"{instance.domain}: {instance.max_characters:,}"
                           " characters per status")]
        try:
            policy = (await self.api().get("/api/v2/notifications/policy")).body or {}
        except AdapterError as exc:
            return [*steps, ProbeStep("mastodon notification policy", "warn", f"not readable ({exc});"
                                      " before Mastodon 4.3 nothing is held back")]
        held = [k.removeprefix("for_") for k, v in policy.items() if k.startswith("for_") and v == "filter"]
        pending = (policy.get("summary") or {}).get("pending_requests_count", 0)
        what = (f"holds back notifications {', '.join(held)}; {pending} request(s) pending, "
                + ("accepted as they are read" if self.accept_requests else "read but left pending")
                if held else "holds nothing back")
        return [*steps, ProbeStep("mastodon notification policy", "ok", what)]

    async def close(self) -> None:
        if self._api is not None:
            api, self._api = self._api, None
            await api.close()
