"""The sync daemon: one supervised task per channel, the outbox dispatcher, and timers.

    stop = asyncio.Event()
    report = await run_sync(desk, once=False, stop=stop)   # until stop is set

Per channel: poll -> ingest_batch (records and cursor in one transaction) ->
wait_for_changes; given a parser pool (`executor`) and an adapter with
`poll_undecoded`, the records are parsed in the pool and several batches commit
together with the last one's cursor (omnidesk/inbound/pooled_ingest.py). A heartbeat
in `channel_health` at least every HEARTBEAT_SECONDS. A failing channel records its error and is retried with
exponential backoff (jittered) while the other channels keep working.

With `webhooks` (the daemon, when `[webhooks]` is configured) the listener of
omnidesk/services/webhooks.py serves the selected channels whose adapter takes pushes;
it is bound before any channel starts, so a taken port fails the start at once.

Stopping (SIGTERM in `omnidesk sync`): `stop` is set; each task finishes the
batch it is ingesting or the reply it is sending, then returns. Whatever is
still running after `grace` seconds is cancelled, which is also safe: the listener stops
taking connections and lets the requests in flight commit and answer; a batch
is one transaction with its cursor (rolled back whole), and a reply the
dispatcher was sending keeps its lease and is taken up again after it expires.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from adapters.base import Adapter, Batch
from omnidesk.desk import Desk
from omnidesk.errors import UserError
from omnidesk.model import Channel
from omnidesk.outbound.outbox import Dispatcher, DispatchStats
from omnidesk.runners import runner_gone, runner_id
from omnidesk.services import escalation, sla
from omnidesk.settings import ChannelSettings
from omnidesk.store import channels as channel_store
from omnidesk.store import sla as store_sla
from omnidesk.store import timers
from omnidesk.timeutil import now_ms

if TYPE_CHECKING:
    from omnidesk.inbound.ingest import IngestResult
    from omnidesk.store.sla import Stage

log = logging.getLogger(__name__)

#: A live sync refreshes its heartbeat at least this often (seconds).
HEARTBEAT_SECONDS = 15.0
#: A heartbeat younger than this (ms) from another process means a daemon is running.
LIVE_MS = 60_000
#: Timers look for snoozes that ended and SLA stages that fell due at least this often (seconds), to
#: notice new ones made by other processes.
TIMER_SECONDS = 10.0
#: Routing looks for pending work queued by other processes (status changes, SLA events) this often.
ROUTE_SECONDS = 5.0

#: The post-ingest hook: routing rules run on what ingest left pending (omnidesk/rules/routing.py,
#: `Router.run_pending`). Passed in by the faces, since the services know nothing of rules.
Route = Callable[[], Awaitable[object]]


@dataclass(slots=True)
class ChannelReport:
    name: str
    batches: int = 0
    imported: int = 0
    duplicates: int = 0
    quarantined: int = 0
    errors: int = 0
    last_error: str | None = None

    def tally(self, result: IngestResult, how: str = "") -> None:
        """Count one committed batch (polled, or pushed: `how` says so in the log)."""
        self.batches += 1
        self.imported += result.imported
        self.duplicates += result.duplicates
        self.quarantined += result.quarantined
        if result.imported:
            log.info("channel %s: %d new message(s)%s", self.name, result.imported, how)


@dataclass(slots=True)
class SyncReport:
    channels: dict[str, ChannelReport] = field(default_factory=dict)
    outbox: DispatchStats = field(default_factory=DispatchStats)
    woken: list[int] = field(default_factory=list)
    escalations: list[Stage] = field(default_factory=list)  # SLA warnings and breaches fired
    surveys: list[int] = field(default_factory=list)  # survey rows written (asked or skipped)

    @property
    def ok(self) -> bool:
        return not any(c.last_error for c in self.channels.values())


def selected_channels(desk: Desk, names: list[str] | None) -> list[ChannelSettings]:
    """The configured channels to sync: all, or the named ones (UserError for an unknown name)."""
    configured = list(desk.settings.channels)
    if not names:
        return configured
    known = {c.name: c for c in configured}
    missing = [n for n in names if n not in known]
    if missing:
        raise UserError(
            f"no channel named {', '.join(map(repr, missing))} in the configuration"
            f" (configured: {', '.join(known) or 'none'})"
        )
    return [known[n] for n in names]


async def run_sync(desk: Desk, *, once: bool, stop: asyncio.Event, channels: list[str] | None = None,
                   dispatch: bool = True, grace: float = 10.0, backoff_base: float = 2.0,
                   backoff_max: float = 300.0, dispatcher: Dispatcher | None = None,
                   executor: Executor | None = None, webhooks: bool = False,
                   route: Route | None = None) -> SyncReport:
    """Sync channels, send due replies and wake snoozes, until `stop` is set (or one pass with `once`).

    `channels` limits the channels polled (names from the config). `dispatcher` lets a
    caller (the TUI, tests) supply its own; by default one is built from the desk.
    `executor` (the importer's parser pool) decodes the records of adapters that offer
    `poll_undecoded`, in parallel and written in large transactions; without it each
    batch is parsed in a thread of this process and written on its own.
    `webhooks` serves pushes while the sync runs, when `[webhooks]` is configured (not with `once`).
    `route` runs first (what a crash left pending), after every batch that stored
    messages (polled or pushed), every ROUTE_SECONDS, and (with `once`) when the channels are done.
    """
    selected = selected_channels(desk, channels)
    runner = runner_id()
    report = SyncReport()
    listener = None
    kick = asyncio.Event()  # a batch stored messages: route them
    if webhooks and not once:
        from omnidesk.services.webhooks import open_listener

        settling: set[asyncio.Task[None]] = set()  # held until done, or the loop could drop them

        def pushed(name: str, result: IngestResult) -> None:
            report.channels.setdefault(name, ChannelReport(name)).tally(result, " pushed")
            if result.imported:  # committed already: what follows a polled batch follows, in a task
                task = asyncio.get_running_loop().create_task(_settle_pushed(desk, result, kick))
                settling.add(task)
                task.add_done_callback(settling.discard)

        # Drained within the daemon's own grace, so the adapters are closed before it cancels anything.
        listener = await open_listener(desk, selected, pushed, grace=grace * 0.8)
    own_dispatcher = dispatcher is None and dispatch
    if own_dispatcher:
        dispatcher = Dispatcher(desk)

    if route is not None:
        await _route(route)
    await acknowledge(desk)  # first messages a crash left undecided (omnidesk/services/autoack.py)
    tasks: list[asyncio.Task[None]] = []
    for settings in selected:
        channel_report = report.channels.setdefault(settings.name, ChannelReport(settings.name))
        loop = _ChannelLoop(desk, settings, runner, stop, once, channel_report, backoff_base, backoff_max,
                            executor, webhook_url=listener.mount_url(settings.name) if listener else None,
                            kick=kick)
        tasks.append(asyncio.create_task(_supervised(loop.run, stop, once, f"channel {settings.name}"),
                                         name=f"sync:{settings.name}"))
    if dispatcher is not None:
        tasks.append(asyncio.create_task(_dispatch(dispatcher, stop, once, report), name="sync:outbox"))
    tasks.append(asyncio.create_task(_timers(desk, stop, once, report), name="sync:timers"))
    if listener is not None:
        from omnidesk.services.webhooks import serve

        tasks.append(asyncio.create_task(serve(listener, stop), name="sync:webhooks"))
    if route is not None and not once:
        tasks.append(asyncio.create_task(_routing(route, kick, stop), name="sync:routing"))

    try:
        if once:
            await asyncio.wait(tasks)
            if route is not None:
                await _route(route)
        else:
            await stop.wait()
            _, pending = await asyncio.wait(tasks, timeout=grace)
            for task in pending:
                log.warning("%s did not stop within %.0fs; cancelling it", task.get_name(), grace)
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if own_dispatcher and dispatcher is not None:
            await dispatcher.close()
    return report


async def daemon_running(desk: Desk) -> bool:
    """True when another live process is syncing this desk (a heartbeat newer than LIVE_MS).

    The TUI runs the sync in-process only when this is False. A heartbeat from this
    host whose process is gone (a crashed daemon) does not count.
    """
    me = runner_id()
    now = now_ms()
    for health in await channel_store.channel_health(desk.db):
        if health.heartbeat_at is None or not health.runner or now - health.heartbeat_at > LIVE_MS:
            continue
        if health.runner == me or runner_gone(health.runner):
            continue
        return True
    return False


def describe(exc: BaseException) -> str:
    """One line for channel_health.last_error: the exception type and its message."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def backoff_delay(failures: int, base: float, cap: float) -> float:
    """Exponential backoff with jitter: base * 2^(failures-1), capped, scaled by [0.5, 1)."""
    step = min(cap, base * 2 ** max(0, failures - 1))
    return step * random.uniform(0.5, 1.0)


async def wait_or_stop(stop: asyncio.Event, awaitable: Awaitable[object], timeout: float | None) -> bool:
    """Await `awaitable` for at most `timeout` s (None: no limit), or until `stop`.

    True if it finished by itself (its exception, if any, is raised); otherwise it is cancelled.
    """
    task = asyncio.ensure_future(awaitable)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        done, _ = await asyncio.wait({task, stopper}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            task.result()  # re-raise its error
            return True
        return False
    finally:
        for t in (task, stopper):
            if not t.done():
                t.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        with contextlib.suppress(asyncio.CancelledError):
            await stopper


class _ChannelLoop:
    """poll -> ingest -> wait, with heartbeats and backoff, for one channel."""

    def __init__(self, desk: Desk, settings: ChannelSettings, runner: str, stop: asyncio.Event, once: bool,
                 report: ChannelReport, backoff_base: float, backoff_max: float,
                 executor: Executor | None = None, webhook_url: str | None = None,
                 kick: asyncio.Event | None = None) -> None:
        self.desk = desk
        self.settings = settings
        self.runner = runner
        self.stop = stop
        self.once = once
        self.report = report
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.executor = executor
        self.webhook_url = webhook_url  # where the listener serves this channel, for a service to push to
        self.kick = kick
        self.adapter: Adapter | None = None
        self._beat_at = -HEARTBEAT_SECONDS  # loop time of the last health write
        self._healthy: bool | None = None  # what the store says now: None unknown, True ok, False error

    async def _beat(self, channel: Channel, *, success: bool = False) -> None:
        """Write the heartbeat (or a success) at most every HEARTBEAT_SECONDS/3.

        Every write changes PRAGMA data_version, which TUIs poll to refresh; a quiet
        channel polled every second must not make every console repaint every second.
        A success after an error is written at once.
        """
        now = asyncio.get_running_loop().time()
        due = now - self._beat_at >= HEARTBEAT_SECONDS / 3
        if success and (due or self._healthy is not True):
            await channel_store.record_success(self.desk.db, channel.id)
            if self._healthy is not True:
                await channel_store.record_heartbeat(self.desk.db, channel.id, self.runner)
            self._healthy = True
        elif due:
            await channel_store.record_heartbeat(self.desk.db, channel.id, self.runner)
        else:
            return
        self._beat_at = now

    async def run(self) -> None:
        db = self.desk.db
        channel = await channel_store.ensure_channel(db, self.settings.name, self.settings.kind,
                                                     self.settings.address)
        failures = 0
        try:
            while not self.stop.is_set():
                await self._beat(channel)
                try:
                    if self.adapter is None:
                        from omnidesk.registry import build_adapter

                        self.adapter = build_adapter(self.settings, webhook_url=self.webhook_url)
                    await self._poll(channel)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    failures += 1
                    error = describe(exc)
                    self.report.errors += 1
                    self.report.last_error = error
                    delay = backoff_delay(failures, self.backoff_base, self.backoff_max)
                    if not self.once:  # `sync --status` and doctor show that the daemon keeps trying
                        error = f"retrying in {delay:.1f} s after failure {failures}: {error}"
                    log.warning("channel %s: %s", channel.name, error)
                    await channel_store.record_error(db, channel.id, error)
                    self._healthy = False
                    # A fresh adapter next time: the old connection may be half-dead.
                    await self._close_adapter()
                    if self.once:
                        return
                    await self._backoff(channel, delay)
                    continue
                failures = 0
                self.report.last_error = None
                await self._beat(channel, success=True)
                if self.once:
                    return
                await self._wait_for_changes(channel)
        finally:
            await self._close_adapter()

    async def _poll(self, channel: Channel) -> None:
        from omnidesk.inbound.ingest import ingest_batch

        assert self.adapter is not None
        cursor = await channel_store.get_cursor(self.desk.db, channel.id)
        poll_undecoded = getattr(self.adapter, "poll_undecoded", None)
        pooled = self.executor is not None and poll_undecoded is not None
        batches = poll_undecoded(cursor) if pooled else self.adapter.poll(cursor)  # type: ignore[misc]

        async def written(result: IngestResult) -> None:
            self.report.tally(result)
            if result.imported:
                await settle(self.desk, result, self.kick)
            if not self.stop.is_set():
                await self._beat(channel)

        try:
            if pooled:
                # Parsed in the parser pool while the next batches download; on stop, what was
                # fetched is still written (with its cursor) and nothing more is fetched.
                from omnidesk.inbound.pooled_ingest import ingest_undecoded

                assert self.executor is not None
                await ingest_undecoded(self.desk, channel, self._until_stop(batches), self.executor,
                                       on_written=written)
                return
            async for batch in self._until_stop(batches):
                # Ingesting does not race: the batch and its cursor commit together, then we look at stop.
                await written(await ingest_batch(self.desk, channel, batch))
                if self.stop.is_set():
                    return
        finally:
            aclose: Callable[[], Awaitable[None]] | None = getattr(batches, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(BaseException):
                    await aclose()

    async def _until_stop(self, batches: AsyncIterator[Batch]) -> AsyncIterator[Batch]:
        """The adapter's batches until `stop`.

        Fetching races `stop`: a stop while the adapter waits on the network (or sleeps in
        its own reconnect backoff) abandons the fetch; nothing is lost, the cursor did not move.
        """
        while not self.stop.is_set():
            step = asyncio.ensure_future(anext(batches, None))
            if not await wait_or_stop(self.stop, step, None):
                return
            batch = step.result()
            if batch is None:
                return
            yield batch

    async def _wait_for_changes(self, channel: Channel) -> None:
        """Until the adapter says new records may be there (IDLE push, its poll interval) or stop.

        Bounded by HEARTBEAT_SECONDS, so the loop comes round to refresh the heartbeat.
        """
        assert self.adapter is not None
        try:
            await wait_or_stop(self.stop, self.adapter.wait_for_changes(HEARTBEAT_SECONDS),
                               HEARTBEAT_SECONDS + 5)
        except Exception as exc:  # a dropped IDLE connection: the next poll reconnects or reports
            log.info("channel %s: waiting for changes failed: %s", channel.name, describe(exc))

    async def _backoff(self, channel: Channel, seconds: float) -> None:
        """Sleep `seconds` after a failure (or until stop), refreshing the heartbeat meanwhile."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not self.stop.is_set():
            left = deadline - loop.time()
            if left <= 0:
                return
            await wait_or_stop(self.stop, asyncio.sleep(min(left, HEARTBEAT_SECONDS)), HEARTBEAT_SECONDS + 1)
            if not self.stop.is_set() and deadline - loop.time() > 0:
                await self._beat(channel)

    async def _close_adapter(self) -> None:
        if self.adapter is not None:
            adapter, self.adapter = self.adapter, None
            with contextlib.suppress(Exception):
                await adapter.close()


async def _supervised(body: Callable[[], Awaitable[None]], stop: asyncio.Event, once: bool,
                      what: str) -> None:
    """Run `body`; if it dies of an unexpected error (a bug, a store locked for a minute), restart it."""
    failures = 0
    while True:
        try:
            await body()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            failures += 1
            log.exception("%s crashed; restarting it", what)
            if once or stop.is_set():
                return
            await wait_or_stop(stop, asyncio.sleep(backoff_delay(failures, 1.0, 60.0)), 61)


async def settle(desk: Desk, result: IngestResult, kick: asyncio.Event | None) -> None:
    """After a batch that stored messages commits (polled or pushed): new customer messages move
    SLA clocks, so they are recomputed; then the rules are kicked and new conversations acknowledged."""
    await sla.recompute(desk, result.conversation_ids)
    if kick is not None:
        kick.set()
    await acknowledge(desk)


async def _settle_pushed(desk: Desk, result: IngestResult, kick: asyncio.Event) -> None:
    """`settle` for a pushed batch, in its own task: a failure is logged, not left in the task."""
    try:
        await settle(desk, result, kick)
    except asyncio.CancelledError:
        raise
    except Exception:  # only the recompute raises (acknowledge logs its own): the rest still runs
        log.exception("after a pushed batch: SLA clocks of %d conversation(s) not recomputed",
                      len(result.conversation_ids))
        kick.set()
        await acknowledge(desk)


async def acknowledge(desk: Desk) -> None:
    """Acknowledge new conversations automatically; a failure is logged (they stay for the next scan)."""
    from omnidesk.services.autoack import acknowledge_new

    try:
        acknowledged = await acknowledge_new(desk)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("automatic acknowledgements failed; the conversations wait for the next scan")
        return
    if acknowledged:
        log.info("acknowledged %d new conversation(s) automatically", len(acknowledged))


async def _dispatch(dispatcher: Dispatcher, stop: asyncio.Event, once: bool, report: SyncReport) -> None:
    if once:
        report.outbox.add(await dispatcher.run_once())
        return
    while not stop.is_set():
        try:
            await dispatcher.run(stop)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("outbox dispatcher crashed; restarting it")
            await wait_or_stop(stop, asyncio.sleep(5), 6)


async def _route(route: Route) -> None:
    """One routing pass; a failure is logged (the work stays pending for the next pass)."""
    try:
        await route()
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("routing failed; the conversations stay pending")


async def _routing(route: Route, kick: asyncio.Event, stop: asyncio.Event) -> None:
    """Route after every batch that stored messages, and every ROUTE_SECONDS, until stop."""
    while not stop.is_set():
        await wait_or_stop(stop, kick.wait(), ROUTE_SECONDS)
        if stop.is_set():
            return
        kick.clear()
        await _route(route)


async def _timers(desk: Desk, stop: asyncio.Event, once: bool, report: SyncReport) -> None:
    """Snooze wake-ups (reopened, with an event), SLA escalations and surveys due after a resolve, each
    when its time has come."""
    try:  # calendars or policies changed since the clocks were computed: every open conversation, once
        recomputed = await sla.ensure_current(desk)
        if recomputed is not None:
            log.info("SLA configuration changed: %d conversation(s) recomputed, %d due time(s) moved",
                     recomputed.conversations, recomputed.changed)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("SLA recomputation failed")
    retention_due = 0
    while True:
        if now_ms() >= retention_due:
            retention_due = now_ms() + RETENTION_SECONDS * 1000
            await _retention(desk)
        try:
            next_end = await _timer_pass(desk, report)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("timers failed")
            next_end = None
        if once or stop.is_set():
            return
        wait = TIMER_SECONDS
        if next_end is not None:
            wait = max(0.05, min(wait, (next_end - now_ms()) / 1000))
        await wait_or_stop(stop, asyncio.sleep(wait), wait + 1)


#: How often the timers apply the [retention] policy (seconds).
RETENTION_SECONDS = 3600


async def _retention(desk: Desk) -> None:
    """One pass of the [retention] policy, as the system; a failure is logged, never fatal."""
    from omnidesk.services import privacy

    try:
        plan = await privacy.apply_retention(desk.as_agent(None))
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("retention failed")
        return
    if plan.raw or plan.conversations:
        log.info("retention: raw bytes of %d message(s) and %d conversation(s) removed",
                 len(plan.raw), len(plan.conversations))


async def _timer_pass(desk: Desk, report: SyncReport) -> int | None:
    """Wake snoozes, fire SLA warnings and breaches and ask surveys that are due; when the next one is
    (epoch ms; surveys are looked for on every pass)."""
    from omnidesk.services.surveys import ask_due

    # Read first: a write transaction every few seconds would wake every TUI's refresh.
    next_end = await timers.next_snooze_end(desk.db)
    if next_end is not None and next_end <= now_ms():
        woken = await timers.wake_snoozed(desk.db, now=now_ms())
        if woken:
            log.info("woke %d snoozed conversation(s): %s", len(woken), woken)
            report.woken.extend(woken)
            await sla.recompute(desk, woken)  # their clocks run again
    next_stage = await store_sla.next_stage_at(desk.db)
    if next_stage is not None and next_stage <= now_ms():
        report.escalations.extend(f.stage for f in await escalation.run_due(desk))
    asked = await ask_due(desk)
    if asked:
        log.info("surveys: %d asked or skipped", len(asked))
        report.surveys.extend(asked)
    due = [t for t in (await timers.next_snooze_end(desk.db), await store_sla.next_stage_at(desk.db))
           if t is not None]
    return min(due, default=None)
