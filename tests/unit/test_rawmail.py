"""Raw message packing: Zstandard for new rows, zlib rows from earlier versions still read."""

from __future__ import annotations

import threading
import zlib
from pathlib import Path

import pytest

from omnidesk.store import rawmail
from omnidesk.store.db import Database

SAMPLES = [
    b"",
    b"From: a@example.com\r\nSubject: hi\r\n\r\nshort\r\n",
    "Subject: =?utf-8?b?6YCA5qy+?=\n\n退款申請 درخواست بازپرداخت Árvíztűrő tükörfúrógép\n".encode(),
    bytes(range(256)) * 4096,  # a megabyte of bytes that do not compress
]


@pytest.mark.parametrize("raw", SAMPLES, ids=["empty", "ascii", "multilingual", "binary-1mb"])
def test_pack_round_trips_as_a_zstandard_frame(raw: bytes) -> None:
    packed = rawmail.pack(raw)
    assert packed.startswith(b"\x28\xb5\x2f\xfd")
    assert rawmail.unpack(packed) == raw


def test_rows_packed_with_zlib_by_earlier_versions_still_unpack() -> None:
    for raw in SAMPLES:
        assert rawmail.unpack(zlib.compress(raw, 1)) == raw


def test_threads_pack_at_once_without_mixing_frames() -> None:
    messages = [f"Message-ID: <{i}@example.com>\n\nbody {i} ".encode() * (i + 1) for i in range(200)]
    results: dict[int, bytes] = {}

    def work(start: int) -> None:
        for i in range(start, len(messages), 4):
            results[i] = rawmail.pack(messages[i])

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert [rawmail.unpack(results[i]) for i in range(len(messages))] == messages


async def test_read_raw_finds_old_and_new_rows(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "omnidesk.db")
    try:
        old, new = b"Subject: old\n\nzlib row\n", b"Subject: new\n\nzstd row\n"
        async with db.write() as conn:
            await conn.executemany("INSERT INTO raw_messages (sha256, size, data) VALUES (?, ?, ?)",
                                   [("a" * 64, len(old), zlib.compress(old)),
                                    ("b" * 64, len(new), rawmail.pack(new))])
        assert await rawmail.read_raw(db, tmp_path / "blobs", "a" * 64) == old
        assert await rawmail.read_raw(db, tmp_path / "blobs", "b" * 64) == new
        assert await rawmail.read_raw(db, tmp_path / "blobs", "c" * 64) is None
    finally:
        await db.close()
