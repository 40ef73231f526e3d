"""The outbox dispatcher: claim due replies, send them through their channel, settle.

Guarantees (issue 4, "Sending"):

- **Never twice at once.** A row is claimed with a lease in one UPDATE
  (omnidesk/store/outbox.py); two dispatchers, in one process or many, never
  hold the same row, and every settle checks the lease is still ours.
- **Undo window.** A row is due only after `not_before`; a reply cancelled
  before then is `cancelled` in the store and is never claimed.
- **Retries.** TransientError (4xx, timeouts, refused connections) and any
  unexpected exception go back to `queued` with exponential backoff and jitter
  (or the channel's own `retry_after`); after `max_attempts` the row fails.
  PermanentError (5xx) fails at once with the server's words on the message.
- **Crashes.** A dispatcher killed after claiming leaves a `sending` row whose
  lease expires; the next claim takes it up. A dispatcher starting on the same
  host takes up at once the leases of dispatchers whose process is gone (its
  crashed predecessor); a live one's lease is never touched. Long sends renew
  their lease.

At-least-once window: if a dispatcher dies after the channel accepted a message
but before `mark_sent` committed, the row is sent again after the lease expires.
The payload's `message_ref` (the email Message-ID) was generated and stored
before the first attempt, so the copy is the same message to every receiver:
mail clients and our own ingest (own-echo by Message-ID) recognise the duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from adapters.base import Adapter, Attachment, Outbound, PermanentError, TransientError
from omnidesk.customers.consent import opted_out
from omnidesk.desk import Desk
from omnidesk.outbound import outbound_payload
from omnidesk.runners import runner_gone, runner_id
from omnidesk.store import outbox as store
from omnidesk.timeutil import iso, now_ms, to_ms

log = logging.getLogger(__name__)

#: Builds the adapter that sends for a channel name (default: from desk.settings via the registry).
AdapterFor = Callable[[str], Adapter]


@dataclass(slots=True)
class DispatchStats:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    lost: int = 0  # the lease was taken over before we could settle (we were too slow)
    errors: list[str] = field(default_factory=list)

    def add(self, other: DispatchStats) -> None:
        self.sent += other.sent
        self.retried += other.retried
        self.failed += other.failed
        self.lost += other.lost
        self.errors.extend(other.errors)


class SettingsAdapters:
    """Adapters for sending, built once per channel from the desk's settings."""

    def __init__(self, desk: Desk) -> None:
        self._desk = desk
        self._adapters: dict[str, Adapter] = {}

    def __call__(self, channel_name: str) -> Adapter:
        if channel_name not in self._adapters:
            from omnidesk.errors import ConfigError
            from omnidesk.registry import build_adapter

            channel = self._desk.settings.channel(channel_name)
            if channel is None:
                raise ConfigError(f"channel {channel_name!r} is not in the configuration, so nothing can be "
                                  f"sent through it")
            self._adapters[channel_name] = build_adapter(channel)
        return self._adapters[channel_name]

    async def close(self) -> None:
        for adapter in self._adapters.values():
            with contextlib.suppress(Exception):
                await adapter.close()
        self._adapters.clear()


