"""The daemon's webhook listener: pushes from a service are committed, then acknowledged.

    listener = await open_listener(desk, selected_channels, on_commit)  # None without [webhooks]
    ...
    await listener.close()       # stops listening; requests in flight commit and answer first (grace)

`POST /hooks/<channel name>[/sub/path]` goes to that channel's adapter if it has
`webhook` (adapters/base.py): the listener builds a `WebhookRequest` (the URL is
`[webhooks] public_url` + path + query, as the service signed it), the adapter
verifies and translates it, the returned Batch is committed through the same
`ingest_batch` polling uses (dedupe by references; its cursor forced to None, so
the poll cursor stays where it is), and only then the adapter's `WebhookReply` is
sent. Refused, logged in one line and nothing stored: an unknown path (404), another
method (405), a body over `max_body_bytes` (413, from Content-Length before reading
and by a capped read), `WebhookRejected` (its status). A failure to commit is a 500,
so the service sends the push again.

Each request is its own task of aiohttp's server, so a slow one (a client trickling
its body, a user lookup at Slack) holds up no other; they meet only at the commit. Pushes
of one channel that arrive while its previous commit runs are committed together in the
next transaction (group commit: one BEGIN ... COMMIT for a burst, not one per request),
and each is answered once that transaction is done; if a shared transaction fails, each
push is tried on its own, so one bad push cannot fail the others.

A replayed request carries records and updates the desk already holds, so it changes
nothing; no cache of seen signatures is kept, since it would also refuse a service's
honest re-delivery of a push we failed to commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from adapters.base import Adapter, Batch, WebhookRejected, WebhookReply, WebhookRequest
from omnidesk.desk import Desk
from omnidesk.errors import UserError
from omnidesk.inbound.ingest import IngestResult, ingest_batch
from omnidesk.model import Channel
from omnidesk.settings import ChannelSettings, WebhookSettings
from omnidesk.textsafe import one_line

if TYPE_CHECKING:
    from aiohttp import web

log = logging.getLogger(__name__)

MOUNT = "/hooks/"
#: A desk-owned endpoint (the survey links): GET or POST under its prefix, answered by the desk itself.
Endpoint = Callable[[WebhookRequest], Awaitable[WebhookReply]]


@dataclass(slots=True)
class Served:
    """A channel the listener routes to: its stored row and the adapter that reads its pushes."""

    channel: Channel
    adapter: Adapter
    #: Called with each commit's result (the daemon's per-channel counts).
    on_commit: Callable[[IngestResult], None] | None = None


class _Committer:
    """Commits one channel's pushes: those that arrive while a commit runs go together in the next."""

    def __init__(self, desk: Desk, served: Served) -> None:
        self.desk = desk
        self.served = served
        self._waiting: list[tuple[Batch, asyncio.Future[None]]] = []
        self.running: asyncio.Task[None] | None = None

    async def commit(self, batch: Batch) -> None:
        """Return once `batch` is committed; raise what the commit raised."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((batch, done))
        if self.running is None or self.running.done():
            self.running = asyncio.create_task(self._drain(), name=f"webhooks:{self.served.channel.name}")
        await asyncio.shield(done)  # a request given up does not cancel the others' commit

    async def _drain(self) -> None:
        while self._waiting:
            taken, self._waiting = self._waiting, []
            if len(taken) == 1 or not await self._together(taken):
                for batch, done in taken:
                    await self._one(batch, done)

    async def _together(self, taken: list[tuple[Batch, asyncio.Future[None]]]) -> bool:
        merged = Batch([r for b, _ in taken for r in b.records], None,
                       updates=[u for b, _ in taken for u in b.updates])
        try:
            self._tally(await ingest_batch(self.desk, self.served.channel, merged))
        except Exception:
            return False
        for _, done in taken:
            if not done.done():
                done.set_result(None)
        return True

    async def _one(self, batch: Batch, done: asyncio.Future[None]) -> None:
        try:
            self._tally(await ingest_batch(self.desk, self.served.channel, batch))
        except Exception as exc:
            if not done.done():
                done.set_exception(exc)
        else:
            if not done.done():
                done.set_result(None)

    def _tally(self, result: IngestResult) -> None:
        if self.served.on_commit is not None:
            self.served.on_commit(result)


class Listener:
    """An aiohttp server on `[webhooks] listen`, routing `/hooks/<name>` to `served[name]`."""

    def __init__(self, desk: Desk, settings: WebhookSettings, served: Mapping[str, Served],
                 endpoints: Mapping[str, Endpoint] | None = None) -> None:
        self.desk = desk
        self.settings = settings
        self.served = dict(served)
        #: Path prefix ("/survey/") -> the desk's own handler; the rest of the path is its `path`.
        self.endpoints = dict(endpoints or {})
        self._committers = {name: _Committer(desk, s) for name, s in self.served.items()}
        self._runner: web.AppRunner | None = None

    def mount_url(self, channel: str) -> str | None:
        """The public URL `channel` is served at; None when the listener does not serve it."""
        return self.settings.mount_url(channel) if channel in self.served else None

    async def start(self, grace: float = 10.0) -> None:
        """Listen; UserError naming `[webhooks] listen` when the address cannot be bound."""
        from aiohttp import web

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # No access log: a URL's query can carry tokens, and refusals are logged below, once.
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=grace)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.settings.host, self.settings.port, reuse_address=True).start()
        except OSError as exc:
            await runner.cleanup()
            reason = os.strerror(exc.errno) if exc.errno else str(exc)
            raise UserError(f"webhooks.listen {self.settings.host}:{self.settings.port}: cannot listen"
                            f" ({reason})") from None
        self._runner = runner
        log.info("webhooks: listening on %s:%d for %s", self.settings.host, self.settings.port,
                 ", ".join(self.served) or "no channel")

    async def close(self) -> None:
        """Stop taking connections, let requests in flight commit and answer (within the grace), close."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        # A handler past the grace was cancelled; the commit it waited for still ends before the desk closes.
        running = [c.running for c in self._committers.values() if c.running is not None]
        await asyncio.gather(*running, return_exceptions=True)
        for served in self.served.values():
            with contextlib.suppress(Exception):
                await served.adapter.close()

    async def _handle(self, request: web.Request) -> web.StreamResponse:

        for prefix, endpoint in self.endpoints.items():
            if request.path.startswith(prefix):
                return await self._endpoint(request, prefix, endpoint)
        name, sub = _route(request.path)
        served = self.served.get(name) if name else None
        where = f"channel {name}" if served is not None else f"path {_safe(request.path)}"
        if served is None:
            return self._refuse(request, where, 404, "no channel takes webhooks here")
        if request.method != "POST":
            return self._refuse(request, where, 405, f"method {_safe(request.method)}", {"Allow": "POST"})
        body = await _read_capped(request, self.settings.max_body_bytes)
        if body is None:
            return self._refuse(request, where, 413, f"body over {self.settings.max_body_bytes} bytes")
        hook = WebhookRequest(
            method=request.method, path=sub, url=self.settings.public_url + request.raw_path,
            headers=_headers(request), body=body, received_at=datetime.now(UTC))
        try:
            batch, reply = await served.adapter.webhook(hook)  # type: ignore[attr-defined]
        except WebhookRejected as exc:
            return self._refuse(request, where, exc.status, str(exc))
        except Exception as exc:  # a bug or an unreachable service: let the sender try again later
            return _failed(where, "failed", exc, "not stored; send it again")
        if batch is not None and (batch.records or batch.undecoded or batch.updates):
            try:
                await self._committers[name].commit(Batch(batch.decoded(), None, updates=list(batch.updates)))
            except Exception as exc:
                return _failed(where, "commit failed", exc, "not stored; send it again")
        return _answer(reply)

    async def _endpoint(self, request: web.Request, prefix: str, endpoint: Endpoint) -> web.StreamResponse:
        """A desk-owned page: GET or POST, the body capped as for pushes; a failure is a 500 page."""

        where = f"endpoint {prefix}"
        if request.method not in ("GET", "POST"):
            return self._refuse(request, where, 405, f"method {_safe(request.method)}",
                                {"Allow": "GET, POST"})
        body = await _read_capped(request, self.settings.max_body_bytes)
        if body is None:
            return self._refuse(request, where, 413, f"body over {self.settings.max_body_bytes} bytes")
        try:
            reply = await endpoint(WebhookRequest(
                method=request.method, path=request.path[len(prefix):],
                url=self.settings.public_url + request.raw_path, headers=_headers(request), body=body,
                received_at=datetime.now(UTC)))
        except Exception as exc:
            return _failed(where, "failed", exc, "not recorded; please try again later")
        return _answer(reply)

    @staticmethod
    def _refuse(request: web.Request, where: str, status: int, reason: str,
                headers: dict[str, str] | None = None) -> web.Response:
        from aiohttp import web

        log.warning("webhook %s: refused %d from %s: %s", where, status, request.remote or "?", _safe(reason))
        return web.Response(status=status, text=f"{status} refused\n", headers=headers)


