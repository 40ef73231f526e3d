"""Ingest of a channel's undecoded batches (`Adapter.poll_undecoded`) through the importer's pool.

    result = await ingest_undecoded(desk, channel, adapter.poll_undecoded(cursor), pool)

The adapter hands over raw records with their decode function (`adapters.base.Batch`);
parser processes (`omnidesk.inbound.importer.make_pool`) decode and prepare them while the
adapter fetches the next batches, and this process writes transactions of about
`importer.BATCH_SIZE` records (`TAIL_BATCH_SIZE` once fetching is done, so the last
one, which nothing overlaps, is short). A batch is never split: each transaction holds
whole batches and the cursor of the last of them, so a crash keeps batches together
with their cursor or neither. A `commit_first` batch is committed before the next is
asked for. Nothing here knows what kind of channel the records come from.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import Executor
from typing import TYPE_CHECKING

from adapters.base import Batch
from omnidesk.desk import Desk
from omnidesk.inbound.importer import BATCH_SIZE, CHUNK_SIZE, TAIL_BATCH_SIZE, prepare_batch_part
from omnidesk.inbound.ingest import IngestResult, PreparedBatch, prepare_update, write_prepared
from omnidesk.model import Channel
from omnidesk.timeutil import now_ms

if TYPE_CHECKING:
    from omnidesk.store.ingest import PreparedRecord, PreparedUpdate

Written = Callable[[IngestResult], Awaitable[None]]

#: Undecoded bytes in the pool at most: with large mail, two transactions' worth of records
#: would be gigabytes.
MAX_IN_FLIGHT_BYTES = 128 * 1024 * 1024


def _parts(batch: Batch) -> list[Batch]:
    """The batch cut into worker-sized pieces (no cursor: that stays with the whole batch)."""
    parts = [Batch(batch.records, None)] if batch.records else []
    items = batch.undecoded
    step = CHUNK_SIZE
    parts += [Batch([], None, undecoded=items[i : i + step], decode=batch.decode)
              for i in range(0, len(items), step)]
    return parts


def _size(batch: Batch) -> int:
    return sum(len(data) for data, _ in batch.undecoded)


async def ingest_undecoded(
    desk: Desk, channel: Channel, batches: AsyncIterator[Batch], executor: Executor,
    *, batch_size: int = BATCH_SIZE, max_bytes: int = MAX_IN_FLIGHT_BYTES, on_written: Written | None = None,
) -> IngestResult:
    """Decode `batches` in `executor`, write them in order in large transactions; the total.

    `on_written(result)` runs after each transaction (heartbeats, reports). At most about
    two transactions' worth of records (and `max_bytes` of undecoded data) are being decoded at a
    time, so a large initial sync does not hold the whole mailbox in memory.
    """
    loop = asyncio.get_running_loop()
    blob_dir = str(desk.blob_dir)
    total = IngestResult()
    decoding: deque[tuple[list[asyncio.Future[list[PreparedRecord]]], Batch]] = deque()
    in_flight = in_flight_bytes = 0  # records (and their undecoded bytes) in the pool, not yet collected
    ready: list[PreparedRecord] = []
    ready_updates: list[PreparedUpdate] = []  # written after the records of the same transaction
    ready_cursor: str | None = None
    ready_batches = 0
    writing: asyncio.Task[None] | None = None
    limit = batch_size  # records per transaction

    async def write(records: list[PreparedRecord], cursor: str | None, updates: list[PreparedUpdate]) -> None:
        prepared = PreparedBatch(records, cursor, now_ms(), updates=updates)
        result = await write_prepared(desk, channel, prepared)
        total.add(result)
        if on_written is not None:
            await on_written(result)

    async def flush() -> None:
        """Start writing what is ready once the previous transaction is in (they land in order)."""
        nonlocal writing, ready, ready_cursor, ready_batches, ready_updates
        if not ready_batches:
            return
        if writing is not None:
            await writing
        writing = asyncio.create_task(write(ready, ready_cursor, ready_updates))
        ready, ready_cursor, ready_batches, ready_updates = [], None, 0, []

    async def collect() -> None:
        """Take the oldest batch's decoded records; write when a transaction's worth is ready."""
        nonlocal in_flight, in_flight_bytes, ready_cursor, ready_batches
        futures, batch = decoding.popleft()
        for future in futures:
            ready.extend(await future)
        ready_updates.extend(prepare_update(u) for u in batch.updates)
        in_flight -= len(batch.records) + len(batch.undecoded)
        in_flight_bytes -= _size(batch)
        ready_cursor = batch.cursor if batch.cursor is not None else ready_cursor
        ready_batches += 1
        if len(ready) >= limit:
            await flush()

    try:
        async for batch in batches:
            futures = [loop.run_in_executor(executor, prepare_batch_part, part, blob_dir)
                       for part in _parts(batch)]
            decoding.append((futures, batch))
            in_flight += len(batch.records) + len(batch.undecoded)
            in_flight_bytes += _size(batch)
            # Collect what is done, or must be (too much in flight); never wait on fetching.
            while decoding and (in_flight > 2 * batch_size or in_flight_bytes > max_bytes
                                or all(f.done() for f in decoding[0][0])):
                await collect()
            if batch.commit_first:
                while decoding:
                    await collect()
                await flush()
                if writing is not None:
                    await writing
        # Fetching is done; the parsers finish what is in flight while shorter transactions land.
        limit = min(batch_size, TAIL_BATCH_SIZE)
        while decoding:
            await collect()
        await flush()
        if writing is not None:
            await writing
    finally:
        for futures, _ in decoding:
            for future in futures:
                future.cancel()
        if writing is not None:
            # Also when it already failed: a task whose error nobody retrieves is logged at exit.
            await asyncio.gather(writing, return_exceptions=True)
    return total
