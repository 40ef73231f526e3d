"""What every connection to the database file agrees on, whatever drives it.

`Database` (aiosqlite, for everything that writes or lives long) and
`ReadOnlyDatabase` (plain sqlite3, for one-shot reads) both use these. Kept
free of asyncio and aiosqlite so the read path can import it cheaply.
"""

from __future__ import annotations

import sqlite3

BUSY_TIMEOUT_MS = 5_000

#: The schema version this omnidesk writes: the number of scripts in schema/.
#: A constant so opening the desk need not list the package's files;
#: tests/unit/test_migrations.py checks it against the scripts.
SCHEMA_VERSION = 15


class StoreError(Exception):
    """The database cannot be used (newer schema, corrupt file, ...)."""


def migration_scripts() -> list[tuple[int, str, str]]:
    """(version, name, sql) for every file in schema/, in order: NNN_name.sql."""
    from importlib import resources

    scripts = []
    for entry in resources.files("omnidesk.store").joinpath("schema").iterdir():
        if entry.name.endswith(".sql"):
            number, _, rest = entry.name.partition("_")
            scripts.append((int(number), rest.removesuffix(".sql"), entry.read_text("utf-8")))
    scripts.sort()
    for expected, (version, name, _) in enumerate(scripts, start=1):
        if version != expected:
            raise StoreError(f"migration {name} is numbered {version}, expected {expected}")
    return scripts


def split_sql(script: str) -> list[str]:
    """Split a migration into statements (sqlite3.complete_statement knows about strings)."""
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip() and not all(ln.strip().startswith("--") for ln in buffer.strip().splitlines()):
        raise StoreError(f"incomplete SQL statement at the end of a migration: {buffer.strip()[:80]}")
    return statements
