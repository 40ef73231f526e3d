"""SQL behind `omnidesk doctor`: integrity, schema version, and a few counts."""

from __future__ import annotations

from omnidesk.store.db import Database


async def integrity_problems(db: Database, *, quick: bool = True) -> list[str]:
    """What SQLite's quick_check (or integrity_check) reports; empty when the file is sound."""
    pragma = "quick_check" if quick else "integrity_check"
    rows = await db.fetchall(f"PRAGMA {pragma}")
    problems = [str(r[0]) for r in rows]
    return [] if problems == ["ok"] else problems


async def foreign_key_problems(db: Database) -> int:
    rows = await db.fetchall("PRAGMA foreign_key_check")
    return len(rows)


async def counts(db: Database) -> dict[str, int]:
    """Rows in the main tables, and outbox rows by state."""
    result: dict[str, int] = {}
    for table in ("conversations", "messages", "customers", "agents", "channels"):
        row = await db.fetchone(f"SELECT count(*) FROM {table}")
        result[table] = int(row[0]) if row else 0
    for row in await db.fetchall("SELECT state, count(*) FROM outbox GROUP BY state"):
        result[f"outbox_{row[0]}"] = int(row[1])
    return result
