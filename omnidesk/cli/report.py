"""`omnidesk report KIND`: support metrics over a period (definitions: docs/reports.md)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from omnidesk.cli.common import desk_session, run_read
from omnidesk.cli.output import FORMAT_OPTION, JSON_OPTION

if TYPE_CHECKING:
    from omnidesk.reports.compute import Report

KIND_HELP = ("summary | agents | channels | tags | languages | days | hours | backlog | csat (surveys asked"
             " in the period) | sla (SLA targets met and breached, per policy).")


def register(app: typer.Typer) -> None:
    app.command("report")(report_command)


def report_command(
    ctx: typer.Context,
    kind: str = typer.Argument("summary", metavar="[KIND]", help=KIND_HELP),
    since: str = typer.Option("30d", "--since", metavar="WHEN",
                              help="Start: 30d, 12h, 2w, 1y ago, or a date / time (desk time zone)."),
    until: str | None = typer.Option(None, "--until", metavar="WHEN", help="End (default: now)."),
    team: str | None = typer.Option(None, "--team", metavar="TEAM", help="Only conversations of this team."),
    channel: str | None = typer.Option(None, "--channel", metavar="NAME",
                                       help="Only conversations that started on this channel."),
    query: str | None = typer.Option(None, "--query", "-q", metavar="QUERY",
                                     help="Only conversations matching this search query (as they are now)."),
    reopen_window: str = typer.Option("7d", "--reopen-window", metavar="DURATION",
                                      help="A reopen within this long after resolving spoils first-contact "
                                      "resolution (e.g. 7d, 48h)."),
    csv_flag: bool = typer.Option(False, "--csv", help="Same as --format csv."),
    html: Path | None = typer.Option(None, "--html", metavar="FILE", dir_okay=False,
                                     help="Write one self-contained HTML page (summary, backlog, channels, "
                                     "first response by day) to FILE instead."),
    json_flag: bool = JSON_OPTION,
    fmt: str | None = FORMAT_OPTION,
) -> None:
    """Report response and resolution times, FCR, reopens, transfers, backlog and volume.

    Conversations created in the period, in calendar time (business hours: not configured).
    """
    run_read(lambda read_only: _report(ctx, kind, since, until, team, channel, query, reopen_window,
                                       csv_flag, json_flag, fmt, html, read_only))


async def _report(ctx: typer.Context, kind: str, since: str, until: str | None, team: str | None,
                  channel: str | None, query: str | None, reopen_window: str, csv_flag: bool,
                  json_flag: bool, fmt: str | None, html: Path | None, read_only: bool) -> None:
    from omnidesk.cli.output import choose_format
    from omnidesk.errors import UserError
    from omnidesk.reports import compute, period
    from omnidesk.timeutil import now_ms

    if csv_flag:
        if json_flag or fmt not in (None, "csv"):
            raise UserError("--csv conflicts with --json and --format")
        fmt = "csv"
    chosen = choose_format(fmt, json_flag)
    if kind not in compute.KINDS:
        raise UserError(f"unknown report {kind!r}; expected one of {', '.join(compute.KINDS)}")
    window = period.parse_duration(reopen_window, "--reopen-window")
    if html is not None and (kind != "summary" or json_flag or csv_flag or fmt is not None):
        raise UserError("--html writes the summary page; it takes no KIND, --json, --csv or --format")
    async with desk_session(ctx, read_only=read_only) as desk:
        start, end = period.period(since, until, desk.settings.desk.timezone, now_ms())
        filters = compute.Filters(start, end, team, channel, query or None, window)
        if html is not None:
            from omnidesk.reports.html import page

            text = page(*[await compute.build(desk, k, filters) for k in ("summary", "backlog", "channels",
                                                                          "days")])
        else:
            report = await compute.build(desk, kind, filters)
    if html is not None:
        _write_file(html, text)
        sys.stderr.write(f"wrote {html}\n")
        return
    write(report, chosen)


def _write_file(path: Path, text: str) -> None:
    """Through a temporary file and a rename, so a reader never sees half a page."""
    import os
    import tempfile

    from omnidesk.errors import UserError

    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=".report-", suffix=".html", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None


def write(report: Report, fmt: str) -> None:
    """The report in `fmt`: json and nl carry the header (period, filters), tsv/csv the rows only."""
    from omnidesk.cli.output import render_csv, render_json, render_nl, render_tsv

    out = sys.stdout
    if fmt == "json":
        out.write(render_json({**report.header(), "rows": report.rows}))
    elif fmt == "nl":
        out.write(render_nl(report.rows))
    elif fmt == "csv":
        out.write(render_csv(report.rows, report.fields))
    elif fmt == "tsv":
        out.write(render_tsv(report.rows, report.fields))
    else:
        _table(report)
    out.flush()


def _table(report: Report) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from omnidesk.reports.format import cell, title

    console = Console(file=sys.stdout, highlight=False, markup=False, emoji=False)
    table = Table(title=Text(title(report)), box=None, header_style="bold", pad_edge=False)
    for field in report.fields:
        table.add_column(Text(field), no_wrap=True, overflow="ellipsis",
                         justify="left" if field in report.fields[:1] else "right")
    for row in report.rows:
        table.add_row(*(Text(cell(report, row, f), no_wrap=True, overflow="ellipsis") for f in report.fields))
    console.print(table)
