"""Lazy attachments: the bytes of a file a channel only referenced, fetched when someone wants them.

A chat channel whose files are links that expire or need the bot's token hands over
`Attachment(fetch_ref=...)` (adapters/base.py); ingest stores the reference and no
blob. Opening or saving such a file asks the channel's adapter, built by the registry
from the configured channel, for `fetch_attachment(fetch_ref)`, keeps the bytes as a
content-addressed blob and records it, so every later open reads the blob.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from adapters.base import AdapterError
from omnidesk import blobs
from omnidesk.conversations.attachment_files import SaveReport, safe_name, save_all
from omnidesk.desk import Desk
from omnidesk.errors import UserError
from omnidesk.model import AttachmentInfo
from omnidesk.store import attachments as store_attachments
from omnidesk.textsafe import one_line


def _adapter(desk: Desk, channel_name: str | None) -> Any:
    """The adapter that can fetch files of `channel_name`; UserError saying why there is none."""
    from omnidesk.registry import build_adapter

    if channel_name is None:
        raise UserError("it came on no channel to fetch it from")
    channel = next((c for c in desk.settings.channels if c.name == channel_name), None)
    if channel is None:
        raise UserError(f"channel {one_line(channel_name)!r} is not in the config, so it cannot be fetched")
    adapter = build_adapter(channel)
    if not callable(getattr(adapter, "fetch_attachment", None)):
        raise UserError(f"{channel.kind} channels cannot fetch files")
    return adapter


async def fetch_missing(desk: Desk, channel_name: str | None, attachments: Sequence[AttachmentInfo]
                        ) -> tuple[list[AttachmentInfo], list[tuple[str, str]]]:
    """The attachments whose bytes are in the blob store, fetching lazy ones first, and (name, reason)
    for each that could not be fetched. A fetched one is updated in place (its `sha256` set)."""
    ready: list[AttachmentInfo] = []
    refused: list[tuple[str, str]] = []
    if all(a.fetched for a in attachments):
        return list(attachments), refused
    adapter = None
    problem = None
    try:
        adapter = _adapter(desk, channel_name)
    except (UserError, AdapterError) as exc:
        problem = one_line(str(exc))
    try:
        for a in attachments:
            if a.fetched:
                ready.append(a)
                continue
            if problem is not None or a.fetch_ref is None:
                refused.append((safe_name(a), problem or "its content is missing"))
                continue
            try:
                data = await adapter.fetch_attachment(a.fetch_ref)
                sha = await asyncio.to_thread(blobs.put, desk.blob_dir, data)
            except Exception as exc:  # an adapter's failure, whatever its type, is one line for the agent
                refused.append((safe_name(a), _reason(exc)))
                continue
            await store_attachments.set_blob(desk.db, a.id, sha, len(data))
            a.sha256, a.size = sha, len(data)
            ready.append(a)
    finally:
        if adapter is not None:
            await adapter.close()
    return ready, refused


async def save(desk: Desk, channel_name: str | None, attachments: Sequence[AttachmentInfo],
               directory: Path) -> SaveReport:
    """Fetch what is lazy, then save every attachment into `directory`, one file each (never raises)."""
    ready, refused = await fetch_missing(desk, channel_name, attachments)
    report = await asyncio.to_thread(save_all, desk.blob_dir, ready, directory)
    report.refused[:0] = refused
    return report


async def fetched(desk: Desk, channel_name: str | None, attachment: AttachmentInfo) -> AttachmentInfo:
    """`attachment` with its bytes in the blob store; UserError in one line when they cannot be fetched."""
    ready, refused = await fetch_missing(desk, channel_name, [attachment])
    if refused:
        name, reason = refused[0]
        raise UserError(f"{name}: {reason}")
    return ready[0]


def _reason(exc: BaseException) -> str:
    text = one_line(str(exc)) or type(exc).__name__
    return f"fetching it failed: {text}"
