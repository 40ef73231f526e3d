"""A desk of a few thousand conversations: paging across pages, nothing lost or repeated."""

from __future__ import annotations

import asyncio
import json

from tests.cli.conftest import CliEnv


def test_list_all_and_limits_page_through_everything(cli_env: CliEnv) -> None:
    from omnidesk.conversations import reads
    from omnidesk.services.opendesk import open_desk
    from omnidesk.store import benchfill

    # benchfill brings its own agents, so this desk has none configured.
    config = cli_env.tmp / "big.toml"
    config.write_text(f'[desk]\ndata_dir = "{cli_env.tmp / "big"}"\n', "utf-8")

    async def counts() -> list[int]:
        desk = await open_desk(config)
        try:
            return await reads.count_conversations(desk, ["", "status:open"])
        finally:
            await desk.db.close()

    asyncio.run(counts())  # creates and migrates the database
    benchfill.fill(cli_env.tmp / "big" / "omnidesk.db", conversations=2_000, messages=5_000, seed=3)
    expected = asyncio.run(counts())

    def cli(*args: str) -> str:
        result = cli_env.invoke("--config", str(config), *args)
        assert result.exit_code == 0, result.stderr
        return result.stdout

    everything = [json.loads(line) for line in cli("list", "--all", "-F", "nl").splitlines()]
    assert len(everything) == expected[0] > 1_000
    assert len({r["id"] for r in everything}) == len(everything)  # no repeats across pages
    keys = [(r["last_activity_at"], r["id"]) for r in everything]
    assert keys == sorted(keys, reverse=True)

    first = json.loads(cli("list", "--limit", "600", "--json"))
    assert [r["id"] for r in first] == [r["id"] for r in everything[:600]]

    open_rows = cli("list", "status:open", "--all").splitlines()  # tsv
    assert len(open_rows) == expected[1]
    assert all(line.split("\t")[2] == "open" for line in open_rows)