def _failed(where: str, what: str, exc: Exception, text: str) -> web.Response:
    """A 500 (the sender tries again), logged in one line."""
    from aiohttp import web

    log.warning("webhook %s: %s, answering 500: %s: %s", where, what, type(exc).__name__, _safe(str(exc)))
    return web.Response(status=500, text=text + "\n")


def _answer(reply: WebhookReply) -> web.Response:
    from aiohttp import web

    return web.Response(status=reply.status, body=reply.body, headers={"Content-Type": reply.content_type})


def _route(path: str) -> tuple[str, str]:
    """("name", "/sub/path") of `/hooks/name/sub/path`; ("", "") for a path outside the mount."""
    if not path.startswith(MOUNT):
        return "", ""
    name, slash, rest = path[len(MOUNT):].partition("/")
    return name, slash + rest if rest else ""


def _headers(request: web.Request) -> dict[str, str]:
    """Header names in lower case; a header given twice is one value, joined as HTTP allows."""
    found: dict[str, str] = {}
    for key, value in request.headers.items():
        key = key.lower()
        found[key] = f"{found[key]}, {value}" if key in found else value
    return found


async def _read_capped(request: web.Request, limit: int) -> bytes | None:
    """The body, or None when it is longer than `limit` (said by Content-Length, or found reading)."""
    if request.content_length is not None and request.content_length > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _safe(text: str, limit: int = 120) -> str:
    """Untrusted words (a path, a reason naming a header) as one short line for the log."""
    line = one_line(text)
    return line if len(line) <= limit else line[:limit - 1] + "…"


