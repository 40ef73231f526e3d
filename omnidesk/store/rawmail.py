"""Raw messages (the bytes a message arrived as), stored compressed in the database.

Ingest packs raw bytes of up to INLINE_MAX outside the transaction (`pack`, in
import workers) and inserts them with the message (omnidesk/store/ingest.py),
keyed by sha256 like blobs, so the same bytes are stored once. Larger raw
messages, and those of desks from before schema version 2, are blob files
(omnidesk/blobs.py); `read_raw` finds either.

Packed bytes are a Zstandard frame; rows written by earlier versions are zlib
streams, and `unpack` tells them apart by the frame's magic number.
"""

from __future__ import annotations

import asyncio
import threading
import zlib
from pathlib import Path

from omnidesk import blobs
from omnidesk.store.db import Database

try:
    from compression import zstd  # Python 3.14+
except ImportError:
    from backports import zstd

#: Raw messages up to this many bytes go into the database; larger ones stay blob files.
INLINE_MAX = 1 << 20
#: zstd's default: as small as zlib's best here, in less than half the time of zlib's fastest.
_LEVEL = 3
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
#: One compressor per thread: setting one up costs more than compressing a typical message.
_local = threading.local()


def pack(data: bytes) -> bytes:
    compressor = getattr(_local, "compressor", None)
    if compressor is None:
        compressor = _local.compressor = zstd.ZstdCompressor(level=_LEVEL)
    return compressor.compress(data, mode=zstd.ZstdCompressor.FLUSH_FRAME)


def unpack(packed: bytes) -> bytes:
    if packed[:4] == _ZSTD_MAGIC:
        return zstd.decompress(packed)
    return zlib.decompress(packed)  # stored before Zstandard


async def read_raw(db: Database, blob_dir: Path, sha: str) -> bytes | None:
    """The raw bytes whose sha256 is `sha` (a message's raw_sha256); None when not stored."""
    row = await db.fetchone("SELECT data FROM raw_messages WHERE sha256 = ?", (sha,))
    if row is not None:
        return unpack(row[0])
    try:
        return await asyncio.to_thread(blobs.read, blob_dir, sha)
    except FileNotFoundError:
        return None
