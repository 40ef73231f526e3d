"""A small Bot API client over httpx, mapping the API's errors onto the adapter errors.

    api = BotAPI("https://api.telegram.org", token, timeout=30)
    me = await api.call("getMe")
    data = await api.download("photos/file_1.jpg")

Every method is `POST {api_url}/bot<token>/<method>` with a JSON body; every answer is
`{"ok": true, "result": ...}` or `{"ok": false, "error_code": N, "description": ...}`.
The token is part of every URL, so it never appears in an error message or a log line.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from adapters.base import ConfigurationError, PermanentError, TransientError

# httpx logs each request's URL at INFO, and a Bot API URL contains the bot's token.
logging.getLogger("httpx").setLevel(logging.WARNING)


class FileGone(Exception):
    """A download link answered 404: it expired (they last about an hour); ask getFile again."""


class BotAPI:
    """One bot's connection to a Bot API server (api.telegram.org or a self-hosted one)."""

    def __init__(self, api_url: str, token: str, *, timeout: float) -> None:
        self.api_url = api_url.rstrip("/")
        self._token = token
        self._timeout = timeout
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(timeout))

    async def call(self, method: str, params: dict[str, Any] | None = None, *, wait: float = 0) -> Any:
        """The `result` of `method`; `wait` is how long the server may hold the request (long polling)."""
        url = f"{self.api_url}/bot{self._token}/{method}"
        try:
            response = await self._client.post(url, json=params or {},
                                                timeout=httpx.Timeout(self._timeout + wait))
        except httpx.HTTPError as exc:
            raise TransientError(f"Telegram {method}: no answer from {self.api_url}:"
                                 f" {self._scrub(exc)}") from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("ok") is True:
            return body.get("result")
        raise self._error(method, response.status_code, body if isinstance(body, dict) else {})

    async def download(self, file_path: str) -> bytes:
        """The bytes of a file getFile named; FileGone when the link has expired."""
        try:
            response = await self._client.get(f"{self.api_url}/file/bot{self._token}/{file_path}")
        except httpx.HTTPError as exc:
            raise TransientError(f"Telegram file download: no answer from {self.api_url}:"
                                 f" {self._scrub(exc)}") from None
        if response.status_code == 404:
            raise FileGone(file_path)
        if response.status_code != 200:
            try:
                body = response.json()
            except ValueError:
                body = {}
            raise self._error("file download", response.status_code, body if isinstance(body, dict) else {})
        return response.content

    async def close(self) -> None:
        await self._client.aclose()

    def _scrub(self, exc: BaseException) -> str:
        text = str(exc) or type(exc).__name__
        return text.replace(self._token, "<token>")

    def _error(self, method: str, status: int, body: dict[str, Any]) -> Exception:
        """The adapter error for a refused request (the Bot API's error_code wins over the HTTP status)."""
        code = body.get("error_code") if isinstance(body.get("error_code"), int) else status
        description = str(body.get("description") or f"HTTP {status}").replace(self._token, "<token>")
        what = f"Telegram {method}: {description}"
        if code == 429:
            parameters = body.get("parameters") if isinstance(body.get("parameters"), dict) else {}
            retry_after = parameters.get("retry_after")
            return TransientError(what, retry_after=float(retry_after)
                                  if isinstance(retry_after, int | float) else None)
        if code >= 500:
            return TransientError(what)
        if code == 401:
            return ConfigurationError(f"the bot token was refused by {self.api_url} ({description})")
        if code == 404 and method != "file download":
            return ConfigurationError(f"{self.api_url} has no Bot API method {method} for this token"
                                      f" ({description}): check api_url and the token")
        if code == 409:
            return TransientError(f"Telegram {method}: another program is polling this bot or a webhook"
                                  f" is set ({description})")
        return PermanentError(what)
