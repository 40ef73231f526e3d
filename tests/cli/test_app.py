"""The application shell: no command opens the console; sibling modules plug in via register()."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from omnidesk.cli import app as app_module
from omnidesk.cli.common import CliState, cli_state


def make_app(with_tui: bool, seen: list[CliState]) -> typer.Typer:
    app = typer.Typer(add_completion=False)
    app.callback(invoke_without_command=True)(app_module._root)
    if with_tui:
        @app.command("tui")
        def tui(ctx: typer.Context) -> None:
            seen.append(cli_state(ctx))
            typer.echo("console opened")

    @app.command("other")
    def other() -> None:
        typer.echo("other")

    return app


TTY = {"OMNIDESK_FORCE_TTY": "1"}


def test_no_command_opens_the_tui_with_the_global_options() -> None:
    seen: list[CliState] = []
    result = CliRunner(env=TTY).invoke(make_app(True, seen), ["--config", "x.toml", "--as", "bob"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "console opened\n"
    assert seen == [CliState(config_path=Path("x.toml"), as_agent="bob")]


def test_no_command_without_a_terminal_prints_help_not_the_console() -> None:
    seen: list[CliState] = []
    result = CliRunner(env={"OMNIDESK_FORCE_TTY": "0"}).invoke(make_app(True, seen), [])
    assert result.exit_code == 2
    assert seen == []
    assert "Usage" in result.stdout and "no terminal" in result.stderr


def test_no_command_without_a_tui_prints_help_and_exits_1() -> None:
    result = CliRunner(env=TTY).invoke(make_app(False, []), [])
    assert result.exit_code == 1
    assert "Usage" in result.stdout and "not available" in result.stderr


def test_the_real_app_registers_the_tui_and_guests() -> None:
    import typer.main

    group = typer.main.get_command(app_module.build_app())
    names = set(group.commands)  # type: ignore[attr-defined]
    assert {"list", "show", "doctor"} <= names
    for guest, command in (("omnidesk.cli.tui", "tui"), ("omnidesk.cli.sync", "sync"),
                           ("omnidesk.cli.importer", "import")):
        if (Path(app_module.__file__).parent / f"{guest.rsplit('.', 1)[1]}.py").exists():
            assert command in names, guest


def test_a_missing_guest_module_is_skipped_silently(capsys: pytest.CaptureFixture[str]) -> None:
    app = typer.Typer()
    app_module._register_guest(app, "omnidesk.cli.not_written_yet")
    assert capsys.readouterr().err == ""


def test_a_broken_guest_module_costs_only_its_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "broken_guest_mod.py").write_text("raise RuntimeError('half written')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    app = typer.Typer()
    app_module._register_guest(app, "broken_guest_mod")
    err = capsys.readouterr().err
    assert "broken_guest_mod are unavailable" in err and "half written" in err
    sys.modules.pop("broken_guest_mod", None)
