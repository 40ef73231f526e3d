"""Commands about the command line itself: `omnidesk completion SHELL` and `omnidesk man`.

Both read the full click command tree, so completion, the manual page and
`--help` always describe the same commands and options.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path

import typer

#: The variable the shell scripts set when they ask the program for completions.
COMPLETE_VAR = "_OMNIDESK_COMPLETE"


class Shell(StrEnum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


def register(app: typer.Typer) -> None:
    app.command("completion")(completion_command)
    app.command("man")(man_command)


def completion_command(
    shell: Shell = typer.Argument(..., help="bash, zsh or fish."),
) -> None:
    """Print the shell completion script for SHELL (see docs/cli.md to install it)."""
    from typer._completion_shared import get_completion_script

    sys.stdout.write(get_completion_script(prog_name="omnidesk", complete_var=COMPLETE_VAR,
                                           shell=shell.value) + "\n")


def man_command(
    output: Path | None = typer.Option(None, "--output", "-o", metavar="PATH", dir_okay=False,
                                       help="Write the page to PATH instead of stdout."),
) -> None:
    """Print the omnidesk(1) manual page (roff), generated from the commands themselves."""
    import typer.main

    from omnidesk.cli.app import build_app, package_version
    from omnidesk.cli.manpage import render

    page = render(typer.main.get_command(build_app()), version=package_version())
    if output is None:
        sys.stdout.write(page)
        return
    try:
        output.write_text(page, "utf-8")
    except OSError as exc:
        from omnidesk.cli.common import fail

        raise fail(f"cannot write {output}: {exc.strerror or exc}") from None