class Dispatcher:
    """Sends due outbox rows. `run_once` drains what is due now; `run` keeps going until `stop`."""

    def __init__(self, desk: Desk, *, adapter_for: AdapterFor | None = None, owner: str | None = None,
                 lease_seconds: float = 120.0, batch_size: int = 10, concurrency: int = 4,
                 backoff_base: float = 15.0, backoff_max: float = 3600.0, max_attempts: int = 12,
                 poll_seconds: float = 1.0) -> None:
        self.desk = desk
        self.owner = owner or f"{runner_id()}:{uuid.uuid4().hex[:8]}"
        self.lease_ms = int(lease_seconds * 1000)
        self.batch_size = batch_size
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.max_attempts = max_attempts
        self.poll_seconds = poll_seconds
        self._own_adapters = adapter_for is None
        self._adapter_for: AdapterFor = adapter_for or SettingsAdapters(desk)
        self._semaphore = asyncio.Semaphore(concurrency)
        self._poked = asyncio.Event()
        self._reclaimed = False  # the leases of dead predecessors, taken up on the first pass

    def poke(self) -> None:
        """Something was queued or cancelled: look again now instead of at the next poll."""
        self._poked.set()

    async def close(self) -> None:
        if self._own_adapters and isinstance(self._adapter_for, SettingsAdapters):
            await self._adapter_for.close()

    # -- the loop -------------------------------------------------------------

    async def run_once(self) -> DispatchStats:
        """Claim and send batches until nothing is due right now (rows in their undo window wait)."""
        total = DispatchStats()
        if not self._reclaimed:
            await self.reclaim_dead_leases()
            self._reclaimed = True
        while True:
            claimed = await store.claim_due(self.desk.db, owner=self.owner, now=now_ms(),
                                            lease_ms=self.lease_ms, limit=self.batch_size)
            if not claimed:
                return total
            results = await asyncio.gather(*(self._guarded(item) for item in claimed))
            for stats in results:
                total.add(stats)

    async def reclaim_dead_leases(self) -> int:
        """Make the leases of dispatchers whose process is gone (a crash on this host) due now.

        Their rows would otherwise wait out the whole lease. The payload, and so the
        Message-ID, stays: a copy the server did accept before the crash is recognisable.
        """
        dead = [o for o in await store.lease_owners(self.desk.db) if o != self.owner and runner_gone(o)]
        if not dead:
            return 0
        taken = await store.expire_leases(self.desk.db, dead, now=now_ms())
        if taken:
            log.warning("took up %d reply(ies) of dispatchers that died mid-send: %s", taken, ", ".join(dead))
        return taken

    async def run(self, stop: asyncio.Event) -> None:
        """Dispatch until `stop` is set. A send in progress finishes and is settled first.

        Replies queued in this process (desk.outbox_changed) wake it at once.
        """
        unsubscribe = self.desk.outbox_changed.subscribe(self.poke)
        try:
            while not stop.is_set():
                # Cleared before the pass, so a poke that comes during it brings the next pass at once.
                self._poked.clear()
                try:
                    await self.run_once()
                    due = await store.next_due_at(self.desk.db)
                except Exception:
                    # The store is busy beyond its retries or a bug: log, breathe, keep the daemon alive.
                    log.exception("outbox dispatcher pass failed")
                    due = None
                wait = self.poll_seconds
                if due is not None:
                    wait = min(wait, max(0.0, (due - now_ms()) / 1000))
                await _wait_any(stop, self._poked, timeout=wait)
        finally:
            unsubscribe()

    # -- one row --------------------------------------------------------------

    async def _guarded(self, item: store.Claimed) -> DispatchStats:
        async with self._semaphore:
            return await self._send_one(item)

    async def _send_one(self, item: store.Claimed) -> DispatchStats:
        stats = DispatchStats()
        db = self.desk.db
        try:
            adapter = self._adapter_for(item.channel_name)
            outbound = self._outbound(item)
            refusal = await opted_out(self.desk, outbound.to)  # a STOP may have come in the undo window
            if refusal is not None:
                raise PermanentError(refusal)
        except Exception as exc:  # unknown channel, adapter that cannot load, missing blob, opted out
            error = _describe(exc)
            if await store.mark_failed(db, item.id, owner=self.owner, error=error, now=now_ms()):
                stats.failed += 1
                stats.errors.append(error)
            else:
                stats.lost += 1
            return stats

        keeper = asyncio.create_task(self._keep_lease(item))
        try:
            receipt = await adapter.send(outbound)
        except PermanentError as exc:
            error = _describe(exc)
            log.warning("reply %s failed permanently: %s", item.message_id, error)
            settled = await store.mark_failed(db, item.id, owner=self.owner, error=error, now=now_ms())
            stats.failed += settled
            stats.errors.append(error)
        except Exception as exc:  # TransientError, or anything unexpected: retry, bounded
            error = _describe(exc)
            if item.attempts >= self.max_attempts:
                error = f"gave up after {item.attempts} attempts: {error}"
                settled = await store.mark_failed(db, item.id, owner=self.owner, error=error, now=now_ms())
                stats.failed += settled
            else:
                retry_after = exc.retry_after if isinstance(exc, TransientError) else None
                delay = self.backoff(item.attempts, retry_after)
                log.info("reply %s: attempt %d failed (%s), retrying in %.1fs",
                         item.message_id, item.attempts, error, delay)
                now = now_ms()
                settled = await store.mark_retry(db, item.id, owner=self.owner, error=error,
                                                 next_attempt_at=now + int(delay * 1000), now=now)
                stats.retried += settled
            stats.errors.append(error)
        else:
            sent_at = to_ms(receipt.sent_at)
            meta = {"external_id": receipt.external_id, "sent_at": iso(sent_at), "dispatcher": self.owner,
                    **dict(receipt.meta)}
            settled = await store.mark_sent(db, item.id, owner=self.owner, sent_at=sent_at, now=now_ms(),
                                            receipt=meta, refs=(receipt.external_id, *receipt.also_ids),
                                            scope=receipt.scope, state=receipt.state)
            stats.sent += settled
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
        if not settled:
            # Another dispatcher took the row over (our lease expired while we sent): it owns the outcome.
            log.warning("reply %s: lease lost before settling; the new owner settles it", item.message_id)
            stats.lost += 1
        return stats

    def backoff(self, attempts: int, retry_after: float | None = None) -> float:
        """Seconds before the next try: exponential in the attempts so far, with jitter.

        Full jitter in [0.5, 1] of the step keeps many failing replies from retrying in lockstep;
        a channel's own retry_after (HTTP 429, SMTP hints) is honoured when larger.
        """
        step = min(self.backoff_max, self.backoff_base * 2 ** max(0, attempts - 1))
        delay = step * random.uniform(0.5, 1.0)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.backoff_max))
        return delay

    async def _keep_lease(self, item: store.Claimed) -> None:
        """Renew the lease while a slow send runs, so nobody takes the row over from a live sender."""
        interval = self.lease_ms / 3000
        while True:
            await asyncio.sleep(interval)
            try:
                if not await store.extend_lease(self.desk.db, item.id, owner=self.owner,
                                                until=now_ms() + self.lease_ms):
                    return
            except Exception:
                log.exception("could not renew the lease of outbox row %s", item.id)

    def _outbound(self, item: store.Claimed) -> Outbound:
        outbound, refs = outbound_payload.load(item.payload)
        if not refs:
            return outbound
        from omnidesk import blobs

        attachments = tuple(
            Attachment(filename=ref.get("filename", "attachment"),
                       content_type=ref.get("content_type", "application/octet-stream"),
                       data=blobs.read(self.desk.blob_dir, ref["sha256"]))
            for ref in refs
        )
        return replace(outbound, attachments=attachments)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return text if text else type(exc).__name__


async def _wait_any(*events: asyncio.Event, timeout: float) -> None:
    """Return when any event is set or after `timeout` seconds, whichever comes first."""
    if any(e.is_set() for e in events):
        return
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()
