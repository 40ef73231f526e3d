"""The `mastodon` channel: an account's mentions and direct messages, answered in their thread.

    adapter = MastodonAdapter("social", {"instance": "https://mastodon.social",
                                         "access_token_env": "MASTODON_TOKEN"}, secret)
    async for batch in adapter.poll(cursor): ...   # notifications, held requests, re-read statuses
    receipt = await adapter.send(outbound)         # POST /api/v1/statuses, Idempotency-Key

A poll reads, in order: the `mention` and `update` notifications after the cursor's newest
id, forward page by page (`min_id`, the Link header's `prev`); then the notification
requests the server's policy holds (direct messages from accounts the desk does not
follow land there), reading each one's notifications with `include_filtered` and, when
`accept_requests`, accepting it once that batch is committed (so a crash before the commit
leaves the request to be read again); then, every `refresh_minutes`, the statuses received
in the last `follow_days`, again: a changed `edited_at` is an Edit, a 404 a Deletion.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
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
)
from adapters.base import split_text as split_at_boundaries
from adapters.mastodon import notifications as notes
from adapters.mastodon.content import countable_length, mentions_handle

if TYPE_CHECKING:
    from adapters.mastodon.api import MastodonAPI

#: Mastodon's default limit, used until the instance says its own (`/api/v2/instance`).
MAX_LENGTH = 500
PAGE_LIMIT = 80  # the most notifications Mastodon answers per request
VISIBILITIES = ("public", "unlisted", "private", "direct")
#: What a reply goes out as, by the visibility the customer used: a public mention is
#: answered unlisted (in the thread, not in public timelines); the rest as they came.
ANSWER_VISIBILITY = {"public": "unlisted", "unlisted": "unlisted", "private": "private", "direct": "direct"}
WANTED_TYPES = (("types[]", "mention"), ("types[]", "update"))


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
        found = context.get("mastodon") if isinstance(context, Mapping) else None
        ctx: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
        visibility = reply_visibility(None, ctx.get("visibility"))
        limit = int(ctx.get("max_characters") or MAX_LENGTH)
        acct = str(ctx.get("acct") or "")
        used = countable_length(text if not acct or mentions_handle(text, acct, local=False)
                                else f"@{acct} {text}")
        why = " (public mention: answered unlisted; reply --visibility to change)" \
            if ctx.get("visibility") == "public" else ""
        if used <= limit:
            return f"{visibility} · {used:,} of {limit:,} characters{why}"
        try:
            count = len(reply_parts(text, acct, limit))
        except PermanentError:
            count = 0
        split = f", goes out as {count} statuses" if count > 1 else ""
        return (f"{visibility} · {used:,} of {limit:,} characters: over the limit by {used - limit:,}"
                f"{split}{why}")

    def api(self) -> MastodonAPI:
        """The REST client, built (and httpx imported) on first use."""
        if self._api is None:
            from adapters.mastodon.api import MastodonAPI

            token = self._secret("access_token").strip()
            if not token:
                raise ConfigurationError(f"channel {self.name}: the access token is empty")
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
        state = notes.load_state(cursor)
        earlier = set(state.watch)  # what this poll reads is as fresh as it gets: not re-read now
        instance = await self.instance_info()
        async for batch in self._notifications(state, instance):
            yield batch
        async for batch in self._held(state, instance):
            yield batch
        if self.follow_seconds and time.time() - state.checked >= self.refresh_seconds:
            updates = await self._refresh(state, instance, earlier)
            yield Batch([], state.dump(), updates=updates)

    async def _notifications(self, state: notes.State, instance: notes.Instance) -> AsyncIterator[Batch]:
        """Forward from the newest committed notification, one batch per page; the next page is
        asked for before a batch is handed over, so the request overlaps the batch's commit."""
        params = [*WANTED_TYPES, ("limit", str(PAGE_LIMIT)), ("min_id", state.newest or "0")]
        pending = asyncio.ensure_future(self.api().get("/api/v1/notifications", params))
        try:
            while True:
                page = await pending
                found = [n for n in page.body or () if isinstance(n, dict) and n.get("id")]
                if not found:
                    return
                records, edits = notes.translate(found, instance)
                state.newest = max((str(n["id"]) for n in found), key=notes.id_order)
                state.follow(records, time.time() - self.follow_seconds)
                if len(found) < PAGE_LIMIT:  # the newest there are: what comes later, the next poll reads
                    yield Batch(records, state.dump(), updates=list(edits))
                    return
                newer = page.links.get("prev", "")
                if newer.startswith(self.instance + "/"):  # never follow a link (and the token) elsewhere
                    pending = asyncio.ensure_future(self.api().get(newer))
                else:
                    params = [*WANTED_TYPES, ("limit", str(PAGE_LIMIT)), ("min_id", state.newest)]
                    pending = asyncio.ensure_future(self.api().get("/api/v1/notifications", params))
                yield Batch(records, state.dump(), updates=list(edits))
        finally:
            if not pending.done():
                pending.cancel()
            elif not pending.cancelled():
                pending.exception()  # seen: an error of a page nobody waits for is not an error

    async def _pages(self, path: str, params: list[tuple[str, str]]) -> AsyncIterator[list[dict[str, Any]]]:
        """Each page of a list (asked PAGE_LIMIT at a time), newest first, following the Link header's
        `next` (older) on this instance."""
        url: str = path
        query: list[tuple[str, str]] | None = params
        while True:
            page = await self.api().get(url, query)
            items = [i for i in page.body or () if isinstance(i, dict)]
            if not items:
                return
            yield items
            if len(items) < PAGE_LIMIT:  # a short page is the last
                return
            older = page.links.get("next", "")
            if not older.startswith(self.instance + "/"):
                return
            url, query = older, None

    async def _held(self, state: notes.State, instance: notes.Instance) -> AsyncIterator[Batch]:
        """The notifications the policy holds back, per request; accepted once their batch is committed."""
        listed: dict[str, dict[str, Any]] = {}
        async for page in self._pages("/api/v1/notifications/requests", [("limit", str(PAGE_LIMIT))]):
            listed.update({str(r["id"]): r for r in page
                           if r.get("id") and isinstance(r.get("account"), dict)})
        state.requests = {k: v for k, v in state.requests.items() if k in listed}
        for rid, request in listed.items():
            last = str((request.get("last_status") or {}).get("id") or "")
            if state.requests.get(rid) == last and last:
                continue  # read already and nothing new since (accept_requests is off)
            found: list[dict[str, Any]] = []
            params = [("types[]", "mention"), ("account_id", str(request["account"]["id"])),
                      ("include_filtered", "true"), ("limit", str(PAGE_LIMIT))]
            async for page in self._pages("/api/v1/notifications", params):
                found += page
            records, edits = notes.translate(found, instance)
            state.follow(records, time.time() - self.follow_seconds)
            state.requests[rid] = last
            yield Batch(records, state.dump(), updates=list(edits), commit_first=True)
            if self.accept_requests:  # resumed: the batch is committed, the request may go
                await self._accept(rid)
                state.requests.pop(rid, None)

    async def _accept(self, rid: str) -> None:
        """Accept a notification request; one someone accepted or dismissed meanwhile (404) is done."""
        from adapters.mastodon.api import NotFound

        with contextlib.suppress(NotFound):
            await self.api().post(f"/api/v1/notifications/requests/{rid}/accept")

    async def _refresh(self, state: notes.State, instance: notes.Instance, earlier: set[str]) -> list[Any]:
        """Re-read the watched statuses of `earlier` polls: an edit where `edited_at` moved, a
        deletion where it is 404."""
        from adapters.mastodon.api import NotFound

        updates: list[Any] = []
        state.follow([], time.time() - self.follow_seconds)
        due = sorted((k for k in state.watch if k in earlier), key=notes.id_order)  # oldest first
        for sid in due:
            edited, written = state.watch[sid]
            try:
                status = (await self.api().get(f"/api/v1/statuses/{sid}")).body or {}
            except NotFound:
                updates.append(notes.deletion(sid, instance))
                del state.watch[sid]
                continue
            now_edited = str(status.get("edited_at") or "")
            if now_edited and now_edited != edited:
                updates.append(notes.edit(status, instance))
                state.watch[sid] = (now_edited, written)
        state.checked = time.time()
        return updates

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
        instance = await self.instance_info()
        parts = reply_parts(outbound.text, acct, instance.max_characters)
        if not parts:
            raise PermanentError("the reply is empty; Mastodon refuses empty statuses")
        reply_to = _reply_to(outbound, ctx, self.host)
        posted: list[dict[str, Any]] = []
        for n, part in enumerate(parts):
            data = {"status": part, "visibility": visibility}
            # One key per part: a retry after any failure re-posts nothing that went out.
            key = outbound.message_ref if n == 0 else f"{outbound.message_ref}/{n + 1}"
            try:
                try:
                    page = await self.api().post("/api/v1/statuses", data | (
                        {"in_reply_to_id": reply_to} if reply_to else {}), idempotency_key=key)
                except NotFound:
                    if n or not reply_to:
                        raise
                    # The answered status was deleted: the answer still goes, to the customer, unthreaded.
                    page = await self.api().post("/api/v1/statuses", data, idempotency_key=key)
            except PermanentError as exc:
                if not posted:
                    raise
                ids = ", ".join(str(s.get("id")) for s in posted)
                raise PermanentError(f"posted {len(posted)} of {len(parts)} statuses (ids {ids});"
                                     f" part {n + 1} failed: {exc}") from exc
            posted.append(dict(page.body or {}))
            reply_to = str(posted[-1].get("id") or "")
        ids = [str(s["id"]) for s in posted]
        sent_at = notes.when(posted[0]["created_at"]) if posted[0].get("created_at") else datetime.now(UTC)
        return Receipt(external_id=ids[0], also_ids=tuple(ids[1:]), sent_at=sent_at, scope=self.host,
                       meta={"mastodon": {"status_ids": ids, "visibility": visibility,
                                          "url": str(posted[0].get("url") or "")}})

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


def _reply_to(outbound: Outbound, ctx: Mapping[str, Any], host: str) -> str | None:
    """The status to answer, if it is one of this instance's (ids mean nothing on another)."""
    if outbound.scope and outbound.scope != host:
        return None
    ref = outbound.in_reply_to or str(ctx.get("status_id") or "")
    return ref if ref.isdigit() else None
