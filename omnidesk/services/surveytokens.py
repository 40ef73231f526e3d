"""Signed rating-link tokens: `<survey id>.<expiry, epoch s>.<HMAC-SHA256>`, keyed by a desk secret.

The secret is 32 random bytes in `<data dir>/survey.key` (0600, made on first use); a token
only says which survey and until when, so a forged or altered one fails the HMAC, an expired
one its time, and a used one (single use) the survey row's stored rating.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

KEY_FILE = "survey.key"


def desk_secret(data_dir: Path) -> bytes:
    """The desk's secret, created 0600 on first use (two processes racing keep the first)."""
    path = data_dir / KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes()
    with os.fdopen(fd, "wb") as f:
        f.write(secrets.token_bytes(32))
    return path.read_bytes()


def _mac(secret: bytes, body: str) -> str:
    digest = hmac.new(secret, body.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def make_token(secret: bytes, survey_id: int, expires_at_ms: int) -> str:
    body = f"{survey_id}.{expires_at_ms // 1000}"
    return f"{body}.{_mac(secret, body)}"


def read_token(secret: bytes, token: str, now_ms: int) -> tuple[int | None, str]:
    """(survey id, "") for a good token; (None, why) for a forged, malformed or expired one."""
    sid, _, rest = token.partition(".")
    expiry, _, mac = rest.partition(".")
    if not (sid.isdigit() and expiry.isdigit() and mac) or len(token) > 200:
        return None, "this link is not one of ours"
    if not hmac.compare_digest(mac, _mac(secret, f"{sid}.{expiry}")):
        return None, "this link is not one of ours"
    if int(expiry) * 1000 <= now_ms:
        return None, "this link has expired"
    return int(sid), ""
