"""X-Twilio-Signature, as Twilio documents it (twilio.com/docs/usage/webhooks/webhooks-security).

The signature is the base64 HMAC-SHA1, keyed with the account's auth token, of the full
URL Twilio called (query string included) followed by every POST parameter's name and
value, sorted by name, with no separators.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping


def expected(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """The signature Twilio sends for a POST of `params` to `url`."""
    data = url + "".join(name + params[name] for name in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def valid(auth_token: str, url: str, params: Mapping[str, str], given: str) -> bool:
    """Whether `given` is Twilio's signature of this request, compared in constant time.

    Twilio may sign the URL with or without the scheme's default port (`:443`), whichever
    it called; both spellings of the configured URL are tried, as Twilio's own libraries do.
    """
    return any(hmac.compare_digest(expected(auth_token, candidate, params).encode(), given.encode())
               for candidate in _spellings(url))


def _spellings(url: str) -> list[str]:
    """`url` as given, and with its scheme's default port added or removed."""
    from urllib.parse import urlsplit, urlunsplit

    split = urlsplit(url)
    default = {"https": ":443", "http": ":80"}.get(split.scheme)
    netloc = split.netloc
    if default is None or not netloc:
        return [url]
    if netloc.endswith(default):
        other = netloc.removesuffix(default)
    elif netloc.rpartition(":")[2].isdigit() and not netloc.endswith("]"):
        return [url]  # another port: Twilio called exactly that
    else:
        other = netloc + default
    return [url, urlunsplit(split._replace(netloc=other))]
