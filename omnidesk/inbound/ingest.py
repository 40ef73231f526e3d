"""Inbound records -> customer -> conversation -> persisted message, one transaction per batch.

The expensive, lock-free part (normalising addresses, JSON, full-text
preparation, hashing and compressing raw bytes, writing attachment blobs) runs
in a worker thread before the write transaction; the transaction itself
(omnidesk/store/ingest.py) only does lookups, the placement decisions made
above it (omnidesk/inbound/placement.py) and inserts (raw bytes included, omnidesk/store/rawmail.py),
then stores the batch's cursor, so a crash keeps both the records and the cursor or neither.
Re-delivered records are recognised by their references (channel, scope, id) and skipped;
the batch's updates (edits, deletions, delivery changes) are applied in the same transaction.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TypeVar

from adapters.base import (
    FLAG_AUTO_REPLY,
    FLAG_BOUNCE,
    FLAG_OWN_ECHO,
    FLAG_QUARANTINED,
    Address,
    Attachment,
    Batch,
    Deletion,
    DeliveryChange,
    Edit,
    Inbound,
    Update,
    valid_text,
)
from omnidesk import blobs
from omnidesk.customers.identity import display_name, try_normalise
from omnidesk.desk import Desk
from omnidesk.inbound.placement import place
from omnidesk.inbound.threading import Windows, strip_token, subject_token
from omnidesk.model import Channel
from omnidesk.store import ingest as store
from omnidesk.store import rawmail
from omnidesk.store.refusals import RecordRefused
from omnidesk.timeutil import now_ms, offset_minutes, to_ms

T = TypeVar("T")


@dataclass(slots=True)
class IngestResult:
    imported: int = 0
    duplicates: int = 0
    quarantined: int = 0
    conversation_ids: list[int] = field(default_factory=list)
    message_ids: list[int] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)  # threading rule per imported message
    #: (index in the batch written, reason) per record stored quarantined; one write's, not summed by `add`.
    quarantine: list[tuple[int, str]] = field(default_factory=list)
    updated: int = 0  # edits, deletions, delivery changes that changed a message
    pending_updates: int = 0  # updates kept until their message arrives

    def add(self, other: IngestResult) -> None:
        self.imported += other.imported
        self.duplicates += other.duplicates
        self.quarantined += other.quarantined
        self.updated += other.updated
        self.pending_updates += other.pending_updates
        seen = set(self.conversation_ids)
        self.conversation_ids += [c for c in other.conversation_ids if c not in seen]
        self.message_ids += other.message_ids
        self.rules += other.rules


def _external_id(rec: Inbound) -> str:
    """The record's id on its channel; a content-derived one when the adapter gave none.

    Valid Unicode whatever the adapter gave: the id is looked up before anything is stored.
    """
    return valid_text(rec.external_id) or f"sha256:{rec.content_hash}"


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str)


def _dumps(value: object) -> str:
    if not value:  # most records have no refs, defects or meta
        return "{}" if isinstance(value, dict) else "[]"
    return _ENCODER.encode(value)


def _address_dict(a: Address, role: str) -> dict[str, str]:
    return {"kind": a.kind, "address": try_normalise(a.kind, a.address) or a.address.strip(),
            "display_name": display_name(a.display_name), "role": role}


def prepare_records(records: list[Inbound], blob_dir: Path, now: int) -> list[store.PreparedRecord]:
    """Everything about the records that needs no database (in an import worker process).

    Blob files (attachments, very large raw messages) are written here, one after
    another: file creation lands in the page cache and costs CPU, not waiting
    (measured: a thread pool made it slower).
    """
    for sha, data in _blob_payloads(records).items():
        blobs.put(blob_dir, data, sha=sha)
    return [_prepare(r, now) for r in records]


def _blob_payloads(records: list[Inbound]) -> dict[str, bytes]:
    """What goes to blob files: attachments, and raw messages too large for the database."""
    payloads: dict[str, bytes] = {}
    for rec in records:
        if rec.raw is not None and len(rec.raw) > rawmail.INLINE_MAX:
            payloads[blobs.sha256_hex(rec.raw)] = rec.raw
        for a in rec.attachments:
            if not _lazy(a):
                payloads[blobs.sha256_hex(a.data)] = a.data
    return payloads


def _lazy(a: Attachment) -> bool:
    """A reference to fetch when someone opens the file (adapters.base.Attachment)."""
    return a.fetch_ref is not None and not a.data


def _put_blobs(records: list[Inbound], blob_dir: Path) -> None:
    """Write every blob of the batch; file creation is I/O bound, so several threads share it."""
    payloads = _blob_payloads(records)
    if len(payloads) < 8:
        for sha, data in payloads.items():
            blobs.put(blob_dir, data, sha=sha)
        return
    list(_blob_pool().map(lambda item: blobs.put(blob_dir, item[1], sha=item[0]), payloads.items()))


_POOL: ThreadPoolExecutor | None = None
_POOL_PID = 0


def _blob_pool() -> ThreadPoolExecutor:
    global _POOL, _POOL_PID
    if _POOL is None or os.getpid() != _POOL_PID:  # a forked worker does not inherit the threads
        _POOL = ThreadPoolExecutor(max_workers=16, thread_name_prefix="omnidesk-blobs")
        _POOL_PID = os.getpid()
    return _POOL


def _prepare(rec: Inbound, now: int) -> store.PreparedRecord:
    sender_address = try_normalise(rec.sender.kind, rec.sender.address)
    sender_name = display_name(rec.sender.display_name)
    sent_at = to_ms(rec.sent_at)
    raw = rec.raw
    raw_sha = blobs.sha256_hex(raw) if raw is not None else None
    raw_packed = rawmail.pack(raw) if raw is not None and len(raw) <= rawmail.INLINE_MAX else None
    attachments = [
        store.PreparedAttachment(a.filename, a.content_type, a.size or 0, "", a.content_id, a.inline,
                                 a.fetch_ref)
        if _lazy(a) else
        store.PreparedAttachment(a.filename, a.content_type, len(a.data), blobs.sha256_hex(a.data),
                                 a.content_id, a.inline)
        for a in rec.attachments
    ]
    recipients = [_address_dict(a, "to") for a in rec.recipients] + [_address_dict(a, "cc") for a in rec.cc]
    quarantined = FLAG_QUARANTINED in rec.flags
    text = rec.text or ""
    language, confident = _language(rec, text, quarantined)
    sender_text = f"{sender_name} {sender_address or rec.sender.address}".strip()
    return store.PreparedRecord(
        external_id=_external_id(rec),
        sender_kind=rec.sender.kind,
        sender_address=sender_address,
        sender_raw=rec.sender.address or "",
        sender_name=sender_name,
        subject=rec.subject or "",
        conversation_subject=strip_token(rec.subject or ""),
        text=text,
        # Stored only when folding changed something: a copy of the text was a fifth of the database.
        display_text="" if rec.display_text is None or rec.display_text == text else rec.display_text,
        html=rec.html,
        language=language,
        language_confident=confident,
        recipients=recipients,
        recipients_json=_dumps(recipients),
        thread_refs=tuple(r for r in rec.thread_refs if r),
        thread_refs_json=_dumps(list(rec.thread_refs)),
        flags=tuple(sorted(rec.flags)),
        flags_json=_dumps(sorted(rec.flags)),
        defects_json=_dumps(list(rec.defects)),
        meta_json=_dumps(dict(rec.meta)),
        raw_sha256=raw_sha,
        raw_packed=raw_packed,
        raw_size=len(raw) if raw is not None else 0,
        content_hash=rec.content_hash,
        has_raw=raw is not None,
        at=min(sent_at, now),  # a sender's clock (or a spammer) must not pin a thread to the top
        sent_at=sent_at,
        sent_tz_offset=offset_minutes(rec.sent_at) if rec.sent_at.tzinfo else None,
        token=subject_token(rec.subject or ""),
        chat_like=rec.chat_like,
        quarantined=quarantined,
        own_echo=FLAG_OWN_ECHO in rec.flags,
        fts=store.fts_values(rec.subject or "", text, sender_text),
        attachments=attachments,
        automated=FLAG_AUTO_REPLY in rec.flags or FLAG_BOUNCE in rec.flags,
        report=_report_dict(rec),
        also_known_as=_known_as(rec, sender_address) if rec.also_known_as else (),
        scope=valid_text(rec.scope),
        also_ids=tuple(valid_text(i) for i in rec.also_ids if i and i != rec.external_id),
    )


def _language(rec: Inbound, text: str, quarantined: bool) -> tuple[str | None, bool]:
    """The message's language: the adapter's when it says, else detected on the folded text."""
    if rec.language:
        return rec.language, True
    if quarantined:
        return None, False
    from omnidesk.customers.language import detect

    found = detect(rec.display_text or text) or (detect(rec.subject) if rec.subject else None)
    return (found.language, found.confident) if found is not None else (None, False)


def _known_as(rec: Inbound, sender_address: str | None) -> tuple[tuple[str, str, str], ...]:
    """The sender's other identities, normalised (a Telegram phone in E.164); invalid ones dropped."""
    found: dict[tuple[str, str], str] = {}
    for a in rec.also_known_as:
        address = try_normalise(a.kind, a.address)
        if address is not None and (a.kind, address) != (rec.sender.kind, sender_address):
            found.setdefault((a.kind, address), display_name(a.display_name))
    return tuple((kind, address, name) for (kind, address), name in found.items())


