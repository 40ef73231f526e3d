"""Content-addressed files under the data dir: attachments, and raw messages kept as files.

`<blob_dir>/<sha[:2]>/<sha>`: the same bytes are stored once however many
messages carry them. A write goes to a temp file in the same directory and is
renamed into place, so a crash never leaves a half-written blob under its
final name; blobs are written before the transaction that refers to them, so a
crash can leave an unreferenced blob (harmless) but never a dangling reference.
Raw messages are files only when over 1 MiB or stored before schema version 2;
the rest live in the database (omnidesk/store/rawmail.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from pathlib import Path


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def path_for(blob_dir: Path, sha: str) -> Path:
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise ValueError(f"not a sha256 hex digest: {sha!r}")
    return Path(blob_dir) / sha[:2] / sha


#: Fan-out directories known to exist (saves a mkdir syscall per blob in bulk imports).
_MADE: set[Path] = set()


def put(blob_dir: Path, data: bytes, *, sha: str | None = None) -> str:
    """Store `data` and return its sha256 hex; skips the write when already present.

    An existing file of the wrong size (a torn write after a power cut) is replaced.
    Safe from several threads and processes at once: each writes its own temp file.
    """
    sha = sha or sha256_hex(data)
    target = path_for(blob_dir, sha)
    try:
        if target.stat().st_size == len(data):
            return sha
    except FileNotFoundError:
        pass
    parent = target.parent
    if parent not in _MADE:
        parent.mkdir(parents=True, exist_ok=True)
        _MADE.add(parent)
    tmp = parent / f".tmp-{sha[:16]}-{os.getpid()}-{threading.get_ident()}"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    except FileNotFoundError:
        _MADE.discard(parent)  # the directory went away under us (tests, manual cleanup): retry once
        parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return sha


def read(blob_dir: Path, sha: str) -> bytes:
    return path_for(blob_dir, sha).read_bytes()


def remove(blob_dir: Path, sha: str) -> None:
    """Delete a blob's file (an erasure's, once nothing refers to it); a missing one is fine."""
    path_for(blob_dir, sha).unlink(missing_ok=True)


def exists(blob_dir: Path, sha: str) -> bool:
    return path_for(blob_dir, sha).is_file()
