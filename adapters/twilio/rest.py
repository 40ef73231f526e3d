"""A small client of Twilio's REST API (2010-04-01) over httpx, mapping its errors onto the adapter errors.

    api = TwilioREST("https://api.twilio.com", account_sid, auth_token, timeout=30)
    page = await api.get(api.messages_path, {"To": "+15005550006", "PageSize": 1000})
    created = await api.post(api.messages_path, {"To": ..., "From": ..., "Body": ...})

Requests use HTTP basic auth (account SID, auth token); creates are form-encoded; every
error is `{"code", "message", "more_info", "status"}`. 429 and 5xx are worth retrying,
401 (code 20003) means the credentials are wrong or revoked, other 4xx are final.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import httpx

from adapters.base import ConfigurationError, PermanentError, TransientError
from adapters.twilio.codes import described

# httpx logs every request at INFO; the desk's log is for what goes wrong.
logging.getLogger("httpx").setLevel(logging.WARNING)


class TwilioREST:
    """One account's connection to the Twilio API (or a local stand-in at `api_url`)."""

    def __init__(self, api_url: str, account_sid: str, auth_token: str, *, timeout: float) -> None:
        self.api_url = api_url.rstrip("/")
        self.account_sid = account_sid
        self._token = auth_token
        self._client = httpx.AsyncClient(base_url=self.api_url, auth=(account_sid, auth_token),
                                         timeout=httpx.Timeout(timeout), follow_redirects=True)

    @property
    def account_path(self) -> str:
        return f"/2010-04-01/Accounts/{self.account_sid}"

    @property
    def messages_path(self) -> str:
        return f"{self.account_path}/Messages.json"

    def relative(self, uri: str) -> str:
        """A path below api_url from a Twilio URI or full URL (webhooks give `https://api.twilio.com/...`)."""
        split = urlsplit(uri)
        return split.path + (f"?{split.query}" if split.query else "") if split.scheme else uri

    async def get(self, uri: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """The JSON resource at `uri` (a path, or a `next_page_uri` that carries its own query)."""
        response = await self._request("GET", self.relative(uri), params=params)
        return self._json(response)

    async def post(self, uri: str, form: dict[str, str]) -> dict[str, Any]:
        """Create: `form` is sent form-encoded, as the API takes it."""
        response = await self._request("POST", uri, data=form)
        return self._json(response)

    async def download(self, uri: str) -> bytes:
        """The bytes of a media resource (Twilio redirects to its content store; followed)."""
        response = await self._request("GET", self.relative(uri))
        return response.content

    async def close(self) -> None:
        await self._client.aclose()

    async def _request(self, verb: str, uri: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._client.request(verb, uri, **kwargs)
        except httpx.HTTPError as exc:
            text = (str(exc) or type(exc).__name__).replace(self._token, "<token>")
            raise TransientError(f"Twilio: no answer from {self.api_url}: {text}") from None
        if response.status_code >= 400:
            raise self._error(response)
        return response

    @staticmethod
    def _json(response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            raise TransientError(f"Twilio answered HTTP {response.status_code} with no JSON") from None
        if not isinstance(body, dict):
            raise TransientError("Twilio answered JSON that is not an object")
        return body

    def _error(self, response: httpx.Response) -> Exception:
        try:
            body = response.json()
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        status, code = response.status_code, body.get("code")
        words = described(code, str(body.get("message") or "")) or f"HTTP {status}"
        what = f"Twilio: {words}".replace(self._token, "<token>")
        if status == 429:
            return TransientError(what, retry_after=_seconds(response.headers.get("retry-after")))
        if status >= 500:
            return TransientError(f"{what} (HTTP {status})")
        if status == 401 or code == 20003:
            return ConfigurationError(f"Twilio refused the account SID and auth token at {self.api_url}"
                                      f" ({body.get('message') or 'HTTP 401'}): check account_sid and"
                                      " auth_token, which may have been revoked")
        if status == 404 and code == 20404 and response.request.method == "GET" \
                and response.request.url.path.endswith("Messages.json"):
            return ConfigurationError(f"Twilio knows no account {self.account_sid} at {self.api_url}")
        return PermanentError(what)


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None
