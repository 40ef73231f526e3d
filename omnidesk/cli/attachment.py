"""`omnidesk attachment save`: a message's files copied out, fetched from their channel when lazy."""

from __future__ import annotations

from pathlib import Path

import typer

from omnidesk.cli.common import desk_session, run

attachment_app = typer.Typer(help="Attachments: save a message's files.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(attachment_app, name="attachment")


@attachment_app.command("save")
def save_command(
    ctx: typer.Context,
    message_id: int = typer.Argument(..., help="The message (its id in `show --json`)."),
    index: int | None = typer.Argument(None, help="Which attachment, 1 for the first (default: all)."),
    out: Path = typer.Option(Path("."), "--out", "-o", help="Directory to save into (created if missing)."),
) -> None:
    """Save a message's attachments as new files (never replacing one: `name (1).ext`).

    A file the channel only referenced (a Telegram or Slack file) is fetched from the
    channel first and kept, so the next save reads it from the desk. Prints one line
    naming each file saved; when any could not be, that line goes to stderr and the exit is 1.
    """

    async def main() -> None:
        import sys

        from omnidesk.conversations.lazy_attachments import save
        from omnidesk.errors import NotFound, UserError
        from omnidesk.store import attachments as store_attachments

        async with desk_session(ctx) as desk:
            found = await store_attachments.of_message(desk.db, message_id)
            if found is None:
                raise NotFound(f"no message {message_id}")
            channel_name, files = found
            if not files:
                raise UserError(f"message {message_id} has no attachments")
            if index is not None:
                if not 1 <= index <= len(files):
                    raise UserError(f"message {message_id} has {len(files)} attachment(s); "
                                    f"{index} is not one of 1..{len(files)}")
                files = [files[index - 1]]
            report = await save(desk, channel_name, files, out.expanduser())
        if report.refused:  # one line on stderr, naming what was saved too
            raise UserError(report.message())
        sys.stdout.write(report.message() + "\n")

    run(main())
