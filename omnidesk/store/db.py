"""The database connection: pragmas, migrations, and write transactions.

Many processes share one file (a sync daemon, several TUIs over SSH, CLI
commands). WAL lets readers run beside one writer; `busy_timeout` makes a
writer wait for another instead of failing; every write transaction starts
with BEGIN IMMEDIATE so two writers never deadlock upgrading a read lock, and
a transaction that still meets a locked database is retried, never reported.

A write opened while the same task already has one open joins it (a SAVEPOINT:
the inner part undone alone if it fails), so several service actions can form
one unit of work (omnidesk/services/unit.py) that commits or rolls back whole.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiosqlite

from omnidesk.store.filemodes import prepare_database_file
from omnidesk.store.sqlitefile import BUSY_TIMEOUT_MS, StoreError, migration_scripts, split_sql

#: How long a write keeps retrying a locked database before giving up (seconds).
WRITE_RETRY_SECONDS = 60.0
#: Page cache of a bulk import (KiB). Message-IDs and content hashes are random keys: with
#: SQLite's default 2 MB cache nearly every insert re-read its index pages from the OS
#: (on the 100,000-message bench: a fifth of the import's CPU, half of it in system calls).
BULK_CACHE_KIB = 128 * 1024


def _is_locked(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and (
        "locked" in str(exc) or "busy" in str(exc)
    )


@dataclass(slots=True, eq=False)
class Transaction:
    """The write transaction a task has open: what its nested writes and its events share."""

    owner: asyncio.Task[Any] | None
    group_id: int | None = None  # the events' group (store/events.py), given by the first event
    depth: int = 0  # open nested writes (savepoints)
    reason: str | None = None  # why the unit of work acts, written with its events
    after_commit: list[Callable[[], None]] = field(default_factory=list)


class Database:
    """One aiosqlite connection with omnidesk's pragmas, migrated to the latest schema.

    Reads use `fetchall`/`fetchone`/`execute` directly (autocommit, each a
    consistent snapshot); writes go through `async with db.write() as conn:`.
    """

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path
        self._write_lock = asyncio.Lock()
        #: The admin acting as this desk's agent (`--as`), written with each agent event.
        self.via_agent_id: int | None = None
        self._tx: Transaction | None = None

    @classmethod
    async def open(cls, path: str | Path, *, migrate: bool = True) -> Database:
        path = Path(path)
        if str(path) != ":memory:":
            prepare_database_file(path)  # 0600 in a 0700 directory, before SQLite makes its own files
        conn = await aiosqlite.connect(str(path), isolation_level=None)
        conn.row_factory = sqlite3.Row
        db = cls(conn, path)
        try:
            await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await db._retry(lambda: conn.execute("PRAGMA journal_mode = WAL"))
            await conn.execute("PRAGMA foreign_keys = ON")
            await conn.execute("PRAGMA synchronous = NORMAL")
            if migrate:
                await db.migrate()
        except BaseException:
            await conn.close()
            raise
        return db

    async def close(self) -> None:
        await self.conn.close()

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- schema ---------------------------------------------------------------

    async def user_version(self) -> int:
        row = await self.fetchone("PRAGMA user_version")
        assert row is not None
        return int(row[0])

    async def migrate(self, target: int | None = None) -> int:
        """Apply forward-only migrations up to `target` (default: latest). Returns the version."""
        scripts = migration_scripts()
        target = len(scripts) if target is None else target
        # Off around the transaction (it cannot change inside one), so a migration may rebuild a
        # table as SQLite's ALTER TABLE page describes: dropping the old copy cascades nothing.
        await self.conn.execute("PRAGMA foreign_keys = OFF")
        try:
            async with self.write() as conn:
                current = int((await (await conn.execute("PRAGMA user_version")).fetchone())[0])
                if current > len(scripts):
                    raise StoreError(
                        f"{self.path} has schema version {current}, newer than this omnidesk "
                        f"knows ({len(scripts)}); upgrade omnidesk"
                    )
                for version, _name, sql in scripts[current:target]:
                    for statement in split_sql(sql):
                        await conn.execute(statement)
                    await conn.execute(f"PRAGMA user_version = {version}")
                if current < target:
                    broken = await (await conn.execute("PRAGMA foreign_key_check")).fetchall()
                    if broken:
                        raise StoreError(f"migrating {self.path} left {len(broken)} broken references"
                                         f" (first: {tuple(broken[0])}); nothing was changed")
        finally:
            await self.conn.execute("PRAGMA foreign_keys = ON")
        return max(current, target)

    # -- reads ----------------------------------------------------------------

    async def fetchall(self, sql: str, params: Iterable[Any] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        return await self._retry(lambda: self.conn.execute_fetchall(sql, params))  # type: ignore[arg-type,return-value]

    async def fetchone(self, sql: str, params: Iterable[Any] | dict[str, Any] = ()) -> sqlite3.Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def data_version(self) -> int:
        """Changes when another connection commits: a cheap "did anything change?"."""
        row = await self.fetchone("PRAGMA data_version")
        assert row is not None
        return int(row[0])

    # -- writes ---------------------------------------------------------------

    @asynccontextmanager
    async def bulk_cache(self) -> AsyncIterator[None]:
        """A page cache large enough for a bulk import's indexes, back to the usual size after."""
        row = await self.fetchone("PRAGMA cache_size")
        assert row is not None
        await self.conn.execute(f"PRAGMA cache_size = -{BULK_CACHE_KIB}")
        try:
            yield
        finally:
            await self.conn.execute(f"PRAGMA cache_size = {int(row[0])}")

    @property
    def transaction(self) -> Transaction | None:
        """The write transaction the current task has open, if any."""
        tx = self._tx
        return tx if tx is not None and tx.owner is _current_task() else None

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once the current task's transaction commits (now when none is open);
        a rollback drops it. For telling others in this process about rows they can then read."""
        tx = self.transaction
        if tx is None:
            callback()
        else:
            tx.after_commit.append(callback)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[aiosqlite.Connection]:
        """A write transaction (BEGIN IMMEDIATE ... COMMIT), rolled back on error.

        Waiting for the write lock is retried with jittered backoff for up to
        WRITE_RETRY_SECONDS; the body itself runs once, so keep it short and
        free of network I/O. A caller cancelled at any point (a UI worker
        replaced by a newer one) never leaves the connection inside a transaction.
        Inside a write of the same task it joins that transaction as a savepoint:
        an error undoes this part and goes on up; only the outermost write commits.
        """
        tx = self.transaction
        if tx is not None:
            async with self._savepoint(tx):
                yield self.conn
            return
        async with self._write_lock:
            try:
                await _land(self._retry(lambda: self.conn.execute("BEGIN IMMEDIATE")))
            except asyncio.CancelledError:
                await self._rollback_if_open()
                raise
            self._tx = tx = Transaction(_current_task())
            try:
                try:
                    yield self.conn
                except BaseException:
                    await self._rollback_if_open()
                    raise
                try:
                    await _land(self._retry(lambda: self.conn.execute("COMMIT")))
                except BaseException:
                    await self._rollback_if_open()
                    raise
            finally:
                self._tx = None
        for callback in tx.after_commit:
            callback()

    @asynccontextmanager
    async def _savepoint(self, tx: Transaction) -> AsyncIterator[None]:
        tx.depth += 1
        name = f"nested_{tx.depth}"
        await _land(self.conn.execute(f"SAVEPOINT {name}"))
        try:
            yield
        except BaseException:
            if self.conn.in_transaction:  # SQLite may have ended it already (a full disk)
                await _land(self.conn.execute(f"ROLLBACK TO {name}"))
                await _land(self.conn.execute(f"RELEASE {name}"))
            raise
        else:
            await _land(self.conn.execute(f"RELEASE {name}"))
        finally:
            tx.depth -= 1

    async def _rollback_if_open(self) -> None:
        if self.conn.in_transaction:
            await _land(self.conn.execute("ROLLBACK"))

    async def _retry(self, op: Any) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WRITE_RETRY_SECONDS
        delay = 0.01
        while True:
            try:
                return await op()
            except sqlite3.OperationalError as exc:
                if not _is_locked(exc) or loop.time() > deadline:
                    raise
            await asyncio.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 0.5)


def _current_task() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:  # no running loop: not inside any write
        return None


async def _land(operation: Any) -> Any:
    """Await `operation` to the end even if the caller is cancelled meanwhile.

    aiosqlite runs a statement on its own thread whatever happens to the awaiting
    task, so a cancelled BEGIN still begins: the transaction state must be known
    before the cancellation goes on up.
    """
    task = asyncio.ensure_future(operation)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait({task})
        raise