def webhook_capable(adapter_class: Any) -> bool:
    """Whether channels of this adapter class take pushes (the contract's optional `webhook`)."""
    return callable(getattr(adapter_class, "webhook", None))


async def open_listener(desk: Desk, selected: list[ChannelSettings],
                        on_commit: Callable[[str, IngestResult], None],
                        grace: float = 10.0) -> Listener | None:
    """The started listener for the `selected` channels that take pushes; None without [webhooks].

    `on_commit(channel name, result)` is told of every commit; `grace` is how long `close` lets
    requests in flight finish. A channel whose adapter cannot be
    built is left out (its own poll loop reports why); an address that cannot be bound is a UserError.
    """
    hooks = desk.settings.webhooks
    if hooks is None:
        return None
    from omnidesk.registry import build_adapter, factory_for
    from omnidesk.store.channels import ensure_channel

    served: dict[str, Served] = {}
    for settings in selected:
        try:
            if not webhook_capable(factory_for(settings.kind)):
                continue
            adapter = build_adapter(settings, webhook_url=hooks.mount_url(settings.name))
        except Exception as exc:
            log.warning("webhooks: not serving channel %s: %s: %s", settings.name, type(exc).__name__,
                        _safe(str(exc)))
            continue
        channel = await ensure_channel(desk.db, settings.name, settings.kind, settings.address)
        served[settings.name] = Served(channel, adapter, partial(on_commit, settings.name))
    from omnidesk.services import surveys

    listener = Listener(desk, hooks, served, {surveys.MOUNT: partial(surveys.answer, desk)})
    try:
        await listener.start(grace)
    except BaseException:
        await listener.close()
        raise
    return listener


async def serve(listener: Listener, stop: asyncio.Event) -> None:
    """Serve until `stop`, then drain (run_sync's task; the listener was started before)."""
    try:
        await stop.wait()
    finally:
        await listener.close()
