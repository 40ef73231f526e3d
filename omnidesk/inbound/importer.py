"""Bulk import of local mail (a Maildir, an mbox, .eml files) through the normal ingest path.

Parsing, and ingest's lock-free half (`omnidesk.inbound.ingest.prepare_records`: blobs,
JSON, index text), are independent per message, so they run in a process pool
(one worker per core) on chunks of files; the parent writes the prepared
records, in delivery order, with `omnidesk.inbound.ingest.write_prepared`, one batch
(one transaction) at a time, while the workers work on the next chunks and
the next batch fills.
Duplicates are dropped by ingest (channel + Message-ID), so running the same
import twice adds nothing. Empty files are rejected (there is nothing to
keep); anything else that is not a usable message is stored quarantined.
Finding and parsing the messages is the email adapter's: its FileImport,
found through omnidesk/registry.py (`importer_for`).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from adapters.base import Batch, FileImport, Inbound, SourceError
from adapters.base import LocalMessage as Job
from omnidesk.desk import Desk
from omnidesk.errors import UserError
from omnidesk.model import Channel

if TYPE_CHECKING:
    from omnidesk.store.ingest import PreparedRecord

#: Records per ingest transaction. Large: each commit rewrites every index page its records
#: touch, and Message-ID and hash keys are random, so a batch of 500 rewrote about one page per
#: record per index; 5,000 share pages and halve the pages written (and the system time).
BATCH_SIZE = 5000
#: Records per transaction near the end, where nothing is left to parse: the last batches are
#: written while the parsers stand idle, so they are kept short.
TAIL_BATCH_SIZE = 500
#: Files per task sent to a worker (amortises inter-process overhead).
CHUNK_SIZE = 64
#: Below this many messages a pool costs more than it saves.
POOL_THRESHOLD = 300
#: How much parser processes step back for others (os.nice). The writer, this process, is the
#: serial part of an import: with one parser per core, parsers holding the cores the writer
#: wanted stalled it for a third of an import. Agents on the same host stay responsive too.
PARSER_NICENESS = 10
#: Channel kind given to channels created by an import.
IMPORT_KIND = "import"
#: The adapter kind whose file formats (maildir, mbox, eml) `omnidesk import` reads.
FILES_KIND = "email"


class Quarantined(NamedTuple):
    """A message stored quarantined: where it came from and why."""

    file: str
    offset: int | None  # where the message starts in an mbox; None for a whole file
    reason: str  # the record's first defect

    def source(self) -> str:
        return self.file if self.offset is None else f"{self.file} (byte {self.offset})"


@dataclass(slots=True)
class ImportSummary:
    files: int = 0  # distinct files read; an mbox holds many messages
    imported: int = 0
    duplicates: int = 0
    quarantined: int = 0
    rejected: int = 0  # empty files: nothing to keep
    seconds: float = 0.0
    conversation_ids: set[int] = field(default_factory=set)
    quarantine: list[Quarantined] = field(default_factory=list)  # in delivery order

    @property
    def messages(self) -> int:
        """Messages read: imported or found a duplicate (empty files hold none)."""
        return self.imported + self.duplicates

    @property
    def rate(self) -> float:
        """Outcomes per second: messages and empty files."""
        return (self.messages + self.rejected) / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        text = (f"imported {self.imported}, duplicates {self.duplicates}, quarantined {self.quarantined}, "
                f"{self.seconds:.1f} s, {self.rate:,.0f} messages/s")
        if self.rejected:
            text += f" ({self.rejected} empty files rejected)"
        return text + f"; {self.messages} messages from {self.files} files"


# -- finding the messages -------------------------------------------------------------


@cache
def _files() -> FileImport:
    """The FileImport of FILES_KIND (looked up once per process, parser processes included)."""
    from omnidesk.registry import importer_for

    return importer_for(FILES_KIND)


def find_jobs(fmt: str, paths: Sequence[Path]) -> list[Job]:
    """Every message of `paths` in format `fmt`, in delivery order; UserError naming a bad path."""
    try:
        return _files().find(fmt, paths)
    except SourceError as exc:
        raise UserError(str(exc)) from exc


def maildir_jobs(path: Path) -> list[Job]:
    """Every message of a Maildir (new/ and cur/), in delivery order."""
    return find_jobs("maildir", [path])


def mbox_jobs(path: Path) -> list[Job]:
    """Every message of an mbox file."""
    return find_jobs("mbox", [path])


def eml_jobs(paths: Sequence[Path]) -> list[Job]:
    """One job per file; a file that turns out to be an mbox of several messages is split."""
    return find_jobs("eml", paths)


# -- parsing (runs in worker processes) ---------------------------------------------


#: Bytes asked of each read(2) while reading a job: most mail fits in one.
_READ_SIZE = 1 << 16


def _read(job: Job) -> bytes:
    """The job's bytes, read with os.read: a buffered file object adds system calls (fstat,
    ioctl) and a copy per message: about a tenth of a typical message's parse."""
    fd = os.open(job.path, os.O_RDONLY)
    try:
        if job.offset:
            os.lseek(fd, job.offset, os.SEEK_SET)
        left = job.length if job.length >= 0 else None
        chunks: list[bytes] = []
        while left is None or left > 0:
            chunk = os.read(fd, _READ_SIZE if left is None else min(left, _READ_SIZE))
            if not chunk:
                break
            chunks.append(chunk)
            if left is not None:
                left -= len(chunk)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)
    finally:
        os.close(fd)


