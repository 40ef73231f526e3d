"""`omnidesk import maildir|mbox|eml`: bring existing mail into a channel.

    omnidesk import maildir ~/Mail/support --channel support
    omnidesk import mbox archive.mbox --channel archive
    omnidesk import eml a.eml b.eml --channel support

The channel is created (kind "import") when it does not exist. A progress bar
shows on a terminal; the summary line (or `--json`) reports imported,
duplicates, quarantined, seconds, messages/s, messages and files, then a table
of what was quarantined (file, reason). A Maildir or mbox with no message in it
is a warning on stderr. Running it again adds nothing.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from omnidesk.cli.common import desk_session, is_tty, run

if TYPE_CHECKING:
    from omnidesk.inbound.importer import ImportSummary, Job

CHANNEL_HELP = "Channel to import into (created with kind 'import' if missing)."
WORKERS_HELP = "Parser processes (default: one per core; 0 parses in this process)."


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Import mail from a Maildir, an mbox or .eml files.", no_args_is_help=True)

    @group.command("maildir")
    def import_maildir(
        ctx: typer.Context,
        path: Path = typer.Argument(..., help="The Maildir (a directory with cur/ and new/).",
                                    exists=True, file_okay=False),
        channel: str = typer.Option(..., "--channel", help=CHANNEL_HELP),
        workers: int | None = typer.Option(None, "--workers", min=0, max=256, help=WORKERS_HELP),
        as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    ) -> None:
        """Import every message in a Maildir (new/ and cur/)."""
        from omnidesk.inbound.importer import maildir_jobs

        run(_import(ctx, channel, lambda: maildir_jobs(path), workers, as_json,
                    empty=f"{path}: no message in this Maildir"))

    @group.command("mbox")
    def import_mbox(
        ctx: typer.Context,
        path: Path = typer.Argument(..., help="The mbox file.", exists=True, dir_okay=False),
        channel: str = typer.Option(..., "--channel", help=CHANNEL_HELP),
        workers: int | None = typer.Option(None, "--workers", min=0, max=256, help=WORKERS_HELP),
        as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    ) -> None:
        """Import every message in an mbox file."""
        from omnidesk.inbound.importer import mbox_jobs

        run(_import(ctx, channel, lambda: mbox_jobs(path), workers, as_json,
                    empty=f"{path}: no message in this mbox"))

    @group.command("eml")
    def import_eml(
        ctx: typer.Context,
        files: list[Path] = typer.Argument(..., help="Message files (.eml).", exists=True, dir_okay=False),
        channel: str = typer.Option(..., "--channel", help=CHANNEL_HELP),
        workers: int | None = typer.Option(None, "--workers", min=0, max=256, help=WORKERS_HELP),
        as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    ) -> None:
        """Import single message files."""
        from omnidesk.inbound.importer import eml_jobs

        run(_import(ctx, channel, lambda: eml_jobs(files), workers, as_json))

    app.add_typer(group, name="import")


async def _import(ctx: typer.Context, channel_name: str, find: Callable[[], Sequence[Job]],
                  workers: int | None, as_json: bool, empty: str | None = None) -> None:
    from omnidesk.inbound.importer import import_jobs, make_pool, resolve_channel, wants_pool
    from omnidesk.textsafe import one_line

    jobs = find()
    warnings = [one_line(empty)] if empty and not jobs else []
    for warning in warnings:
        sys.stderr.write(f"warning: {warning}\n")
    # The parser pool is forked before the desk (and its database thread) exists.
    pool = make_pool(workers) if wants_pool(jobs, workers) else None
    try:
        async with desk_session(ctx) as desk:
            from omnidesk.rules.routing import Router

            router = Router(desk)
            await router.run_pending()  # what a crashed import or sync left
            channel = await resolve_channel(desk, channel_name)
            if is_tty(sys.stderr) and jobs:
                summary = await _with_progress(desk, channel, jobs, workers, pool)
            else:
                summary = await import_jobs(desk, channel, jobs, workers=workers, executor=pool)
            from omnidesk.services import sla

            await sla.recompute(desk, summary.conversation_ids)  # imported conversations have SLA clocks too
            await router.run_pending()
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    _report(summary, channel_name, as_json, warnings)


async def _with_progress(desk, channel, jobs, workers, pool) -> ImportSummary:  # type: ignore[no-untyped-def]
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from omnidesk.inbound.importer import import_jobs

    columns = (TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("import", total=len(jobs))
        return await import_jobs(desk, channel, jobs, workers=workers, executor=pool,
                                 progress=lambda n: bar.advance(task, n))


def _report(summary: ImportSummary, channel: str, as_json: bool, warnings: list[str]) -> None:
    from omnidesk.cli.output import Column, render_table

    if as_json:
        payload = {
            "channel": channel,
            "files": summary.files,
            "messages": summary.messages,
            "imported": summary.imported,
            "duplicates": summary.duplicates,
            "quarantined": summary.quarantined,
            "rejected": summary.rejected,
            "conversations": len(summary.conversation_ids),
            "seconds": round(summary.seconds, 3),
            "messages_per_second": round(summary.rate, 1),
            "quarantine": [q._asdict() for q in summary.quarantine],
            "warnings": warnings,
        }
        sys.stdout.write(json.dumps(payload) + "\n")  # ASCII: file names and reasons come escaped
        return
    sys.stdout.write(summary.line() + "\n")
    if summary.quarantine:
        rows = [{"file": q.source(), "reason": q.reason} for q in summary.quarantine]
        # Piped, lines are not wrapped: one line per quarantined message for grep and friends.
        render_table(rows, (Column("file", "QUARANTINED"), Column("reason", "REASON")), now=0,
                     width=None if is_tty(sys.stdout) else 1 << 16)
