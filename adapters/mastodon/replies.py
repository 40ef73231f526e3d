"""Answering on Mastodon: the visibility, the handle, the cut at the instance's limit, the posts.

A reply is `POST /api/v1/statuses` per part, each with `Idempotency-Key` (the Outbound's
message_ref, `/2`, `/3` for later parts), so a retry, even after some parts went out,
posts none twice; the first part answers the customer's status, each later one the part
before; each starts with the customer's handle unless it names them already.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from adapters.base import CHOSEN, Outbound, PermanentError, Receipt, partly_sent
from adapters.base import split_text as split_at_boundaries
from adapters.mastodon import notifications as notes
from adapters.mastodon.content import countable_length, mentions_handle

if TYPE_CHECKING:
    from adapters.mastodon.api import MastodonAPI

#: Mastodon's default limit, used until the instance says its own (`/api/v2/instance`).
MAX_LENGTH = 500
VISIBILITIES = ("public", "unlisted", "private", "direct")
#: What a reply goes out as, by the visibility the customer used: a public mention is
#: answered unlisted (in the thread, not in public timelines); the rest as they came.
ANSWER_VISIBILITY = {"public": "unlisted", "unlisted": "unlisted", "private": "private", "direct": "direct"}


def reply_visibility(chosen: Any, customer: Any) -> str:
    """The visibility of a reply: the agent's choice, else what answers the customer's (direct
    when there is nothing to answer: a first message to someone should not be public)."""
    if chosen:
        if chosen not in VISIBILITIES:
            raise PermanentError(f"visibility {chosen!r} is not one of {', '.join(VISIBILITIES)}")
        return str(chosen)
    return ANSWER_VISIBILITY.get(str(customer), "direct")


def reply_parts(text: str, acct: str, limit: int) -> list[str]:
    """`text` as the statuses it goes out as: each within `limit` as Mastodon counts, each starting
    with the customer's handle unless it already mentions them (a direct status reaches only
    those it mentions)."""
    prefix = f"@{acct} " if acct else ""
    budget = limit - countable_length(prefix)
    if budget < 1:
        raise PermanentError(f"the handle @{acct} leaves no room in a {limit}-character status")
    for _ in range(8):  # a short URL counts 23: cut again, tighter, until every part fits
        parts = [p for p in split_at_boundaries(text, budget) if p.strip()]
        shaped = [p if not acct or mentions_handle(p, acct, local=False) else prefix + p for p in parts]
        over = max((countable_length(p) - limit for p in shaped), default=0)
        if over <= 0:
            return shaped
        budget -= over
        if budget < 1:
            break
    raise PermanentError(f"the reply cannot be cut into statuses of {limit} characters")


def note(text: str, context: Mapping[str, Any]) -> str:
    """`direct · 312 of 500 characters`, with the handle counted; past the limit, how many statuses.
    The visibility is the agent's choice when the context carries one (`CHOSEN`)."""
    found = context.get("mastodon") if isinstance(context, Mapping) else None
    ctx: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    chosen = context.get(CHOSEN) if isinstance(context, Mapping) else None
    picked = chosen.get("visibility") if isinstance(chosen, Mapping) else None
    visibility = reply_visibility(picked if picked in VISIBILITIES else None, ctx.get("visibility"))
    limit = int(ctx.get("max_characters") or MAX_LENGTH)
    acct = str(ctx.get("acct") or "")
    used = countable_length(text if not acct or mentions_handle(text, acct, local=False)
                            else f"@{acct} {text}")
    why = " (public mention: answered unlisted; reply --visibility to change)" \
        if ctx.get("visibility") == "public" and not picked else ""
    if used <= limit:
        return f"{visibility} · {used:,} of {limit:,} characters{why}"
    try:
        count = len(reply_parts(text, acct, limit))
    except PermanentError:
        count = 0
    split = f", goes out as {count} statuses" if count > 1 else ""
    return (f"{visibility} · {used:,} of {limit:,} characters: over the limit by {used - limit:,}"
            f"{split}{why}")


async def post(api: MastodonAPI, outbound: Outbound, instance: notes.Instance) -> Receipt:
    """A status per part, the first answering the customer's, each later one the part before."""
    from adapters.mastodon.api import NotFound

    if outbound.attachments:  # capabilities say so; a reply must not lose its files quietly
        raise PermanentError(f"this Mastodon channel sends text only; the reply has"
                             f" {len(outbound.attachments)} attachment(s)")
    found = outbound.context.get("mastodon") if isinstance(outbound.context, Mapping) else None
    ctx: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    acct = str(ctx.get("acct") or next((a.address for a in outbound.to if a.kind == "mastodon"), ""))
    if not acct:
        raise PermanentError("no Mastodon account to answer: the reply answers no status and has no"
                             " mastodon address (ann@instance) in To")
    visibility = reply_visibility(outbound.meta.get("visibility"), ctx.get("visibility"))
    parts = reply_parts(outbound.text, acct, instance.max_characters)
    if not parts:
        raise PermanentError("the reply is empty; Mastodon refuses empty statuses")
    reply_to = answered_status(outbound, ctx, instance.scope)
    posted: list[dict[str, Any]] = []
    for n, part in enumerate(parts):
        data = {"status": part, "visibility": visibility}
        # One key per part: a retry after any failure re-posts nothing that went out.
        key = outbound.message_ref if n == 0 else f"{outbound.message_ref}/{n + 1}"
        try:
            try:
                page = await api.post("/api/v1/statuses", data | (
                    {"in_reply_to_id": reply_to} if reply_to else {}), idempotency_key=key)
            except NotFound:
                if n or not reply_to:
                    raise
                # The answered status was deleted: the answer still goes, to the customer, unthreaded.
                page = await api.post("/api/v1/statuses", data, idempotency_key=key)
        except PermanentError as exc:
            if not posted:
                raise
            raise partly_sent([str(s.get("id")) for s in posted], len(parts), exc) from exc
        posted.append(dict(page.body or {}))
        reply_to = str(posted[-1].get("id") or "")
    ids = [str(s["id"]) for s in posted]
    sent_at = notes.when(posted[0]["created_at"]) if posted[0].get("created_at") else datetime.now(UTC)
    return Receipt(external_id=ids[0], also_ids=tuple(ids[1:]), sent_at=sent_at, scope=instance.scope,
                   meta={"mastodon": {"status_ids": ids, "visibility": visibility,
                                      "url": str(posted[0].get("url") or "")}})


def answered_status(outbound: Outbound, ctx: Mapping[str, Any], host: str) -> str | None:
    """The status to answer, if it is one of this instance's (ids mean nothing on another)."""
    if outbound.scope and outbound.scope != host:
        return None
    ref = outbound.in_reply_to or str(ctx.get("status_id") or "")
    return ref if ref.isdigit() else None
