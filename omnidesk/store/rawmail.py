"""Raw messages (the bytes a message arrived as), stored compressed in the database.

Ingest packs raw bytes of up to INLINE_MAX outside the transaction (`pack`, in
import workers) and inserts them with the message (omnidesk/store/ingest.py),
keyed by sha256 like blobs, so the same bytes are stored once. Larger raw
messages, and those of desks from before schema version 2, are blob files
(omnidesk/blobs.py); `read_raw` finds either.
"""

from __future__ import annotations

import asyncio
import zlib
from pathlib import Path

from omnidesk import blobs
from omnidesk.store.db import Database

#: Raw messages up to this many bytes go into the database; larger ones stay blob files.
INLINE_MAX = 1 << 20
#: Fastest level: mail is small, and every level from 1 to 9 saves about the same here.
_LEVEL = 1


def pack(data: bytes) -> bytes:
    return zlib.compress(data, _LEVEL)


def unpack(packed: bytes) -> bytes:
    return zlib.decompress(packed)


async def read_raw(db: Database, blob_dir: Path, sha: str) -> bytes | None:
    """The raw bytes whose sha256 is `sha` (a message's raw_sha256); None when not stored."""
    row = await db.fetchone("SELECT data FROM raw_messages WHERE sha256 = ?", (sha,))
    if row is not None:
        return unpack(row[0])
    try:
        return await asyncio.to_thread(blobs.read, blob_dir, sha)
    except FileNotFoundError:
        return None
