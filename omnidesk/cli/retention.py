"""`omnidesk retention [--dry-run]`: apply the `[retention]` policy now, or list what it would remove."""

from __future__ import annotations

import typer

from omnidesk.cli.common import desk_session, run
from omnidesk.cli.output import FORMAT_OPTION, JSON_OPTION, Column

RETENTION_FIELDS = ("what", "id")
RETENTION_COLUMNS = (Column("what", "What", "str"), Column("id", "ID", "int"))


def register(app: typer.Typer) -> None:
    app.command("retention")(retention_command)


def retention_command(
    ctx: typer.Context,
    dry_run: bool = typer.Option(False, "--dry-run", help="Only list what would be removed."),
    json_flag: bool = JSON_OPTION,
    fmt: str | None = FORMAT_OPTION,
) -> None:
    """Apply the [retention] policy now (the sync daemon does it hourly): raw bytes of old messages,
    content of conversations resolved long ago (admins). Lists what goes: `raw` message ids and
    `conversation` ids."""

    async def main() -> None:
        from omnidesk.cli.output import choose_format, emit
        from omnidesk.services import privacy

        chosen = choose_format(fmt, json_flag)
        async with desk_session(ctx, need_agent=True) as desk:
            plan = await (privacy.retention_plan(desk) if dry_run else privacy.apply_retention(desk))
        rows = [{"what": "raw", "id": i} for i in plan.raw] + \
            [{"what": "conversation", "id": i} for i in plan.conversations]
        emit(rows, chosen, fields=RETENTION_FIELDS, columns=RETENTION_COLUMNS,
             empty="Nothing to remove." if dry_run else "Nothing removed.")

    run(main())
