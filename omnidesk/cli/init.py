"""`omnidesk init`: write a commented starter config and create the database."""

from __future__ import annotations

import typer

from omnidesk.cli.common import cli_state, guarded, run

#: The sync daemon's unit file: config/, shipped as package data through omnidesk/data/.
UNIT = "omnidesk-sync.service"
#: The command line the shipped unit starts; replaced by this installation's own.
UNIT_EXEC = "%h/.local/bin/omnidesk sync"


def register(app: typer.Typer) -> None:
    app.command("init")(init_command)


def init_command(
    ctx: typer.Context,
    desk_name: str = typer.Option("omnidesk", "--desk-name", help="Desk name for the title bar."),
    agent: str | None = typer.Option(None, "--agent", metavar="NAME",
                                     help="Your agent name (default: your login)."),
    timezone: str = typer.Option("UTC", "--timezone", help="IANA time zone, e.g. Europe/Budapest."),
    data_dir: str | None = typer.Option(None, "--data-dir", metavar="PATH",
                                        help="Where the database lives (default: the platform data dir)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing config file."),
    example: bool = typer.Option(False, "--example",
                                 help="Print the example config that shows every key, and write nothing."),
    systemd: bool = typer.Option(False, "--systemd", help="Only write the sync daemon's systemd user unit "
                                 "(~/.config/systemd/user/omnidesk-sync.service)."),
) -> None:
    """Write a commented starter config and create the database.

    The file goes to --config, $OMNIDESK_CONFIG or the default path, readable by you only.
    Add channels by uncommenting them there; `omnidesk doctor` checks the result.
    """
    if example:
        import sys

        sys.stdout.write(packaged("omnidesk.example.toml"))
        return
    if systemd:
        guarded(lambda: _write_unit(ctx, force))
        return

    async def main() -> None:
        import os
        import sys
        import tomllib
        from pathlib import Path

        from omnidesk import config as cfg
        from omnidesk.errors import ConfigError, UserError
        from omnidesk.services.opendesk import open_desk_from_settings

        path = cfg.find_config(cli_state(ctx).config_path)
        if path.exists() and not force:
            raise UserError(f"{path} already exists; use --force to overwrite it, or edit it")
        directory = Path(data_dir).expanduser().resolve() if data_dir else None
        text = cfg.starter_config(desk_name=desk_name, agent_name=agent, timezone=timezone,
                                  data_dir=directory)
        # Validate before writing: a bad --timezone must not leave a broken file behind.
        try:
            settings = cfg.parse_settings(tomllib.loads(text), source=path)
        except ConfigError as exc:
            raise UserError(str(exc).replace(f"{path}: ", "", 1)) from None
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        # 0600 from the start: people add passwords to this file later.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
        desk = await open_desk_from_settings(settings)
        try:
            db_path = desk.db.path
            who = desk.agent.name if desk.agent else None
        finally:
            await desk.db.close()
        sys.stdout.write(f"Wrote {path}\nCreated {db_path}\n")
        if who:
            sys.stdout.write(f"You act as agent {who}.\n")
        sys.stdout.write("Next: add a channel in the config, then `omnidesk doctor` and `omnidesk sync`.\n")

    run(main())


def packaged(name: str) -> str:
    """A file shipped in omnidesk/data/ (links to config/: the example config, the systemd unit)."""
    from importlib.resources import files

    return files("omnidesk").joinpath("data", name).read_text("utf-8")


def _write_unit(ctx: typer.Context, force: bool) -> None:
    """The systemd user unit, starting this installation's omnidesk with this config."""
    import os
    import shlex
    import shutil
    import sys
    from pathlib import Path

    from omnidesk import config as cfg
    from omnidesk.errors import UserError

    state = cli_state(ctx)
    installed = shutil.which("omnidesk")
    command = [installed] if installed else [sys.executable, "-m", "omnidesk"]
    if cfg.config_is_explicit(state.config_path):
        command += ["--config", str(cfg.find_config(state.config_path).resolve())]
    text = packaged(UNIT).replace(UNIT_EXEC, shlex.join([*command, "sync"]), 1)
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    path = base / "systemd" / "user" / UNIT
    if path.exists() and not force:
        raise UserError(f"{path} already exists; use --force to overwrite it")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
    sys.stdout.write(f"Wrote {path}\nNext: systemctl --user daemon-reload && "
                     f"systemctl --user enable --now {UNIT.removesuffix('.service')}\n")