def prepare_update(update: Update) -> store.PreparedUpdate:
    """An adapter's Edit, Deletion or DeliveryChange as the store applies it."""
    scope, ref = valid_text(update.scope), valid_text(update.external_id)
    if isinstance(update, Edit):
        return store.PreparedUpdate("edit", scope, ref, to_ms(update.edited_at), text=valid_text(update.text),
                                    html=None if update.html is None else valid_text(update.html))
    if isinstance(update, Deletion):
        return store.PreparedUpdate("deletion", scope, ref, to_ms(update.deleted_at))
    assert isinstance(update, DeliveryChange)
    return store.PreparedUpdate("delivery", scope, ref, to_ms(update.at), state=update.state,
                                code=valid_text(update.code), detail=valid_text(update.detail))


def _report_dict(rec: Inbound) -> dict[str, object] | None:
    r = rec.report
    if r is None:
        return None
    # The remote words, with the status code in front unless they carry it already.
    reason = r.diagnostic if r.status and r.status in r.diagnostic else f"{r.status} {r.diagnostic}".strip()
    return {"message_ref": r.message_ref, "state": r.state, "status": r.status, "diagnostic": r.diagnostic,
            "reason": reason, "recipients": list(r.recipients)}


def _prepare_all(records: list[Inbound], blob_dir: Path, now: int) -> list[store.PreparedRecord]:
    _put_blobs(records, blob_dir)
    return [_prepare(r, now) for r in records]


