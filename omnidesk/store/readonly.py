"""A read-only connection for one-shot reading commands, driven without an event loop.

`omnidesk list` and `omnidesk search` run one or two queries and exit; starting
asyncio and aiosqlite's thread costs them more than the queries (about a sixth
of the whole process, see bench/store.py). `ReadOnlyDatabase` offers the read
half of `Database` as coroutines that never suspend, so the same service code
(`omnidesk.conversations.reads`, `omnidesk.store.search`) runs under `run_inline` with a plain
sqlite3 connection. Anything that would write (a migration, a changed channel
in the config) raises `NeedsWriter`, and the caller runs the command again on
the full `Database`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Coroutine, Iterable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from omnidesk.store.sqlitefile import BUSY_TIMEOUT_MS

T = TypeVar("T")


class NeedsWriter(Exception):
    """The command has to write (migrate, sync the config); run it on a full `Database`."""


class Suspended(RuntimeError):
    """A coroutine run by `run_inline` waited on something: it needs an event loop."""


class ReadOnlyDatabase:
    """The read methods of `Database` over a plain sqlite3 connection that refuses writes."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path

    @classmethod
    def open(cls, path: str | Path) -> ReadOnlyDatabase:
        """Open an existing database file.

        A missing file needs creating, and a file SQLite cannot read needs the full
        open's error messages: both raise `NeedsWriter`.
        """
        path = Path(path)
        if not path.is_file():
            raise NeedsWriter(f"{path} does not exist yet")
        conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        conn.row_factory = sqlite3.Row
        try:
            # query_only makes SQLite itself refuse a write that slipped past `write()`.
            conn.execute("PRAGMA query_only = ON")
            conn.execute("PRAGMA user_version").fetchone()  # reads the header: is it a database?
        except sqlite3.Error as exc:
            conn.close()
            raise NeedsWriter(f"{path}: {exc}") from None
        return cls(conn, path)

    async def close(self) -> None:
        self.conn.close()

    async def user_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    async def data_version(self) -> int:
        return int(self.conn.execute("PRAGMA data_version").fetchone()[0])

    async def migrate(self, target: int | None = None) -> NoReturn:
        raise NeedsWriter("the schema needs migrating")

    def write(self) -> NoReturn:
        raise NeedsWriter("the command writes")

    async def fetchall(self, sql: str, params: Iterable[Any] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        return self.conn.execute(sql, params).fetchall()  # type: ignore[arg-type]

    async def fetchone(self, sql: str, params: Iterable[Any] | dict[str, Any] = ()) -> sqlite3.Row | None:
        return self.conn.execute(sql, params).fetchone()  # type: ignore[arg-type]


def run_inline(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends to its result, with no event loop.

    Raises `Suspended` (after closing the coroutine) if it awaits anything that
    really waits: such code needs `asyncio.run`.
    """
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coro.close()
    raise Suspended("a coroutine run without an event loop tried to wait")
