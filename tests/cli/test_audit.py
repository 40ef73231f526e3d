"""`omnidesk audit`: who did what, from the events; filters; `--as`, exports and erasures show."""

from __future__ import annotations

import json

from tests.cli.conftest import CliEnv, seed_emails


def _audit(env: CliEnv, *args: str) -> list[dict]:
    result = env.invoke("audit", "--json", *args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_the_audit_log_lists_who_did_what(cli_env: CliEnv) -> None:
    cli_env.run(lambda desk: seed_emails(desk, [("ann@example.com", "One", "first"),
                                                ("ben@example.com", "Two", "second")]))
    alice = {"USER": "alice-login", "LOGNAME": "alice-login"}
    assert cli_env.invoke("note", "1", "by alice", env=alice).exit_code == 0
    assert cli_env.invoke("--as", "bob", "status", "resolved", "2").exit_code == 0
    assert cli_env.invoke("customer", "export", "1", "--out", str(cli_env.tmp / "c1.zip")).exit_code == 0
    assert cli_env.invoke("customer", "erase", "2", "--yes").exit_code == 0
    rows = _audit(cli_env)
    assert [r["kind"] for r in rows][:4] == ["customer_erased", "customer_exported", "status", "note"]
    status = rows[2]
    assert (status["agent"], status["via"], status["conversation_id"]) == ("bob", "tester", 2)
    assert "tester acting as bob" in status["what"]
    assert all(r["agent"] for r in rows)  # the system's only with --system
    assert {r["kind"] for r in _audit(cli_env, "--system")} >= {"created"}
    assert [r["kind"] for r in _audit(cli_env, "--agent", "alice")] == ["note"]
    assert [r["kind"] for r in _audit(cli_env, "--agent", "tester", "--action", "status")] == ["status"]
    assert _audit(cli_env, "--since", "2000-01-01", "--action", "customer_erased")[0]["customer_id"] == 2
    bad = cli_env.invoke("audit", "--action", "deleted_everything")
    assert bad.exit_code == 1 and "unknown action 'deleted_everything'" in bad.stderr
    table = cli_env.invoke("audit", "--format", "table").stdout
    assert "tester as bob" in table


def test_no_command_changes_or_deletes_events() -> None:
    """No DELETE of events anywhere; the only UPDATE on a real desk is an erasure's redaction."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "omnidesk"
    updates, deletes = [], []
    for path in root.rglob("*.py"):
        text = path.read_text("utf-8")
        if re.search(r"UPDATE\s+events\b", text):
            updates.append(path.relative_to(root).as_posix())
        if re.search(r"DELETE\s+FROM\s+events\b", text):
            deletes.append(path.relative_to(root).as_posix())
    assert deletes == []
    assert sorted(updates) == ["store/demo.py", "store/privacy.py"]  # the demo backdates its own fresh desk
