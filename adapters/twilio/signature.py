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
    """Whether `given` is Twilio's signature of this request, compared in constant time."""
    return hmac.compare_digest(expected(auth_token, url, params).encode(), given.encode())
