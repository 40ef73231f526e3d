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


async def _tags(db: Database) -> list[str]:
    return [row["name"] for row in await db.fetchall("SELECT name FROM tags ORDER BY name")]


async def test_a_write_inside_a_write_joins_it_and_commits_with_it(desk: Desk) -> None:
    db = desk.db
    async with db.write() as conn:
        await conn.execute("INSERT INTO tags (name) VALUES ('outer')")
        async with db.write() as inner:  # would wait forever on the lock if it did not join
            assert inner is conn and db.transaction is not None
            await inner.execute("INSERT INTO tags (name) VALUES ('inner')")
        assert conn.in_transaction  # the inner write did not commit
    assert db.transaction is None and not db.conn.in_transaction
    assert await _tags(db) == ["inner", "outer"]


async def test_a_failed_inner_write_is_undone_alone_and_an_outer_failure_undoes_all(desk: Desk) -> None:
    db = desk.db
    async with db.write() as conn:
        await conn.execute("INSERT INTO tags (name) VALUES ('kept')")
        with pytest.raises(ValueError):
            async with db.write() as inner:
                await inner.execute("INSERT INTO tags (name) VALUES ('undone')")
                raise ValueError("the inner action fails")
        async with db.write() as inner:
            await inner.execute("INSERT INTO tags (name) VALUES ('after')")
    assert await _tags(db) == ["after", "kept"]
    with pytest.raises(RuntimeError):
        async with db.write() as conn:
            await conn.execute("INSERT INTO tags (name) VALUES ('a')")
            async with db.write() as inner:
                await inner.execute("INSERT INTO tags (name) VALUES ('b')")
            raise RuntimeError("the unit fails after its parts succeeded")
    assert await _tags(db) == ["after", "kept"]
    assert not db.conn.in_transaction


async def test_another_task_waits_for_the_write_instead_of_joining_it(desk: Desk) -> None:
    db = desk.db
    order: list[str] = []
    inside = asyncio.Event()

    async def other() -> None:
        await inside.wait()
        assert db.transaction is None  # the transaction is the first task's, not this one's
        async with db.write() as conn:
            order.append("other")
            await conn.execute("INSERT INTO tags (name) VALUES ('other')")

    task = asyncio.create_task(other())
    async with db.write() as conn:
        inside.set()
        for _ in range(20):
            await asyncio.sleep(0)  # the other task runs meanwhile, and must wait
        order.append("first")
        await conn.execute("INSERT INTO tags (name) VALUES ('first')")
    await asyncio.wait_for(task, 10)
    assert order == ["first", "other"]


async def test_after_commit_runs_on_commit_only(desk: Desk) -> None:
    db = desk.db
    calls: list[str] = []
    db.after_commit(lambda: calls.append("now"))  # no transaction: at once
    async with db.write():
        async with db.write():
            db.after_commit(lambda: calls.append("committed"))
        assert calls == ["now"]
    assert calls == ["now", "committed"]
    with pytest.raises(RuntimeError):
        async with db.write():
            db.after_commit(lambda: calls.append("rolled back"))
            raise RuntimeError
    assert calls == ["now", "committed"]


@pytest.mark.parametrize("yields_before_cancel", [0, 1, 2, 3, 5, 8, 13])
async def test_cancelled_nested_write_leaves_no_open_transaction(
    desk: Desk, yields_before_cancel: int
) -> None:
    db = desk.db

    async def writer() -> None:
        async with db.write() as conn:
            await conn.execute("INSERT INTO tags (name) VALUES ('outer')")
            async with db.write() as inner:
                await inner.execute("INSERT INTO tags (name) VALUES ('inner')")
                await asyncio.sleep(10)

    task = asyncio.create_task(writer())
    for _ in range(yields_before_cancel):
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not db.conn.in_transaction and db.transaction is None
    async with db.write() as conn:
        await conn.execute("INSERT INTO tags (name) VALUES ('next')")
    assert await _tags(db) == ["next"]