def parse_jobs(jobs: Sequence[Job]) -> list[Inbound | None]:
    """Parse each job's message; None for an empty or vanished file. Never raises."""
    parse = _files().parse
    out: list[Inbound | None] = []
    for job in jobs:
        try:
            raw = _read(job)
        except OSError:
            out.append(None)
            continue
        if not raw.strip():
            out.append(None)
            continue
        when = datetime.fromtimestamp(job.received_ts, UTC) if job.received_ts is not None else None
        out.append(parse(raw, when))
    return out


def known_jobs(jobs: Sequence[Job], known: set[str]) -> list[bool]:
    """For each job: is its message already stored (its Message-ID is in `known`)?

    Reads only the header block (FileImport.message_id); a message without a
    usable Message-ID is never "known" here and gets the full parse, after
    which ingest decides with the synthetic id.
    """
    message_id = _files().message_id
    out = []
    for job in jobs:
        try:
            raw = _read(job)
        except OSError:
            out.append(False)
            continue
        out.append(message_id(raw) in known)
    return out


def _start_worker(parent: int) -> None:
    """Exit with the parent (a `kill -9` of an import must not leave parsers behind); lower the
    worker's priority; import and compile what parsing needs once, not in the first chunk."""
    from omnidesk.parentwatch import die_with_parent

    die_with_parent(parent)
    if hasattr(os, "nice"):
        os.nice(PARSER_NICENESS)
    _files().parse(b"From: a@b.example\nSubject: warm\n\nBest regards,\nA\n", None)


def make_pool(workers: int | None = None) -> ProcessPoolExecutor:
    """A pool of parser processes (default: one per core), started now.

    Workers are forked, and forked at once: call this before opening the desk
    (the CLI does), so the children copy a process without aiosqlite's thread.
    Not spawn/forkserver: those re-run the `__main__` module in every worker,
    which for `python -m omnidesk` is the whole CLI. Workers exit when this process
    dies (omnidesk/parentwatch.py); call from a thread that outlives the pool.
    """
    count = workers or os.cpu_count() or 1
    context = get_context("fork" if os.name == "posix" else "spawn")
    pool = ProcessPoolExecutor(max_workers=count, mp_context=context, initializer=_start_worker,
                               initargs=(os.getpid(),))
    pool.submit(os.getpid).result()  # with fork, every worker starts on the first submit
    return pool


