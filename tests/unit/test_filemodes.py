"""The data directory and the database files are their owner's alone, whatever the umask."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from omnidesk.store.db import Database
from omnidesk.store.filemodes import permission_warnings


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture(params=[0o022, 0o000], ids=["umask 022", "umask 000"])
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


async def test_a_new_database_is_private_with_its_wal_and_shm(tmp_path: Path, umask: int) -> None:
    data = tmp_path / "share" / "omnidesk"
    db = await Database.open(data / "omnidesk.db")
    try:
        async with db.write() as conn:  # a write makes SQLite create -wal and -shm
            await conn.execute("INSERT INTO tags (name) VALUES ('x')")
        files = sorted(p.name for p in data.iterdir())
        assert files == ["omnidesk.db", "omnidesk.db-shm", "omnidesk.db-wal"]
        assert _mode(data) == 0o700
        assert {name: _mode(data / name) for name in files} == dict.fromkeys(files, 0o600)
        assert permission_warnings(db.path) == []
    finally:
        await db.close()


async def test_an_existing_file_keeps_its_mode_and_doctor_names_it(tmp_path: Path, umask: int) -> None:
    """A data dir someone shared on purpose keeps working; doctor says what others can read."""
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o755)
    path = data / "omnidesk.db"
    side = [data / "omnidesk.db-wal", data / "omnidesk.db-shm"]
    db = await Database.open(path)  # created, then widened as an older omnidesk left it
    try:
        async with db.write() as conn:
            await conn.execute("INSERT INTO tags (name) VALUES ('x')")
        for p in (path, *side):
            p.chmod(0o644)
        await (await Database.open(path)).close()
        assert _mode(path) == 0o644 and _mode(data) == 0o755
        assert permission_warnings(path) == [
            f"data directory {data} is open to group/others (mode 0755): customer data is readable; "
            f"run: chmod 700 {data}",
            *(f"database file {p} is open to group/others (mode 0644): customer data is readable; "
              f"run: chmod 600 {p}" for p in (path, *side)),
        ]
    finally:
        await db.close()


async def test_a_symlinked_database_is_made_private_where_it_points(tmp_path: Path, umask: int) -> None:
    data, elsewhere = tmp_path / "data", tmp_path / "disk2" / "desk"
    data.mkdir(mode=0o700)
    (data / "omnidesk.db").symlink_to(elsewhere / "omnidesk.db")
    await (await Database.open(data / "omnidesk.db")).close()
    assert _mode(elsewhere) == 0o700 and _mode(elsewhere / "omnidesk.db") == 0o600
