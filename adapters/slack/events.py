"""Slack's Events API: a signed request, verified, and its message events as polling's records and updates.

    payload = verified(request, signing_secret, now=time.time())   # or WebhookRejected
    batch = await event_batch(payload["event"], poller, conversations)

Slack signs `v0:{X-Slack-Request-Timestamp}:{raw body}` with the app's signing secret
(HMAC-SHA256, `X-Slack-Signature: v0=<hex>`; slack-sdk's SignatureVerifier computes it) and
asks that a timestamp more than five minutes from now be refused, so a captured request
cannot be replayed later: https://api.slack.com/authentication/verifying-requests-from-slack.
A wrong signature is 401; a right one with a stale timestamp is 403.

A `message` event carries the same message object conversations.history gives, so it
goes through the same `inbound` and the poller's user cache: the same ids, scope and
meta, and a message both pushed and polled is stored once. `message_changed` with an
`edited` message is an Edit (a change without one, an unfurl or a reply count, is not);
a parent deleted with replies arrives as a change to a `tombstone`, a Deletion, as does
`message_deleted`. Retries (`X-Slack-Retry-Num`) carry the same event: the store's
dedupe and the idempotent updates absorb them.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from adapters.base import Batch, WebhookRejected, WebhookRequest
from adapters.slack.messages import deletion, edit, is_written, when

if TYPE_CHECKING:
    from adapters.slack.poll import Poller

#: A request whose timestamp is further than this from our clock is refused (Slack's advice).
STALE_SECONDS = 5 * 60


def verified(request: WebhookRequest, secret: str, *, now: float) -> dict[str, Any]:
    """The request's JSON payload, once its signature and timestamp check out; WebhookRejected otherwise."""
    from slack_sdk.signature import SignatureVerifier

    timestamp = request.headers.get("x-slack-request-timestamp", "").strip()
    signature = request.headers.get("x-slack-signature", "").strip()
    if not timestamp or not signature:
        raise WebhookRejected(401, "no X-Slack-Signature or X-Slack-Request-Timestamp header")
    if not timestamp.isdigit() or len(timestamp) > 12:
        raise WebhookRejected(401, "X-Slack-Request-Timestamp is not a Unix time")
    try:
        expected = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=request.body)
    except UnicodeDecodeError:
        raise WebhookRejected(400, "the body is not UTF-8") from None
    if not expected or not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        raise WebhookRejected(401, "X-Slack-Signature does not match the signing secret")
    age = now - int(timestamp)
    if abs(age) > STALE_SECONDS:
        raise WebhookRejected(403, f"request timestamp is {age:.0f} s from now: stale or replayed")
    try:
        payload = json.loads(request.body)
    except ValueError:
        raise WebhookRejected(400, "the body is not JSON") from None
    if not isinstance(payload, dict):
        raise WebhookRejected(400, "the body is not a JSON object")
    return payload


async def event_batch(event: Mapping[str, Any], poller: Poller, conversations: list[str]) -> Batch | None:
    """What one Events API `event` adds to the desk; None for events the desk does not take."""
    if event.get("type") != "message":
        return None  # app_mention and the rest repeat a message event or are not messages
    cid = str(event.get("channel") or "")
    if not cid or (conversations and cid not in conversations):
        return None  # polling reads only the configured conversations; so do pushes
    await poller.identify()
    scope_args = {"channel": cid, "team": poller.team}
    subtype = event.get("subtype")
    if subtype == "message_changed":
        message = event.get("message")
        if not isinstance(message, dict) or not message.get("ts"):
            return None
        if message.get("subtype") == "tombstone":
            return Batch([], None, updates=[deletion(message, **scope_args, at=_at(event))])
        if not message.get("edited") or not is_written(message, poller.bot_id):
            return None
        names = await poller.names(str(message.get("text") or ""))
        return Batch([], None, updates=[edit(message, **scope_args, names=names)])
    if subtype == "message_deleted":
        deleted = str(event.get("deleted_ts") or "")
        if not deleted:
            return None
        return Batch([], None, updates=[deletion({"ts": deleted}, **scope_args, at=_at(event))])
    if not event.get("ts") or not is_written(event, poller.bot_id):
        return None  # joins, topics, other apps' bot_message: as polling skips them
    return Batch([await poller.record(dict(event), cid)], None)


def _at(event: Mapping[str, Any]) -> datetime:
    """When a change happened: the event's own ts (the same on every retry), else now."""
    try:
        return when(str(event.get("ts") or event.get("event_ts")))
    except (TypeError, ValueError, OverflowError):
        return datetime.now(UTC)
