"""Forward-only migrations: from an empty database and from every earlier version.

Each step is exercised on a database that holds data written at that version, so a
future migration that rebuilds or alters a table must carry the rows across.
Add a seed to SEEDS when a migration changes what a row at that version looks like.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.base import Address, Batch, Inbound
from omnidesk import blobs
from omnidesk.desk import Desk
from omnidesk.inbound.ingest import ingest_batch
from omnidesk.settings import Settings
from omnidesk.store.channels import ensure_channel
from omnidesk.store.db import Database
from omnidesk.store.rawmail import read_raw
from omnidesk.store.sqlitefile import SCHEMA_VERSION, StoreError, migration_scripts

LATEST = len(migration_scripts())
#: The raw bytes of the seeded message; before version 2 they were a blob file (written by the test).
SEED_RAW = b"Message-ID: <seed@x>\r\nFrom: daniel@example.hu\r\n\r\n\xc3\xbcgyf\xc3\xa9l"

#: Rows written by a desk at schema version N (the newest seed at or below N is used).
SEEDS: dict[int, list[str]] = {
    1: [
        "INSERT INTO channels (id, name, kind, address, created_at) VALUES (1, 'support', 'email',"
        " 'support@example.com', 1)",
        "INSERT INTO customers (id, name, created_at, updated_at) VALUES (1, 'Kovács Dániel', 1, 1)",
        "INSERT INTO identities (id, customer_id, kind, address, created_at) VALUES (1, 1, 'email',"
        " 'daniel@example.hu', 1)",
        "INSERT INTO conversations (id, customer_id, subject, created_at, last_activity_at)"
        " VALUES (1, 1, '退款', 1, 1)",
        "INSERT INTO messages (id, conversation_id, channel_id, direction, external_id, text, raw_sha256,"
        " sent_at, received_at) VALUES (1, 1, 1, 'in', '<seed@x>', 'ügyfél',"
        f" '{blobs.sha256_hex(SEED_RAW)}', 1, 1)",
        "INSERT INTO message_fts (rowid, subject, body, sender) VALUES (1, '退款', 'ügyfél', 'daniel')",
        "INSERT INTO attachments (message_id, filename, content_type, size, sha256)"
        " VALUES (1, 'számla.pdf', 'application/pdf', 3, 'abc')",
        "INSERT INTO cursors (channel_id, value, updated_at) VALUES (1, 'seed-cursor', 1)",
        "INSERT INTO events (conversation_id, kind, after, created_at) VALUES (1, 'created', '{}', 1)",
    ],
}
#: From version 5 a desk writes a message's references with it.
SEEDS[5] = [*SEEDS[1],
            "INSERT INTO message_refs (scope, ref, channel_id, message_id) VALUES ('', '<seed@x>', 1, 1)"]


def seed_for(version: int) -> list[str]:
    usable = [v for v in SEEDS if v <= version]
    return SEEDS[max(usable)] if usable else []


def schema(path: Path) -> dict[str, list[tuple]]:
    """Every table's columns and every index/trigger's SQL: what "the same schema" means here."""
    c = sqlite3.connect(path)
    try:
        out: dict[str, list[tuple]] = {}
        for kind, name, sql in c.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name"):
            if kind == "table":
                out[name] = [tuple(r) for r in c.execute(f"PRAGMA table_xinfo('{name}')")]
            else:
                out[name] = [(kind, " ".join((sql or "").split()))]
        return out
    finally:
        c.close()


def test_scripts_are_numbered_without_gaps() -> None:
    versions = [v for v, _, _ in migration_scripts()]
    assert versions == list(range(1, LATEST + 1))
    assert LATEST >= 1


def test_schema_version_names_the_newest_script() -> None:
    """A new migration must bump SCHEMA_VERSION, or no desk would ever run it."""
    assert SCHEMA_VERSION == LATEST, f"set SCHEMA_VERSION = {LATEST} in omnidesk/store/sqlitefile.py"


async def test_from_empty(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "fresh.db")
    try:
        assert await db.user_version() == LATEST
        assert [tuple(r) for r in await db.fetchall("PRAGMA integrity_check")] == [("ok",)]
        assert await db.fetchall("PRAGMA foreign_key_check") == []
        assert (await db.fetchone("PRAGMA journal_mode"))[0] == "wal"
        assert await db.migrate() == LATEST  # a second run is a no-op
    finally:
        await db.close()


@pytest.mark.parametrize("start", range(LATEST))
async def test_from_every_earlier_version(tmp_path: Path, start: int) -> None:
    fresh = tmp_path / "fresh.db"
    await (await Database.open(fresh)).close()

    path = tmp_path / f"from-{start}.db"
    db = await Database.open(path, migrate=False)
    try:
        assert await db.migrate(target=start) == start
        assert await db.user_version() == start
        seeds = seed_for(start)
        data_dir = tmp_path / f"data-{start}"
        if seeds:
            async with db.write() as conn:
                for statement in seeds:
                    await conn.execute(statement)
            # A blob file at any version: all raw mail before version 2, the largest after it.
            blobs.put(data_dir / "blobs", SEED_RAW)
        assert await db.migrate() == LATEST
        assert await db.user_version() == LATEST
        if seeds:  # the rows written at the old version survive
            row = await db.fetchone("SELECT m.text, c.subject, cu.name FROM messages m JOIN conversations c"
                                    " ON c.id = m.conversation_id JOIN customers cu ON cu.id = c.customer_id")
            assert tuple(row) == ("ügyfél", "退款", "Kovács Dániel")
            hit = await db.fetchall("SELECT rowid FROM message_fts WHERE message_fts MATCH 'ugyfel'")
            assert [r[0] for r in hit] == [1]
            # Raw bytes stored before the database kept them are still found.
            sha = (await db.fetchone("SELECT raw_sha256 FROM messages WHERE id = 1"))[0]
            assert await read_raw(db, data_dir / "blobs", sha) == SEED_RAW
            # Rebuilding messages (version 4) cascaded nothing, and the external id became a reference.
            kept = await db.fetchone("SELECT filename FROM attachments WHERE message_id = 1")
            assert kept[0] == "számla.pdf"
            refs = await db.fetchall("SELECT scope, ref, channel_id, message_id FROM message_refs")
            assert [tuple(r) for r in refs] == [("", "<seed@x>", 1, 1)]
            # Events from before groups (version 6) belong to none: undo takes them one by one.
            events = await db.fetchall("SELECT kind, group_id FROM events")
            assert [tuple(r) for r in events] == [("created", None)]
        assert [tuple(r) for r in await db.fetchall("PRAGMA integrity_check")] == [("ok",)]
        assert await db.fetchall("PRAGMA foreign_key_check") == []
        # The migrated store works for ingest.
        desk = Desk(db=db, settings=Settings(), data_dir=data_dir)
        channel = await ensure_channel(db, "support", "email", "support@example.com")
        rec = Inbound(external_id="<after-migrate@x>", sender=Address("email", "ann@example.com"),
                      sent_at=datetime(2026, 11, 1, tzinfo=UTC), text="hi", raw=b"Subject: new\r\n\r\nhi")
        assert (await ingest_batch(desk, channel, Batch([rec], "c"))).imported == 1
        if seeds:  # a re-delivery of the message stored before the migration is still known
            again = Inbound(external_id="<seed@x>", sender=Address("email", "daniel@example.hu"),
                            sent_at=datetime(2026, 11, 1, tzinfo=UTC), text="ügyfél")
            assert (await ingest_batch(desk, channel, Batch([again], "d"))).duplicates == 1
        assert await read_raw(db, data_dir / "blobs", blobs.sha256_hex(rec.raw)) == rec.raw
    finally:
        await db.close()
    fresh_schema = schema(fresh)
    assert schema(path) == fresh_schema


async def test_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "newer.db"
    await (await Database.open(path)).close()
    c = sqlite3.connect(path)
    c.execute(f"PRAGMA user_version = {LATEST + 1}")
    c.close()
    with pytest.raises(StoreError, match="newer"):
        await Database.open(path)
