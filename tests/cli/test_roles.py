"""Roles on the CLI: every action of the permission table refused below its role and allowed
from it, `--as` only for admins (and recorded), an unknown OS user and a deactivated agent refused."""

from __future__ import annotations

import json
import re

import pytest

from omnidesk.permissions import PERMISSIONS, ROLES, rank
from tests.cli.conftest import CliEnv, seed_emails

#: A command per action of the table (the table test covers each).
COMMANDS: dict[str, tuple[str, ...]] = {
    "customer.merge": ("customer", "merge", "1", "--into", "2"),
    "customer.export": ("customer", "export", "1", "--out", "{tmp}/export.zip"),
    "customer.erase": ("customer", "erase", "1", "--yes"),
    "audit.read": ("audit",),
    "retention.run": ("retention", "--dry-run"),
    "agent.manage": ("agent", "deactivate", "bob"),
    "agent.act_as": ("--as", "bob", "note", "1", "hello"),
}


def _set_role(env: CliEnv, name: str, role: str) -> None:
    """Give agent `name` of the test config `role`."""
    text = env.config.read_text("utf-8")
    text = re.sub(rf'(name = "{name}"\n)(role = "\w+"\n)?', rf'\1role = "{role}"\n', text, count=1)
    env.config.write_text(text, "utf-8")


def _seed(env: CliEnv) -> None:
    env.run(lambda desk: seed_emails(desk, [("ann@example.com", "One", "first"),
                                            ("ben@example.com", "Two", "second")]))


def test_every_action_of_the_table_has_a_command_here() -> None:
    assert set(COMMANDS) == set(PERMISSIONS)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", sorted(PERMISSIONS))
def test_the_role_table_on_the_cli(cli_env: CliEnv, action: str, role: str) -> None:
    _seed(cli_env)
    _set_role(cli_env, "alice", role)
    args = [a.replace("{tmp}", str(cli_env.tmp)) for a in COMMANDS[action]]
    result = cli_env.invoke(*args, env={"USER": "alice-login", "LOGNAME": "alice-login"})
    needed = PERMISSIONS[action]
    if rank(role) >= rank(needed):
        assert "needs the" not in result.stderr, result.stderr
        assert result.exit_code == 0, result.stderr
    else:
        assert result.exit_code == 1
        first = result.stderr.splitlines()[0]
        assert f"needs the {needed} role; alice is an {role}" in first or \
            f"needs the {needed} role; alice is a {role}" in first
        assert "Traceback" not in result.stderr


def test_impersonation_is_refused_and_records_nothing(cli_env: CliEnv) -> None:
    _seed(cli_env)
    env = {"USER": "mallory", "LOGNAME": "mallory"}
    result = cli_env.invoke("--as", "bob", "status", "resolved", "1", env=env)
    assert result.exit_code == 1
    assert "OS user 'mallory' is not an agent of this desk" in result.stderr
    assert "omnidesk agent add NAME --os-user mallory" in result.stderr
    shown = json.loads(cli_env.invoke("show", "1", "--json").stdout)
    assert shown["status"] == "open"
    assert not [e for e in shown["events"] if e["kind"] == "status"]


def test_an_os_user_matching_no_agent_is_told_how_to_be_added(cli_env: CliEnv) -> None:
    _seed(cli_env)
    result = cli_env.invoke("status", "resolved", "1", env={"USER": "mallory", "LOGNAME": "mallory"})
    assert result.exit_code == 1
    assert "no agent is configured for OS user 'mallory'" in result.stderr
    assert "os_user = 'mallory'" in result.stderr


def test_an_admin_acting_as_another_is_recorded_as_such(cli_env: CliEnv) -> None:
    _seed(cli_env)
    result = cli_env.invoke("--as", "bob", "status", "resolved", "1")  # USER=tester, an admin
    assert result.exit_code == 0, result.stderr
    shown = json.loads(cli_env.invoke("show", "1", "--json").stdout)
    status = [e for e in shown["events"] if e["kind"] == "status"][-1]
    assert (status["agent"], status["via"]) == ("bob", "tester")
    table = cli_env.invoke("show", "1", env={"COLUMNS": "200"}).stdout
    assert "tester acting as bob" in table


def test_a_desk_of_one_agent_lets_anyone_name_it(cli_env: CliEnv) -> None:
    text = cli_env.config.read_text("utf-8")
    only_tester = text.split('[[agents]]\nname = "alice"')[0] + text.split('display_name = "Bob"\n')[1]
    cli_env.config.write_text(only_tester, "utf-8")
    _seed(cli_env)
    cli_env.run(lambda desk: _deactivate(desk, ("alice", "bob")))
    someone = {"USER": "someone", "LOGNAME": "someone"}
    result = cli_env.invoke("--as", "tester", "status", "resolved", "1", env=someone)
    assert result.exit_code == 0, result.stderr


async def _deactivate(desk, names) -> None:
    from omnidesk.store import agents

    for name in names:
        agent = await agents.agent_by_name(desk.db, name)
        if agent is not None:
            await agents.set_active(desk.db, agent.id, False)


def test_a_deactivated_agent_cannot_act_and_stays_in_history(cli_env: CliEnv) -> None:
    _seed(cli_env)
    alice = {"USER": "alice-login", "LOGNAME": "alice-login"}
    assert cli_env.invoke("note", "1", "before", env=alice).exit_code == 0
    assert cli_env.invoke("assign", "alice", "2").exit_code == 0
    result = cli_env.invoke("agent", "deactivate", "alice", "--unassign")
    assert result.exit_code == 0, result.stderr
    assert "Deactivated agent alice; unassigned 1 conversation" in result.stdout
    refused = cli_env.invoke("note", "1", "after", env=alice)
    assert refused.exit_code == 1
    assert "agent alice is deactivated and cannot act" in refused.stderr
    assert cli_env.invoke("--as", "alice", "note", "1", "x").exit_code == 1  # not even by an admin
    assert "deactivated" in cli_env.invoke("assign", "alice", "1").stderr
    shown = json.loads(cli_env.invoke("show", "1", "--json").stdout)
    assert [m["text"] for m in shown["messages"] if m["direction"] == "note"] == ["before"]
    assert json.loads(cli_env.invoke("show", "2", "--json").stdout)["assignee"] is None
    agents = {a["name"]: a for a in json.loads(cli_env.invoke("agent", "list", "--json").stdout)}
    assert agents["alice"]["active"] is False
    assert cli_env.invoke("agent", "reactivate", "alice").exit_code == 0
    assert cli_env.invoke("note", "1", "back", env=alice).exit_code == 0


def test_a_role_changed_in_the_config_is_an_event(cli_env: CliEnv) -> None:
    _seed(cli_env)
    _set_role(cli_env, "alice", "lead")
    cli_env.invoke("list")
    rows = cli_env.run(lambda desk: desk.db.fetchall("SELECT kind, before, after FROM events WHERE kind = ?",
                                                     ("role_changed",)))
    assert [(r[0], json.loads(r[1])["role"], json.loads(r[2])["role"]) for r in rows] == \
        [("role_changed", "agent", "lead")]


def test_docs_security_shows_the_table() -> None:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "security.md").read_text("utf-8")
    rows = dict(re.findall(r"^\| `([a-z_.]+)` \| (\w+) \|", text, re.M))
    assert rows == PERMISSIONS