@dataclass(slots=True)
class PreparedBatch:
    """A batch after the lock-free work (blobs written, text prepared), ready to write."""

    records: list[store.PreparedRecord]
    cursor: str | None
    now: int
    skipped: int = 0  # records already stored on the channel, dropped before any work
    updates: list[store.PreparedUpdate] = field(default_factory=list)  # applied after the records


async def prepare_batch(desk: Desk, batch: Batch, channel: Channel | None = None) -> PreparedBatch:
    """The part of ingest that needs no transaction; importers may overlap it with `write_prepared`.

    With `channel`, records whose (channel, external_id) is already stored are dropped first
    (one indexed read), so a re-run import or a resync writes no blobs for them. Messages are
    never deleted, so a record seen here stays a duplicate; the transaction checks the rest.
    """
    now = now_ms()
    records = list(batch.records)
    skipped = 0
    if channel is not None and records:
        known = await store.known_external_ids(desk.db, channel.id,
                                               [(r.scope, _external_id(r)) for r in records])
        if known:
            kept = [r for r in records if (r.scope, _external_id(r)) not in known]
            skipped, records = len(records) - len(kept), kept
    prepared = await asyncio.to_thread(_prepare_all, records, desk.blob_dir, now) if records else []
    return PreparedBatch(prepared, batch.cursor, now, skipped, [prepare_update(u) for u in batch.updates])


