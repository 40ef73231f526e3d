"""Content-addressed blob store: stored once, written atomically, read back intact."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest

from omnidesk import blobs


def test_put_read_roundtrip(tmp_path: Path) -> None:
    data = "ügyfél 退款 سلام".encode()
    sha = blobs.put(tmp_path, data)
    assert sha == hashlib.sha256(data).hexdigest()
    assert blobs.path_for(tmp_path, sha) == tmp_path / sha[:2] / sha
    assert blobs.read(tmp_path, sha) == data
    assert blobs.exists(tmp_path, sha)


def test_same_bytes_stored_once(tmp_path: Path) -> None:
    a = blobs.put(tmp_path, b"same")
    mtime = blobs.path_for(tmp_path, a).stat().st_mtime_ns
    assert blobs.put(tmp_path, b"same") == a
    assert blobs.path_for(tmp_path, a).stat().st_mtime_ns == mtime  # not rewritten
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [a]


def test_empty_and_huge(tmp_path: Path) -> None:
    assert blobs.read(tmp_path, blobs.put(tmp_path, b"")) == b""
    big = bytes(range(256)) * (25 * 1024 * 1024 // 256)  # 25 MB, like a big attachment
    assert blobs.read(tmp_path, blobs.put(tmp_path, big)) == big


def test_torn_file_is_replaced(tmp_path: Path) -> None:
    data = b"x" * 1000
    sha = blobs.sha256_hex(data)
    path = blobs.path_for(tmp_path, sha)
    path.parent.mkdir(parents=True)
    path.write_bytes(data[:10])  # what a power cut mid-write could leave
    blobs.put(tmp_path, data)
    assert blobs.read(tmp_path, sha) == data


def test_no_temp_files_left_and_concurrent_puts(tmp_path: Path) -> None:
    payloads = [f"blob {i % 20}".encode() * 1000 for i in range(200)]
    threads = [threading.Thread(target=lambda p=p: blobs.put(tmp_path, p)) for p in payloads]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) == 20
    assert not [p for p in files if p.name.startswith(".tmp")]
    for p in files:
        assert blobs.sha256_hex(p.read_bytes()) == p.name


@pytest.mark.parametrize("bad", ["", "abc", "../" + "a" * 61, "A" * 64])
def test_bad_sha_rejected(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValueError):
        blobs.path_for(tmp_path, bad)
