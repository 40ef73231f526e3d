"""One poll of a Mastodon account: notifications, held notification requests, statuses re-read.

In order: the `mention` and `update` notifications after the cursor's newest id, forward
page by page (`min_id`, the Link header's `prev`, the next page asked for while a batch
commits); then the notification requests the server's policy holds (direct messages from
accounts the desk does not follow land there), reading each one's notifications with
`include_filtered` and, when `accept_requests`, accepting it once that batch is committed
(a crash before the commit leaves the request to be read again); then, every
`refresh_minutes`, the statuses of earlier polls received in the last `follow_days`, again:
a changed `edited_at` is an Edit, a 404 a Deletion.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from adapters.base import Batch
from adapters.mastodon import notifications as notes
from adapters.mastodon.api import MastodonAPI, NotFound

PAGE_LIMIT = 80  # the most notifications Mastodon answers per request
WANTED_TYPES = (("types[]", "mention"), ("types[]", "update"))


@dataclass
class Poller:
    """What one poll needs: the client, the instance, and the channel's settings."""

    api: MastodonAPI
    instance: notes.Instance
    base_url: str  # the configured instance URL: Link headers are followed only there
    accept_requests: bool
    follow_seconds: float
    refresh_seconds: float

    async def poll(self, cursor: str | None) -> AsyncIterator[Batch]:
        """Every batch there is now (see the module docstring)."""
        state = notes.load_state(cursor)
        earlier = set(state.watch)  # what this poll reads is as fresh as it gets: not re-read now
        instance = self.instance
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
        pending = asyncio.ensure_future(self.api.get("/api/v1/notifications", params))
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
                if newer.startswith(self.base_url + "/"):  # never follow a link (and the token) elsewhere
                    pending = asyncio.ensure_future(self.api.get(newer))
                else:
                    params = [*WANTED_TYPES, ("limit", str(PAGE_LIMIT)), ("min_id", state.newest)]
                    pending = asyncio.ensure_future(self.api.get("/api/v1/notifications", params))
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
            page = await self.api.get(url, query)
            items = [i for i in page.body or () if isinstance(i, dict)]
            if not items:
                return
            yield items
            if len(items) < PAGE_LIMIT:  # a short page is the last
                return
            older = page.links.get("next", "")
            if not older.startswith(self.base_url + "/"):
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
        with contextlib.suppress(NotFound):
            await self.api.post(f"/api/v1/notifications/requests/{rid}/accept")

    async def _refresh(self, state: notes.State, instance: notes.Instance, earlier: set[str]) -> list[Any]:
        """Re-read the watched statuses of `earlier` polls: an edit where `edited_at` moved, a
        deletion where it is 404."""
        updates: list[Any] = []
        state.follow([], time.time() - self.follow_seconds)
        due = sorted((k for k in state.watch if k in earlier), key=notes.id_order)  # oldest first
        for sid in due:
            edited, written = state.watch[sid]
            try:
                status = (await self.api.get(f"/api/v1/statuses/{sid}")).body or {}
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