def wants_pool(jobs: Sequence[Job], workers: int | None) -> bool:
    return workers != 0 and len(jobs) >= POOL_THRESHOLD


# -- importing ------------------------------------------------------------------------


async def resolve_channel(desk: Desk, name: str) -> Channel:
    """The channel called `name`; created with kind "import" when it does not exist."""
    from omnidesk.store.channels import ensure_channel, get_channel

    if not name.strip():
        raise UserError("--channel needs a name")
    channel = await get_channel(desk.db, name)
    if channel is None:
        channel = await ensure_channel(desk.db, name, IMPORT_KIND, None)
    return channel


def prepare_jobs(jobs: Sequence[Job], blob_dir: str) -> tuple[list[PreparedRecord], list[int]]:
    """Parse and prepare (ingest's lock-free half: blobs, JSON, index text) in a worker.

    Returns the prepared records in job order and the positions of the jobs that were empty.
    """
    from omnidesk.inbound.ingest import prepare_records
    from omnidesk.timeutil import now_ms

    parsed = parse_jobs(jobs)
    records = [record for record in parsed if record is not None]
    prepared = prepare_records(records, Path(blob_dir), now_ms())
    return prepared, [i for i, record in enumerate(parsed) if record is None]


def prepare_batch_part(batch: Batch, blob_dir: str) -> list[PreparedRecord]:
    """Decode a channel's undecoded records (`Batch.decode`) and prepare them all, in a worker."""
    from omnidesk.inbound.ingest import prepare_records
    from omnidesk.timeutil import now_ms

    return prepare_records(batch.decoded(), Path(blob_dir), now_ms())


