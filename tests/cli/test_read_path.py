"""`list` and `search` read without an event loop, and fall back to the full desk when it must be written."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from omnidesk.store.readonly import NeedsWriter, ReadOnlyDatabase, Suspended, run_inline
from omnidesk.store.sqlitefile import SCHEMA_VERSION
from tests.cli.conftest import CliEnv, seed_emails

PROBE = textwrap.dedent("""
    import sys
    sys.argv = ["omnidesk", *sys.argv[1:]]
    from omnidesk.cli import main
    try:
        main()
    except SystemExit as exc:
        assert not exc.code, exc.code
    loaded = sorted(m for m in ("asyncio", "aiosqlite") if m in sys.modules)
    print("LOADED=" + ",".join(loaded), file=sys.stderr)
""")


def _probe(cli_env: CliEnv, *args: str) -> tuple[str, str]:
    """(stdout, the event-loop modules the command loaded) of one CLI run in a fresh interpreter."""
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                          timeout=60, cwd=cli_env.tmp, env={**os.environ, **cli_env.env})
    assert done.returncode == 0, done.stderr
    return done.stdout, done.stderr.rsplit("LOADED=", 1)[1].strip()


@pytest.fixture
def seeded(cli_env: CliEnv) -> tuple[CliEnv, list[int]]:
    ids = cli_env.run(lambda desk: seed_emails(desk, [
        ("adam@example.hu", "Számla hiányzik", "Jó napot! A számla hiányzik, kérem küldjék el."),
        ("li@example.cn", "退款申请", "我想申请退款，订单号 4242。"),
    ]))
    return cli_env, ids


def test_list_and_search_on_a_current_desk_load_no_event_loop(seeded: tuple[CliEnv, list[int]]) -> None:
    cli_env, ids = seeded
    out, loaded = _probe(cli_env, "list", "--json")
    assert sorted(row["id"] for row in json.loads(out)) == sorted(ids)
    assert loaded == ""
    out, loaded = _probe(cli_env, "search", "退款", "--json")
    assert [hit["subject"] for hit in json.loads(out)] == ["退款申请"]
    assert loaded == ""


def test_the_first_list_on_a_fresh_machine_creates_the_desk(cli_env: CliEnv) -> None:
    out, loaded = _probe(cli_env, "list", "--json")
    assert out == "[]\n"
    assert loaded  # creating the database took the full path
    assert _user_version(cli_env.data_dir / "omnidesk.db") == SCHEMA_VERSION


def test_list_on_an_older_schema_migrates_it(cli_env: CliEnv) -> None:
    from omnidesk.store.db import Database

    async def at_version_1() -> None:
        db = await Database.open(cli_env.data_dir / "omnidesk.db", migrate=False)
        await db.migrate(1)
        await db.close()

    asyncio.run(at_version_1())
    done = cli_env.process("list", "--json")
    assert done.returncode == 0, done.stderr
    assert _user_version(cli_env.data_dir / "omnidesk.db") == SCHEMA_VERSION


def test_list_after_the_config_gains_a_channel_stores_the_channel(seeded: tuple[CliEnv, list[int]]) -> None:
    cli_env, ids = seeded
    with cli_env.config.open("a", encoding="utf-8") as config:
        config.write('\n[channels.billing]\nkind = "maildir"\naddress = "billing@acme.test"\n'
                     'path = "Billing"\n')
    out, loaded = _probe(cli_env, "list", "--json")
    assert sorted(row["id"] for row in json.loads(out)) == sorted(ids)
    assert loaded  # writing the channel took the full path
    with sqlite3.connect(cli_env.data_dir / "omnidesk.db") as conn:
        names = {name for (name,) in conn.execute("SELECT name FROM channels")}
    assert names == {"support", "billing"}
    _, loaded = _probe(cli_env, "list", "--json")
    assert loaded == ""  # the config is in step again: back to the quick path


def test_a_bad_query_is_still_one_clear_line(seeded: tuple[CliEnv, list[int]]) -> None:
    cli_env, _ = seeded
    done = cli_env.process("list", "status:opne", "--json")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "opne" in done.stderr


async def test_the_read_only_database_refuses_writes(seeded: tuple[CliEnv, list[int]]) -> None:
    cli_env, _ = seeded
    db = ReadOnlyDatabase.open(cli_env.data_dir / "omnidesk.db")
    try:
        assert await db.user_version() == SCHEMA_VERSION
        with pytest.raises(NeedsWriter):
            db.write()
        with pytest.raises(NeedsWriter):
            await db.migrate()
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            await db.fetchall("DELETE FROM conversations")
        assert (await db.fetchone("SELECT count(*) FROM conversations"))[0] == 2
    finally:
        await db.close()


@pytest.mark.parametrize("content", [None, b"not a database at all " * 100], ids=["missing", "junk"])
def test_an_unreadable_file_goes_to_the_full_path(tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / "omnidesk.db"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(NeedsWriter, match=str(path)):
        ReadOnlyDatabase.open(path)


def test_run_inline_returns_what_the_coroutine_returns() -> None:
    async def add(a: int, b: int) -> int:
        return a + b

    assert run_inline(add(2, 3)) == 5


def test_run_inline_refuses_a_coroutine_that_waits_and_closes_it() -> None:
    cleaned: list[str] = []

    async def waits() -> None:
        try:
            await asyncio.sleep(0)
        finally:
            cleaned.append("finally ran")

    with pytest.raises(Suspended):
        run_inline(waits())
    assert cleaned == ["finally ran"]


def _user_version(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
