"""The typer application: global options, and one `register(app)` per command module.

Every command module exposes `register(app: typer.Typer) -> None`. The core
ones are imported plainly (they import nothing heavy at module level); the
modules of the optional parts (import, sync, console) are imported guarded, so
one that is missing or broken costs its own commands, never the whole CLI.
Heavy imports (the store, rich, textual) happen inside command functions.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import typer

from omnidesk.cli.common import CliState, OneLineErrors

HELP = (
    "omnidesk: a terminal customer-support console.\n\n"
    "Run with no command to open the console (the TUI). Commands below work over SSH and in "
    "scripts: piped output is tab-separated, `--json` is a stable schema, no prompt ever appears "
    "without a terminal.\n\n"
    "Exit codes: 0 ok, 1 error, 2 usage, 3 a reply failed (sync --once). Reference: docs/cli.md."
)

#: The core command modules, in help order.
OWN_MODULES = (
    "omnidesk.cli.init",
    "omnidesk.cli.conversations",
    "omnidesk.cli.actions",
    "omnidesk.cli.customer",
    "omnidesk.cli.call",
    "omnidesk.cli.attachment",
    "omnidesk.cli.agent",
    "omnidesk.cli.macro",
    "omnidesk.cli.rules",
    "omnidesk.cli.outbox",
    "omnidesk.cli.kb",
    "omnidesk.cli.report",
    "omnidesk.cli.doctor",
    "omnidesk.cli.audit",
    "omnidesk.cli.retention",
    "omnidesk.cli.meta",
)
#: Command modules of the optional parts (import, sync, console and demo): loaded if they import.
GUEST_MODULES = (
    "omnidesk.cli.importer",
    "omnidesk.cli.sync",
    "omnidesk.cli.tui",
)


def package_version() -> str:
    """The installed distribution's version; the source tree's own when run uninstalled."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("omnidesk")
    except PackageNotFoundError:
        return "unknown"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"omnidesk {package_version()}")
        raise typer.Exit(0)


def _root(
    ctx: typer.Context,
    config: Path | None = typer.Option(
        None, "--config", "-c", metavar="PATH",
        help="Config file (default: $OMNIDESK_CONFIG, then $XDG_CONFIG_HOME/omnidesk/config.toml).",
        dir_okay=False,
    ),
    as_agent: str | None = typer.Option(
        None, "--as", metavar="NAME",
        help="Act as this agent (admins only; default: the agent whose os_user is $USER).",
    ),
    version: bool = typer.Option(
        False, "--version", is_eager=True, callback=_print_version,
        help="Print the version and exit.",
    ),
) -> None:
    ctx.obj = CliState(config_path=config, as_agent=as_agent)
    if ctx.invoked_subcommand is not None:
        return
    from omnidesk.cli.common import no_terminal

    refused = no_terminal("the console", "use one of the commands above")
    if refused is not None:
        typer.echo(ctx.get_help())
        raise refused
    group = ctx.command
    tui = group.get_command(ctx, "tui") if hasattr(group, "get_command") else None
    if tui is None:
        typer.echo(ctx.get_help())
        sys.stderr.write("omnidesk: the console (TUI) is not available in this build; use a command above\n")
        raise typer.Exit(1)
    # Run `tui` as if typed with no arguments: its own context, defaults, parent = us.
    with tui.make_context("tui", [], parent=ctx) as sub:
        tui.invoke(sub)


#: The module that registers each top-level command: `run()` builds only the one
#: invoked (typer turns every registered command into a click command on each run,
#: ~20-40 ms for all of them). A command missing here just costs the full build.
COMMAND_MODULES = {
    "init": "omnidesk.cli.init",
    **dict.fromkeys(("list", "show", "search"), "omnidesk.cli.conversations"),
    **dict.fromkeys(
        ("assign", "tag", "status", "priority", "note", "reply", "merge"), "omnidesk.cli.actions"
    ),
    "customer": "omnidesk.cli.customer",
    "call": "omnidesk.cli.call",
    "attachment": "omnidesk.cli.attachment",
    "agent": "omnidesk.cli.agent",
    "macro": "omnidesk.cli.macro",
    "rules": "omnidesk.cli.rules",
    "outbox": "omnidesk.cli.outbox",
    "kb": "omnidesk.cli.kb",
    "report": "omnidesk.cli.report",
    "doctor": "omnidesk.cli.doctor",
    "audit": "omnidesk.cli.audit",
    "retention": "omnidesk.cli.retention",
    **dict.fromkeys(("completion", "man"), "omnidesk.cli.meta"),
    "import": "omnidesk.cli.importer",
    "sync": "omnidesk.cli.sync",
    **dict.fromkeys(("tui", "demo"), "omnidesk.cli.tui"),
}
#: Answered by the root alone: `run()` registers no command for it.
VERSION_OPTION = "--version"
#: Global options that take a value (see `_root`).
_VALUE_OPTIONS = ("--config", "-c", "--as")


def invoked_command(args: list[str]) -> str | None:
    """The top-level command named in `args`, or None (no command, or help asked first)."""
    it = iter(args)
    for arg in it:
        if arg in _VALUE_OPTIONS:
            next(it, None)
        elif arg.startswith("-"):
            if arg == VERSION_OPTION:
                return arg
            if arg in ("-h", "--help") or not arg.startswith(tuple(o + "=" for o in _VALUE_OPTIONS)):
                return None  # help, or an option we do not know: let the full app answer
        else:
            return arg
    return None


def build_app(only: str | None = None) -> typer.Typer:
    """A fresh application with every command registered (tests build their own).

    With `only`, just the module that registers that command is loaded; the
    result is the full application whenever that module does not provide it.
    """
    app = typer.Typer(
        name="omnidesk",
        cls=OneLineErrors,
        help=HELP,
        no_args_is_help=False,
        add_completion=False,
        # Tracebacks with locals could print secrets; plain ones are enough for bugs.
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    app.callback(invoke_without_command=True)(_root)
    if only == VERSION_OPTION:
        return app
    module = COMMAND_MODULES.get(only or "")
    if module is not None:
        if module in GUEST_MODULES:
            _register_guest(app, module)
        else:
            importlib.import_module(module).register(app)
        names = {c.name for c in app.registered_commands} | {g.name for g in app.registered_groups}
        if only in names:
            return app
        return build_app()
    for name in OWN_MODULES:
        importlib.import_module(name).register(app)
    for name in GUEST_MODULES:
        _register_guest(app, name)
    return app


def _register_guest(app: typer.Typer, name: str) -> None:
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            return  # not written yet: its commands are simply absent
        sys.stderr.write(f"omnidesk: commands from {name} are unavailable: {exc}\n")
        return
    except Exception as exc:  # a sibling's bug must not take down every command
        sys.stderr.write(f"omnidesk: commands from {name} are unavailable: {exc!r}\n")
        return
    register = getattr(module, "register", None)
    if callable(register):
        register(app)


def run() -> None:
    """Console-script entry point."""
    import os

    from omnidesk.cli.meta import COMPLETE_VAR

    if COMPLETE_VAR in os.environ:  # a shell asks for completions: typer's classes answer it
        from typer.completion import completion_init

        completion_init()
    build_app(only=invoked_command(sys.argv[1:]))(prog_name="omnidesk")
