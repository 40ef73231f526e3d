"""Database connection behaviour: a cancelled write leaves no open transaction; the bulk page cache."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from omnidesk.desk import Desk
from omnidesk.store.db import BULK_CACHE_KIB, Database


@pytest.mark.parametrize("yields_before_cancel", [0, 1, 2, 3, 5, 8])
async def test_cancelled_write_leaves_no_open_transaction(desk: Desk, yields_before_cancel: int) -> None:
    db = desk.db
    entered = asyncio.Event()

    async def writer() -> None:
        async with db.write() as conn:
            entered.set()
            await conn.execute("INSERT INTO tags (name) VALUES ('cancelled')")
            await asyncio.sleep(10)

    task = asyncio.create_task(writer())
    for _ in range(yields_before_cancel):
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert not db.conn.in_transaction
    async with db.write() as conn:  # used to fail: "cannot start a transaction within a transaction"
        await conn.execute("INSERT INTO tags (name) VALUES ('next')")
    names = [row["name"] for row in await db.fetchall("SELECT name FROM tags ORDER BY name")]
    assert names == ["next"]


async def test_bulk_cache_grows_the_page_cache_and_gives_it_back(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "bulk.db")
    try:
        usual = (await db.fetchone("PRAGMA cache_size"))[0]
        with pytest.raises(RuntimeError):
            async with db.bulk_cache():
                assert (await db.fetchone("PRAGMA cache_size"))[0] == -BULK_CACHE_KIB
                raise RuntimeError("an import that fails half-way")
        assert (await db.fetchone("PRAGMA cache_size"))[0] == usual
    finally:
        await db.close()
