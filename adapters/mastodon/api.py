"""A small Mastodon REST client over httpx, with Mastodon's errors mapped onto the adapter errors.

    api = MastodonAPI("support", "https://mastodon.social", token, timeout=30)
    page = await api.get("/api/v1/notifications", [("types[]", "mention")])
    page.body, page.links.get("prev")   # the JSON, and the Link header's URLs by rel

Every error is `{"error": "..."}` with its HTTP status. 429 carries `X-RateLimit-Reset`
(an ISO time) and sometimes `Retry-After`; 401 means the token is wrong or revoked, which no
retry mends, so it is a ConfigurationError naming the channel.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from adapters.base import ConfigurationError, PermanentError, TransientError

logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per request otherwise


class NotFound(PermanentError):
    """404: the status (or request) is gone; callers that refresh statuses read it as a deletion."""


@dataclass(frozen=True, slots=True)
class Page:
    """One answer: its JSON body and the Link header's URLs by rel (`next`: older, `prev`: newer)."""

    body: Any
    links: dict[str, str]


class MastodonAPI:
    """One access token against one instance."""

    def __init__(self, channel: str, instance: str, token: str, *, timeout: float) -> None:
        self.channel = channel
        self.instance = instance.rstrip("/")
        self._client = httpx.AsyncClient(base_url=self.instance, timeout=httpx.Timeout(timeout),
                                         headers={"Authorization": f"Bearer {token}"})

    async def get(self, path: str, params: list[tuple[str, str]] | None = None) -> Page:
        """GET `path` (or a full URL from a Link header) with `params`."""
        return await self._request("GET", path, params=params)

    async def post(self, path: str, data: dict[str, str] | None = None,
                   idempotency_key: str | None = None) -> Page:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        return await self._request("POST", path, data=data or {}, headers=headers)

    async def _request(self, verb: str, path: str, **kwargs: Any) -> Page:
        what = f"Mastodon {verb} {path.removeprefix(self.instance)}"
        try:
            response = await self._client.request(verb, path, **kwargs)
        except httpx.HTTPError as exc:
            raise TransientError(f"{what}: no answer from {self.instance}:"
                                 f" {exc or type(exc).__name__}") from None
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = None
        if response.status_code < 300:
            links = {str(rel): str(link.get("url")) for rel, link in response.links.items()}
            return Page(body, links)
        raise self._error(what, response, body)

    def _error(self, what: str, response: httpx.Response, body: Any) -> Exception:
        status = response.status_code
        said = str(body.get("error")) if isinstance(body, dict) and body.get("error") else f"HTTP {status}"
        if status == 429:
            return TransientError(f"{what}: rate limited ({said})", retry_after=retry_after(response.headers))
        if status >= 500:
            return TransientError(f"{what}: the instance answered HTTP {status} ({said})")
        if status == 401:
            return ConfigurationError(f"channel {self.channel}: {self.instance} refused the access token"
                                      f" ({said}); make a new one under Preferences > Development")
        if status == 403:
            return ConfigurationError(f"channel {self.channel}: {what} is forbidden ({said}); the token needs"
                                      " the read, write:statuses and write:notifications scopes")
        if status == 404:
            return NotFound(f"{what}: {said}")
        return PermanentError(f"{what}: {said}")

    async def close(self) -> None:
        await self._client.aclose()


def retry_after(headers: httpx.Headers, now: datetime | None = None) -> float | None:
    """Seconds until the limit resets: `Retry-After` (seconds or a date) wins over `X-RateLimit-Reset`."""
    now = now or datetime.now(UTC)
    raw = headers.get("retry-after")
    if raw:
        try:
            return max(0.0, float(raw))
        except ValueError:
            try:
                return max(0.0, (parsedate_to_datetime(raw) - now).total_seconds())
            except (TypeError, ValueError):
                pass
    reset = headers.get("x-ratelimit-reset")
    if reset:
        try:
            return max(0.0, (datetime.fromisoformat(reset.replace("Z", "+00:00")) - now).total_seconds())
        except ValueError:
            return None
    return None