async def write_prepared(desk: Desk, channel: Channel, prepared: PreparedBatch) -> IngestResult:
    """Persist a prepared batch and its cursor in ONE transaction; safe to repeat."""
    if not prepared.records and prepared.cursor is None and not prepared.updates:
        return IngestResult(duplicates=prepared.skipped)
    s = desk.settings.desk
    windows = Windows.from_settings(s.continuity_window_hours, s.reopen_window_days)
    try:
        outcome = await _write(desk, channel, prepared, windows, careful=False)
    except RecordRefused:
        # Rolled back with its batch: write it again, a refused record quarantined, the rest as usual.
        outcome = await _write(desk, channel, prepared, windows, careful=True)
    return IngestResult(outcome.imported, outcome.duplicates + prepared.skipped, outcome.quarantined,
                        outcome.conversation_ids, outcome.message_ids, outcome.decisions, outcome.quarantine,
                        outcome.updates.applied, outcome.updates.pending)


async def _write(desk: Desk, channel: Channel, prepared: PreparedBatch, windows: Windows,
                 careful: bool) -> store.BatchOutcome:
    async with desk.db.write() as conn:
        return await store.write_batch(conn, channel.id, prepared.records, prepared.cursor,
                                       partial(place, windows=windows), prepared.now, careful=careful,
                                       updates=prepared.updates)


class _RolledBack(Exception):
    """Carries the inspection's value out of the transaction it rolls back."""

    def __init__(self, value: object) -> None:
        self.value = value


async def rehearse(desk: Desk, channel: Channel, batch: Batch,
                   inspect: Callable[[IngestResult], Awaitable[T]]) -> T:
    """Write `batch` as ingest would, let `inspect` read the store as it then is, and roll
    everything back (`omnidesk rules test FILE.eml`). Give records without raw bytes or
    attachment data, so no blob file is written either."""
    prepared = await prepare_batch(desk, batch, channel)
    s = desk.settings.desk
    windows = Windows.from_settings(s.continuity_window_hours, s.reopen_window_days)
    try:
        async with desk.db.write() as conn:
            outcome = await store.write_batch(conn, channel.id, prepared.records, None,
                                              partial(place, windows=windows), prepared.now, careful=True)
            raise _RolledBack(await inspect(IngestResult(
                outcome.imported, outcome.duplicates + prepared.skipped, outcome.quarantined,
                outcome.conversation_ids, outcome.message_ids, outcome.decisions)))
    except _RolledBack as done:
        return done.value  # type: ignore[return-value]


async def ingest_batch(desk: Desk, channel: Channel, batch: Batch) -> IngestResult:
    """Persist one adapter batch and its cursor in ONE transaction; safe to repeat.

    Duplicates (channel, external_id), our own mail coming back and raw-identical
    resyncs are counted in `duplicates` and change nothing.
    """
    if not batch.records and batch.cursor is None and not batch.updates:
        return IngestResult()
    return await write_prepared(desk, channel, await prepare_batch(desk, batch, channel))


async def ingest_records(desk: Desk, channel: Channel, records: Iterable[Inbound], cursor: str | None = None,
                         batch_size: int = 500) -> IngestResult:
    """Ingest any number of records in batches of `batch_size`; `cursor` goes with the last batch.

    The next batch is prepared (blobs, text) while the current one is written.
    """
    chunks = _chunked(records, batch_size)
    total = IngestResult()
    pending = asyncio.ensure_future(prepare_batch(desk, Batch(next(chunks, []), None), channel))
    try:
        while True:
            following = next(chunks, None)
            prepared = await pending
            if following is None:
                prepared.cursor = cursor
                total.add(await write_prepared(desk, channel, prepared))
                return total
            pending = asyncio.ensure_future(prepare_batch(desk, Batch(following, None), channel))
            total.add(await write_prepared(desk, channel, prepared))
    finally:
        if not pending.done():
            pending.cancel()


def _chunked(records: Iterable[Inbound], size: int) -> Iterator[list[Inbound]]:
    chunk: list[Inbound] = []
    for record in records:
        chunk.append(record)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
