"""`omnidesk init`: write a commented starter config and create the database."""

from __future__ import annotations

import typer

from omnidesk.cli.common import cli_state, run


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
) -> None:
    """Write a commented starter config and create the database.

    The file goes to --config, $OMNIDESK_CONFIG or the default path, readable by you only.
    Add channels by uncommenting them there; `omnidesk doctor` checks the result.
    """

    async def main() -> None:
        import os
        import sys
        import tomllib
        from pathlib import Path

        from omnidesk import config as cfg
        from omnidesk.errors import ConfigError, UserError
        from omnidesk.opendesk import open_desk_from_settings

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
