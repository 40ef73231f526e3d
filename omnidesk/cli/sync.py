"""`omnidesk sync`: the daemon (channels, outbox, timers), `--once` for cron, `--status` for health.

    omnidesk sync                 run until SIGTERM / Ctrl-C (and serve webhooks, when [webhooks] is set)
    omnidesk sync --once          poll every channel once, send what is due, exit
    omnidesk sync --status        per channel: heartbeat, last success, last error; outbox counts
    omnidesk sync --channel NAME  only this channel (repeatable)
    omnidesk sync --workers 0     parse incoming mail in this process (default: a parser per core)

Exit codes: 0 ok; 1 when `--once` met a failing channel (cron mails the error);
3 when `--once` synced every channel but a reply failed permanently;
SIGTERM and SIGINT stop cleanly with 0.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from omnidesk.cli.common import EXIT_OK, EXIT_USER, desk_session, run
from omnidesk.cli.output import FORMAT_OPTION, JSON_OPTION

#: `sync --once`: the channels synced, but a reply failed for good (the server refused it).
EXIT_REPLY_FAILED = 3

if TYPE_CHECKING:
    from concurrent.futures import Executor


def register(app: typer.Typer) -> None:
    app.command("sync")(sync_command)


def sync_command(
    ctx: typer.Context,
    once: bool = typer.Option(False, "--once", help="Sync every channel once, send due replies, then exit."),
    status: bool = typer.Option(False, "--status", help="Show each channel's heartbeat and last error."),
    channel: list[str] = typer.Option(None, "--channel", "-c", metavar="NAME",
                                      help="Only this channel (repeatable)."),
    fmt: str | None = FORMAT_OPTION,
    json_flag: bool = JSON_OPTION,
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log every batch and reply."),
    workers: int | None = typer.Option(
        None, "--workers", min=0, max=256,
        help="Parser processes for incoming mail (default: one per core; 0: parse in this process)."),
) -> None:
    """Run the sync daemon: poll channels, send replies, wake snoozed conversations."""
    if status:
        run(_status(ctx, fmt, json_flag))
        return
    _configure_logging(verbose)
    code = run(_sync(ctx, once=once, channels=list(channel or ()), workers=workers))
    if code != EXIT_OK:
        raise typer.Exit(code)


def _configure_logging(verbose: bool) -> None:
    import logging

    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


async def _sync(ctx: typer.Context, *, once: bool, channels: list[str], workers: int | None) -> int:
    """Run the sync; the exit code (only `--once` reports failures through it)."""
    from omnidesk.inbound.importer import make_pool

    # The parser pool is forked before the desk (and its database thread) exists.
    pool = make_pool(workers) if workers != 0 else None
    try:
        return await _sync_with(ctx, once=once, channels=channels, executor=pool)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


async def _sync_with(ctx: typer.Context, *, once: bool, channels: list[str],
                     executor: Executor | None) -> int:
    import asyncio
    import signal
    import sys

    from omnidesk.rules.routing import Router
    from omnidesk.services.sync import run_sync

    async with desk_session(ctx) as desk:
        router = Router(desk)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        installed = []
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(sig, stop.set)
                installed.append(sig)
            except (NotImplementedError, RuntimeError):  # not the main thread, or Windows
                pass
        try:
            report = await run_sync(desk, once=once, stop=stop, channels=channels or None, executor=executor,
                                    webhooks=True, route=router.run_pending)
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)
        if once:
            for name, ch in report.channels.items():
                line = (f"{name}: {ch.imported} new, {ch.duplicates} duplicate(s), "
                        f"{ch.quarantined} quarantined")
                if ch.last_error:
                    from omnidesk.textsafe import one_line

                    line += f"; error: {one_line(ch.last_error)}"
                sys.stderr.write(line + "\n")
            out = report.outbox
            if out.sent or out.retried or out.failed:
                sys.stderr.write(f"outbox: {out.sent} sent, {out.retried} to retry, {out.failed} failed\n")
            if report.woken:
                sys.stderr.write(f"woke {len(report.woken)} snoozed conversation(s)\n")
        if not once:
            return EXIT_OK
        if not report.ok:
            return EXIT_USER
        return EXIT_REPLY_FAILED if report.outbox.failed else EXIT_OK


async def _status(ctx: typer.Context, fmt: str | None, json_flag: bool) -> None:
    from omnidesk.cli.output import Column, choose_format, emit
    from omnidesk.services.sync import daemon_running
    from omnidesk.store.channels import channel_health
    from omnidesk.store.outbox import state_counts
    from omnidesk.timeutil import iso

    chosen = choose_format(fmt, json_flag)
    async with desk_session(ctx) as desk:
        health = await channel_health(desk.db)
        counts = await state_counts(desk.db)
        live = await daemon_running(desk)
    machine = chosen in ("json", "nl", "csv", "tsv")
    rows = [
        {
            "channel": h.name,
            "kind": h.kind,
            "heartbeat_at": iso(h.heartbeat_at) if machine else h.heartbeat_at,
            "last_success_at": iso(h.last_success_at) if machine else h.last_success_at,
            "last_error": h.last_error,
            "last_error_at": iso(h.last_error_at) if machine else h.last_error_at,
            "failing": h.failing,
            "runner": h.runner,
        }
        for h in health
    ]
    fields = ["channel", "kind", "heartbeat_at", "last_success_at", "last_error", "last_error_at",
              "failing", "runner"]
    columns = [
        Column("channel", "CHANNEL", "str"), Column("kind", "KIND", "str"),
        Column("heartbeat_at", "HEARTBEAT", "time"), Column("last_success_at", "LAST OK", "time"),
        Column("last_error", "LAST ERROR", "text", max_width=60), Column("runner", "RUNNER", "str"),
    ]
    emit(rows, chosen, fields=fields, columns=columns, empty="no channels configured")
    if chosen == "table":
        import sys

        queued = counts.get("queued", 0) + counts.get("sending", 0)
        sys.stdout.write(
            f"\ndaemon: {'running' if live else 'not running'}; outbox: {queued} waiting, "
            f"{counts.get('failed', 0)} failed, {counts.get('sent', 0)} sent\n"
        )