async def import_jobs(
    desk: Desk,
    channel: Channel,
    jobs: Sequence[Job],
    *,
    workers: int | None = None,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
    executor: Executor | None = None,
) -> ImportSummary:
    """Parse `jobs` (in parallel when there are many) and ingest them in order, in batches.

    Workers parse and prepare; this process only runs the write transactions
    (`omnidesk.inbound.ingest.write_prepared`, one per batch). `workers=0` does
    everything here. `progress(n)` is called with the number of messages done.
    """
    from omnidesk.inbound.ingest import PreparedBatch, write_prepared
    from omnidesk.store.ingest import channel_external_ids
    from omnidesk.timeutil import now_ms

    summary = ImportSummary(files=len({job.path for job in jobs}))
    started = time.perf_counter()
    pending: list[PreparedRecord] = []
    pending_jobs: list[Job] = []  # the job of each pending record
    blob_dir = str(desk.blob_dir)
    writing: asyncio.Task[None] | None = None  # the batch being written while the next one fills
    left = len(jobs)  # messages not yet back from parsing

    async def write(records: list[PreparedRecord], sources: list[Job]) -> None:
        result = await write_prepared(desk, channel, PreparedBatch(records, None, now_ms()))
        summary.imported += result.imported
        summary.duplicates += result.duplicates
        summary.quarantined += result.quarantined
        summary.conversation_ids.update(result.conversation_ids)
        for index, reason in result.quarantine:
            job = sources[index]
            summary.quarantine.append(Quarantined(job.path, job.offset if job.length >= 0 else None, reason))
        if progress:
            progress(len(records))

    async def flush(size: int) -> None:
        """Start writing the first `size` pending records once the previous batch is in (in order)."""
        nonlocal writing
        records, sources = pending[:size], pending_jobs[:size]
        del pending[:size], pending_jobs[:size]
        if writing is not None:
            await writing
        writing = asyncio.create_task(write(records, sources))

    async def take(chunk: Sequence[Job], result: tuple[list[PreparedRecord], list[int]]) -> None:
        nonlocal left
        records, empty = result
        summary.rejected += len(empty)
        left -= len(chunk)
        if empty and progress:
            progress(len(empty))
        pending.extend(records)
        skip = set(empty)
        pending_jobs.extend(job for i, job in enumerate(chunk) if i not in skip)
        size = batch_size if left >= 2 * batch_size else min(batch_size, TAIL_BATCH_SIZE)
        while len(pending) >= size:
            await flush(size)

    async with desk.db.bulk_cache():
        try:
            # A re-run: drop mail whose Message-ID the channel already holds before parsing it (a
            # header scan costs a few percent of a parse). A first import has nothing to look up.
            known = await channel_external_ids(desk.db, channel.id) if jobs else set()
            if known:
                flags: list[bool] = []
                for i in range(0, len(jobs), 2048):
                    flags += await asyncio.to_thread(known_jobs, jobs[i : i + 2048], known)
                fresh = [job for job, seen in zip(jobs, flags, strict=True) if not seen]
                summary.duplicates += len(jobs) - len(fresh)
                if progress and len(fresh) < len(jobs):
                    progress(len(jobs) - len(fresh))
                jobs = fresh
                left = len(jobs)
            chunks = [jobs[i : i + CHUNK_SIZE] for i in range(0, len(jobs), CHUNK_SIZE)]
            if executor is None and not wants_pool(jobs, workers):
                for chunk in chunks:
                    await take(chunk, await asyncio.to_thread(prepare_jobs, chunk, blob_dir))
            else:
                await _prepare_in_pool(chunks, blob_dir, take, workers, executor,
                                       in_flight=max(16 * (workers or os.cpu_count() or 1),
                                                     batch_size // CHUNK_SIZE))
            if pending:
                await flush(len(pending))
            if writing is not None:
                await writing
        finally:
            # Also when it already failed: a task whose error nobody retrieves is logged at exit.
            if writing is not None:
                writing.cancel()  # no-op once done
                await asyncio.gather(writing, return_exceptions=True)
    summary.seconds = time.perf_counter() - started
    return summary


async def _prepare_in_pool(
    chunks: list[Sequence[Job]],
    blob_dir: str,
    take: Callable[[Sequence[Job], tuple[list[PreparedRecord], list[int]]], Awaitable[None]],
    workers: int | None,
    executor: Executor | None,
    in_flight: int,
) -> None:
    """Prepare `chunks` in parser processes and hand each result to `take`, in order.

    `in_flight` chunks are queued ahead, so the workers stay busy while `take` waits for a
    write transaction.
    """
    pool = executor or make_pool(workers)
    loop = asyncio.get_running_loop()
    queue: deque[tuple[Sequence[Job], asyncio.Future[tuple[list[PreparedRecord], list[int]]]]] = deque()
    try:
        for chunk in chunks:
            queue.append((chunk, loop.run_in_executor(pool, prepare_jobs, chunk, blob_dir)))
            if len(queue) >= in_flight:
                done, future = queue.popleft()
                await take(done, await future)
        while queue:
            done, future = queue.popleft()
            await take(done, await future)
    finally:
        for _, future in queue:
            future.cancel()
        if executor is None:
            pool.shutdown(wait=True, cancel_futures=True)


async def import_maildir(desk: Desk, channel: Channel, path: Path, **kwargs: object) -> ImportSummary:
    return await import_jobs(desk, channel, await asyncio.to_thread(maildir_jobs, path), **kwargs)  # type: ignore[arg-type]


async def import_mbox(desk: Desk, channel: Channel, path: Path, **kwargs: object) -> ImportSummary:
    return await import_jobs(desk, channel, await asyncio.to_thread(mbox_jobs, path), **kwargs)  # type: ignore[arg-type]


async def import_eml(desk: Desk, channel: Channel, paths: Sequence[Path], **kwargs: object) -> ImportSummary:
    return await import_jobs(desk, channel, await asyncio.to_thread(eml_jobs, paths), **kwargs)  # type: ignore[arg-type]
