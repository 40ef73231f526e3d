"""docs/cli.md covers every command and every machine-readable field."""

from __future__ import annotations

import fnmatch
import re
import shlex
import tomllib
from pathlib import Path

import pytest
import typer.main

from omnidesk.cli import records
from omnidesk.cli.app import build_app
from omnidesk.cli.doctor import CHECK_FIELDS
from tests.cli.conftest import GOLDEN, REPO, CliEnv

DOC = (REPO / "docs" / "cli.md").read_text("utf-8")


def test_every_command_has_a_section() -> None:
    group = typer.main.get_command(build_app())
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        assert f"`omnidesk {name}" in DOC, name
        for sub in getattr(command, "commands", {}):
            assert sub in DOC, f"{name} {sub}"


def test_every_field_is_documented() -> None:
    fields = set(records.CONVERSATION_FIELDS + records.MESSAGE_FIELDS + records.EVENT_FIELDS
                 + records.CUSTOMER_FIELDS + records.AGENT_FIELDS + records.OUTBOX_FIELDS + records.HIT_FIELDS
                 + records.ACTION_FIELDS + CHECK_FIELDS)
    missing = sorted(f for f in fields if f"`{f}`" not in DOC)
    assert missing == []


def test_exit_codes_are_documented() -> None:
    for code in ("| 0 |", "| 1 |", "| 2 |", "| 3 |", "| 130 |"):
        assert code in DOC


def test_show_piped_is_documented_as_the_golden_bytes_have_it() -> None:
    facts = (GOLDEN / "show.txt").read_text("utf-8").split("\n--\n", 1)[0].splitlines()
    assert facts and all(re.fullmatch(r"[a-z_]+:\t.*", line) for line in facts), facts
    assert "`key:<TAB>value`" in DOC


def test_the_timeline_window_in_the_docs_is_the_code_s() -> None:
    from omnidesk.tui.screens.conversation import WINDOW, WINDOW_STEP

    architecture = (REPO / "docs" / "architecture.md").read_text("utf-8")
    said = {int(n) for n in re.findall(r"newest (\d+) (?:timeline )?items", architecture)}
    assert said == {WINDOW}
    assert f"loads {WINDOW_STEP} earlier" in architecture


def test_every_dependency_is_justified_and_every_justified_one_is_a_dependency() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))
    requirements = pyproject["project"]["dependencies"]
    declared = {re.split(r"[<>=!~;\[ ]", d, maxsplit=1)[0].lower() for d in requirements}
    table = (REPO / "docs" / "architecture.md").read_text("utf-8").split("## Dependencies", 1)[1]
    table = table.split("\n## ", 1)[0]
    justified = {m.lower() for m in re.findall(r"^\| ([\w.-]+) \|", table, re.M)} - {"package"}
    assert declared == justified


def test_the_readme_test_command_is_what_ci_runs() -> None:
    readme = (REPO / "README.md").read_text("utf-8")
    ci = (REPO / ".ci" / "run").read_text("utf-8")
    command = re.search(r"&& (python3 -m pytest[^\n`]*)", readme)
    assert command is not None and "-rs" in command.group(1).split()
    assert re.search(rf"^{re.escape(command.group(1))}$", ci, re.M), "CI runs the README's command"


def test_the_license_pyproject_declares_is_there() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))
    assert pyproject["project"]["license"] == {"text": "MIT"}
    text = (REPO / "LICENSE").read_text("utf-8")
    assert text.startswith("MIT License") and "Copyright (c) 2026 The omnidesk authors" in text


@pytest.mark.parametrize("name", ["omnidesk.example.toml", "omnidesk-sync.service"])
def test_the_example_config_and_the_unit_are_package_data(name: str) -> None:
    """They live in config/ and ship in the wheel: linked from omnidesk/data/, matched by package-data."""
    from omnidesk.cli.init import packaged

    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["omnidesk"]
    assert any(fnmatch.fnmatch(f"data/{name}", p) for p in patterns)
    link = REPO / "omnidesk" / "data" / name
    assert link.is_symlink() and link.resolve() == (REPO / "config" / name).resolve()
    assert packaged(name) == (REPO / "config" / name).read_text("utf-8")


def test_init_example_prints_the_example_config(cli_env: CliEnv) -> None:
    result = cli_env.invoke("init", "--example")
    assert result.exit_code == 0
    assert result.stdout == (REPO / "config" / "omnidesk.example.toml").read_text("utf-8")
    assert not cli_env.config.with_name("config.toml.tmp").exists()


def test_init_systemd_writes_the_unit_for_this_installation(cli_env: CliEnv) -> None:
    result = cli_env.invoke("init", "--systemd")
    assert result.exit_code == 0, result.stderr
    unit = Path(cli_env.env["XDG_CONFIG_HOME"]) / "systemd" / "user" / "omnidesk-sync.service"
    text = unit.read_text("utf-8")
    (exec_start,) = [line for line in text.splitlines() if line.startswith("ExecStart=")]
    argv = shlex.split(exec_start.removeprefix("ExecStart="))
    assert argv[-3:] == ["--config", str(cli_env.config.resolve()), "sync"]
    assert Path(argv[0]).is_file(), argv
    assert "[Install]" in text and "KillSignal=SIGTERM" in text
    again = cli_env.invoke("init", "--systemd")
    assert again.exit_code == 1 and "already exists" in again.stderr
    assert cli_env.invoke("init", "--systemd", "--force").exit_code == 0
