"""`omnidesk customer suggestions [ID]`: likely duplicates listed, never merged."""

from __future__ import annotations

import json

from tests.cli.conftest import CliEnv


def _seed(cli_env: CliEnv) -> dict[str, int]:
    async def main(desk) -> dict[str, int]:
        from omnidesk.store.identities import call_sync, create_customer, create_identity
        from omnidesk.timeutil import now_ms

        ids = {}
        for name, email in (("Kovács Anna", "anna@acme.hu"), ("Anna Kovacs", "ak@gmail.com"),
                            ("زهرا احمدی", None), ("Li Wei", "li@acme.hu")):
            async with desk.db.write() as conn:
                ids[name] = await call_sync(conn, create_customer, name, now_ms())
                if email:
                    await call_sync(conn, create_identity, ids[name], "email", email, name, now_ms())
        return ids

    return cli_env.run(main)


def test_suggestions_list_pairs_and_merge_nothing(cli_env: CliEnv) -> None:
    ids = _seed(cli_env)
    result = cli_env.invoke("customer", "suggestions", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == [{
        "customer_id": ids["Kovács Anna"], "customer_name": "Kovács Anna",
        "other_id": ids["Anna Kovacs"], "other_name": "Anna Kovacs", "reason": "same name"}]
    one = json.loads(cli_env.invoke("customer", "suggestions", str(ids["Anna Kovacs"]), "--json").stdout)
    assert [(s["customer_id"], s["other_id"]) for s in one] == [(ids["Anna Kovacs"], ids["Kovács Anna"])]
    listed = json.loads(cli_env.invoke("customer", "list", "--json").stdout)
    assert [c["merged_into"] for c in listed] == [None] * 4  # suggested, not merged


def test_no_suggestions_is_said_on_stderr(cli_env: CliEnv) -> None:
    result = cli_env.invoke("customer", "suggestions", "--format", "table")
    assert result.exit_code == 0 and result.stdout == "" and "No likely duplicates." in result.stderr
    bad = cli_env.invoke("customer", "suggestions", "abc")
    assert bad.exit_code != 0 and "Traceback" not in bad.stderr
