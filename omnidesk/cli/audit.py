"""`omnidesk audit`: who did what, from the events (leads and admins)."""

from __future__ import annotations

import typer

from omnidesk.cli.common import desk_session, limit_option, run_read
from omnidesk.cli.output import FORMAT_OPTION, JSON_OPTION, Column

AUDIT_FIELDS = ("id", "created_at", "agent", "via", "kind", "conversation_id", "customer_id", "what",
                "before", "after")
AUDIT_COLUMNS = (
    Column("created_at", "When", "time"),
    Column("who", "Who", "text", max_width=30),
    Column("kind", "Action", "str"),
    Column("conversation_id", "Conv", "int"),
    Column("customer_id", "Cust", "int"),
    Column("what", "What", "text"),
)


def register(app: typer.Typer) -> None:
    app.command("audit")(audit_command)


def audit_command(
    ctx: typer.Context,
    agent: str | None = typer.Option(None, "--agent", metavar="NAME",
                                     help="Only what this agent did (also as another, with --as)."),
    since: str | None = typer.Option(None, "--since", metavar="WHEN",
                                     help="From: 7d, 12h, 2w ago, or a date."),
    action: list[str] = typer.Option(None, "--action", metavar="KIND",
                                     help="Only this event kind. Repeatable."),
    system: bool = typer.Option(False, "--system", help="Also the system's events (ingest, timers, config)."),
    limit: int = limit_option("At most this many events, newest first."),
    json_flag: bool = JSON_OPTION,
    fmt: str | None = FORMAT_OPTION,
) -> None:
    """List who did what, newest first: actions, exports, erasures, role changes, `--as` use."""

    async def main(read_only: bool) -> None:
        from omnidesk.cli import records
        from omnidesk.cli.output import choose_format, emit
        from omnidesk.conversations.eventtext import describe
        from omnidesk.reports.period import parse_point
        from omnidesk.services import privacy
        from omnidesk.timeutil import now_ms

        chosen = choose_format(fmt, json_flag)
        async with desk_session(ctx, need_agent=True, read_only=read_only) as desk:
            start = parse_point(since, "--since", desk.settings.desk.timezone, now_ms()) if since else None
            events = await privacy.audit_log(desk, agent=agent, since=start, kinds=tuple(action or ()),
                                             system=system, limit=limit)
        rows = [records.event(e) | {"what": describe(e),
                                    "who": (f"{e.via} as {e.agent}" if e.via else e.agent) or "system"}
                for e in events]
        emit(rows, chosen, fields=AUDIT_FIELDS, columns=AUDIT_COLUMNS, empty="No events match.")

    run_read(main)
