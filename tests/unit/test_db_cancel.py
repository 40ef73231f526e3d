"""A write cancelled at any await never leaves the shared connection inside a transaction."""

from __future__ import annotations

import asyncio

import pytest

from omnidesk.desk import Desk


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
