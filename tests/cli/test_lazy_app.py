"""`run()` builds only the module of the invoked command: it must behave as the full app."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from omnidesk.cli.app import COMMAND_MODULES, build_app, invoked_command


def _names(app) -> set[str]:
    return {c.name for c in app.registered_commands} | {g.name for g in app.registered_groups}


def test_every_command_has_its_module() -> None:
    assert _names(build_app()) == set(COMMAND_MODULES)


@pytest.mark.parametrize("command", sorted(COMMAND_MODULES))
def test_lazy_app_gives_the_same_help(command: str) -> None:
    runner = CliRunner()
    full = runner.invoke(build_app(), [command, "--help"], prog_name="omnidesk")
    lazy = runner.invoke(build_app(only=command), [command, "--help"], prog_name="omnidesk")
    assert lazy.exit_code == full.exit_code == 0
    assert lazy.output == full.output


def test_unknown_command_gets_the_full_app() -> None:
    app = build_app(only="no-such-command")
    assert _names(app) == set(COMMAND_MODULES)
    result = CliRunner().invoke(app, ["no-such-command"], prog_name="omnidesk")
    assert result.exit_code == 2


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["list", "--json"], "list"),
        (["--config", "x.toml", "list"], "list"),
        (["-c", "x.toml", "--as", "bob", "customer", "show", "1"], "customer"),
        (["--as=bob", "show", "1"], "show"),
        (["--help", "list"], None),
        (["-h"], None),
        ([], None),
        (["--unknown", "list"], None),
        (["--as", "bob", "--version"], "--version"),
    ],
)
def test_invoked_command(args: list[str], expected: str | None) -> None:
    assert invoked_command(args) == expected
