"""`omnidesk outbox list|cancel|retry`: replies waiting, sending, failed."""

from __future__ import annotations

import typer

from omnidesk.cli.common import desk_session, id_parser, run
from omnidesk.cli.output import FORMAT_OPTION, JSON_OPTION, Column

OUTBOX_COLUMNS = (
    Column("message_id", "Msg", "int"),
    Column("conversation_id", "Conv", "id"),
    Column("channel", "Channel", "str"),
    Column("to", "To", "text"),
    Column("state", "State", "str"),
    Column("attempts", "Tries", "int"),
    Column("next_attempt_at", "Next", "time"),
    Column("last_error", "Error", "text", max_width=50),
)

outbox_app = typer.Typer(help="Outgoing replies: list, cancel, retry.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(outbox_app, name="outbox")


@outbox_app.command("list")
def list_command(
    ctx: typer.Context,
    state: list[str] = typer.Option(None, "--state", "-s",
                                    help="queued | sending | sent | failed | cancelled (repeatable; "
                                    "default: everything not yet sent)."),
    json_flag: bool = JSON_OPTION,
    fmt: str | None = FORMAT_OPTION,
) -> None:
    """List outgoing replies and their delivery state."""

    async def main() -> None:
        from omnidesk.cli import records
        from omnidesk.cli.output import choose_format, emit
        from omnidesk.conversations import reads
        from omnidesk.errors import UserError

        chosen = choose_format(fmt, json_flag)
        known = ("queued", "sending", "sent", "failed", "cancelled")
        for s in state or ():
            if s not in known:
                raise UserError(f"unknown state {s!r}; expected one of {', '.join(known)}")
        async with desk_session(ctx) as desk:
            items = await reads.list_outbox(desk, states=state or ("queued", "sending", "failed"))
        emit([records.outbox_item(o) for o in items], chosen, fields=records.OUTBOX_FIELDS,
             columns=OUTBOX_COLUMNS, empty="The outbox is empty.")

    run(main())


MESSAGE_IDS = typer.Argument(..., metavar="MESSAGE_ID...", parser=id_parser("message"))


def _settle(ctx: typer.Context, ids: list[int], verb: str, json_flag: bool, fmt: str | None) -> None:
    async def main() -> None:
        from omnidesk.cli.actions import report
        from omnidesk.cli.output import choose_format
        from omnidesk.services import services

        chosen = choose_format(fmt, json_flag)
        action = services.cancel_reply if verb == "cancel" else services.retry_reply
        async with desk_session(ctx, need_agent=True) as desk:
            results = [await action(desk, mid) for mid in ids]
        report(results, chosen)

    run(main())


@outbox_app.command("cancel")
def cancel_command(
    ctx: typer.Context,
    message_ids: list[int] = MESSAGE_IDS,
    json_flag: bool = JSON_OPTION,
    fmt: str | None = FORMAT_OPTION,
) -> None:
    """Cancel queued replies still in their undo window (or failed ones)."""
    _settle(ctx, message_ids, "cancel", json_flag, fmt)


@outbox_app.command("retry")
def retry_command(
    ctx: typer.Context,
    message_ids: list[int] = MESSAGE_IDS,
    json_flag: bool = JSON_OPTION,
    fmt: str | None = FORMAT_OPTION,
) -> None:
    """Queue failed replies again, now."""
    _settle(ctx, message_ids, "retry", json_flag, fmt)
