"""Calls to the Slack Web API through slack-sdk's AsyncWebClient, with Slack's errors as ours.

Imported only when a Slack channel is built, so commands that only list channels
never load slack-sdk or aiohttp.

Slack answers almost everything with HTTP 200 and `{"ok": false, "error": ...}`;
a rate limit is HTTP 429 with `Retry-After`, which slack-sdk's retry handler
waits out (a few times) before we give up with a TransientError carrying it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from adapters.base import AdapterError, ConfigurationError, PermanentError, TransientError

#: Errors that mean the token is wrong or dead: no retry helps until someone fixes the config.
AUTH_ERRORS = frozenset({"invalid_auth", "account_inactive", "token_revoked", "not_authed", "token_expired"})
#: Errors that mean this message cannot be posted as it is.
SEND_ERRORS = frozenset({"channel_not_found", "not_in_channel", "is_archived", "msg_too_long", "no_text",
                         "thread_not_found", "restricted_action", "cant_reply_to_message"})
RATE_LIMIT_RETRIES = 3
PAGE_SIZE = 200


class SlackAPI:
    """One bot token against one Web API base URL; `call` raises adapters.base errors only."""

    def __init__(self, channel: str, api_url: str, token: Callable[[], str], timeout: int = 30) -> None:
        self.channel = channel
        self.api_url = api_url if api_url.endswith("/") else api_url + "/"
        self._token = token
        self._timeout = timeout
        self._client: AsyncWebClient | None = None
        self._session: aiohttp.ClientSession | None = None

    def _web(self) -> AsyncWebClient:
        if self._client is None:
            # One session for every call: slack-sdk would otherwise open a connection per request.
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self._timeout))
            self._client = AsyncWebClient(
                token=self._token(), base_url=self.api_url, timeout=self._timeout, session=self._session,
                retry_handlers=[AsyncConnectionErrorRetryHandler(),
                                AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES)])
        return self._client

    async def call(self, method: str, *, write: bool = False, **params: Any) -> dict[str, Any]:
        """The answer to `method` (e.g. "conversations.history"), or the matching AdapterError.

        Reads go as GET with a query, as slack-sdk's own methods do; a `write` posts JSON.
        """
        web = self._web()
        try:
            if write:
                response = await web.api_call(method, json=_clean(params))
            else:
                response = await web.api_call(method, http_verb="GET", params=_clean(params))
        except SlackApiError as exc:
            raise self._error(method, exc) from exc
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise TransientError(f"Slack {method} at {self.api_url}: {exc or type(exc).__name__}") from exc
        return dict(response.data) if isinstance(response.data, dict) else {}

    async def pages(self, method: str, key: str, **params: Any) -> AsyncIterator[list[dict[str, Any]]]:
        """Each page of `key` items of a cursor-paginated method, following `next_cursor`."""
        cursor = ""
        while True:
            body = await self.call(method, limit=PAGE_SIZE, cursor=cursor, **params)
            yield list(body.get(key) or [])
            cursor = str((body.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                return

    async def download(self, url: str) -> bytes:
        """A file's bytes from its `url_private`, which answers only with the bot token.

        The token goes only to Slack's own hosts (or the configured API's), never to a
        host a message names. Without a valid token Slack answers with its sign-in page.
        """
        parts = urlsplit(url)
        host = parts.hostname or ""
        ours = host in (urlsplit(self.api_url).hostname, "slack.com") or host.endswith(".slack.com")
        if parts.scheme not in ("https", "http") or not ours:
            raise PermanentError(f"Slack file {url!r} is not on a Slack host; not sending the token there")
        self._web()
        assert self._session is not None
        auth = {"Authorization": f"Bearer {self._token()}"}
        try:
            async with self._session.get(url, headers=auth) as response:
                if response.status >= 500 or response.status == 429:
                    raise TransientError(f"Slack file download: HTTP {response.status}",
                                         retry_after=_seconds(response.headers.get("Retry-After")))
                if response.status != 200:
                    raise PermanentError(f"Slack file download: HTTP {response.status}")
                if response.content_type == "text/html":
                    raise PermanentError("Slack sent its sign-in page instead of the file:"
                                         " the token cannot read it (scope files:read?)")
                return await response.read()
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise TransientError(f"Slack file download: {exc or type(exc).__name__}") from exc

    def _error(self, method: str, exc: SlackApiError) -> AdapterError:
        response = exc.response
        status = response.status_code
        data = response.data if isinstance(response.data, dict) else {}
        error = str(data.get("error") or "")
        where = f"Slack {method}"
        if status == 429 or error == "ratelimited":
            retry_after = _seconds((response.headers or {}).get("Retry-After")
                                   or (response.headers or {}).get("retry-after"))
            return TransientError(f"{where}: rate limited by Slack", retry_after=retry_after)
        if status >= 500:
            return TransientError(f"{where}: Slack answered HTTP {status}")
        if error in AUTH_ERRORS:
            return ConfigurationError(f"channel {self.channel}: Slack refused the token ({error})")
        if error in SEND_ERRORS:
            return PermanentError(f"{where}: {error}")
        if status != 200:
            return PermanentError(f"{where}: Slack answered HTTP {status}")
        return AdapterError(f"{where}: {error or 'unexpected answer'}")

    async def close(self) -> None:
        if self._session is not None:
            session, self._session, self._client = self._session, None, None
            await session.close()


def _clean(params: dict[str, Any]) -> dict[str, Any]:
    """Without empty values: Slack reads `cursor=""` or `oldest=""` as given."""
    return {k: v for k, v in params.items() if v not in (None, "")}


def _seconds(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
