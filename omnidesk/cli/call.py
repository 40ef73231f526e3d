"""`omnidesk call log`: record a phone call on the customer's timeline."""

from __future__ import annotations

from pathlib import Path

import typer

from omnidesk.cli.common import desk_session, id_parser, run
from omnidesk.cli.output import FORMAT_OPTION, JSON_OPTION

call_app = typer.Typer(help="Phone calls.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(call_app, name="call")


#: The longest call that can be logged: a day (anything longer is a typo).
MAX_CALL_SECONDS = 86_400


def parse_duration(text: str) -> int:
    """Seconds from `90`, `90s`, `5m`, `1h`, `4:30` or `1:02:03`, at most MAX_CALL_SECONDS."""
    import math

    from omnidesk.errors import UserError, shown

    value = text.strip().lower()
    seconds: float = -1
    try:
        if ":" in value:
            seconds = 0
            for part in value.split(":"):
                if not part.isdigit():
                    raise ValueError(part)
                seconds = seconds * 60 + int(part[:12])  # int() of thousands of digits refuses
        else:
            for suffix, factor in (("h", 3600), ("m", 60), ("s", 1)):
                if value.endswith(suffix):
                    seconds = float(value[:-1]) * factor
                    break
            else:
                seconds = int(value[:12])
    except ValueError:
        raise UserError(f"cannot read the duration {shown(text)}; use e.g. 90, 5m, 4:30") from None
    if not (math.isfinite(seconds) and 0 <= seconds <= MAX_CALL_SECONDS) or len(value) > 12:
        raise UserError(f"duration {shown(text)} out of range; expected 0 to 24 hours")
    return int(seconds)


@call_app.command("log")
def log_command(
    ctx: typer.Context,
    phone: str | None = typer.Option(None, "--phone", "-p", metavar="NUMBER",
                                     help="The customer's number (any format; stored as E.164)."),
    customer: int | None = typer.Option(None, "--customer", metavar="ID", parser=id_parser("customer"),
                                        help="Or the customer id."),
    conversation: int | None = typer.Option(None, "--conversation", metavar="ID",
                                            parser=id_parser("conversation"),
                                            help="Add to this conversation (default: the customer's open one "
                                            "or a new one)."),
    direction: str = typer.Option("in", "--direction", "-d", help="in (they called) or out (we called)."),
    duration: str = typer.Option("0", "--duration", metavar="DURATION", help="90, 5m, 4:30 ..."),
    notes: str | None = typer.Option(None, "--notes", "-m", metavar="TEXT",
                                     help="What was said ('-': stdin)."),
    file: Path | None = typer.Option(None, "--file", "-f", metavar="PATH",
                                     help="Read the notes from a file."),
    json_flag: bool = JSON_OPTION,
    fmt: str | None = FORMAT_OPTION,
) -> None:
    """Log a phone call: it appears in the timeline as a `phone` message.

    Example: omnidesk call log --phone '+36 30 123 4567' --duration 4:30 -m 'asked about the refund'
    """

    from omnidesk.cli.body import read_body
    from omnidesk.cli.common import guarded

    # Outside the event loop, so Ctrl-C interrupts a read from stdin.
    text = guarded(lambda: read_body(notes, file, purpose="note")) if (notes or file) else ""

    async def main() -> None:
        from omnidesk.cli.actions import report
        from omnidesk.cli.output import choose_format
        from omnidesk.errors import UserError
        from omnidesk.services import services

        chosen = choose_format(fmt, json_flag)
        if direction not in ("in", "out"):
            raise UserError(f"--direction must be in or out, not {direction!r}")
        if phone is None and customer is None and conversation is None:
            raise UserError("say who called: --phone NUMBER, --customer ID or --conversation ID")
        seconds = parse_duration(duration)
        async with desk_session(ctx, need_agent=True) as desk:
            result = await services.log_call(desk, direction=direction, duration_seconds=seconds, notes=text,
                                             phone=phone, customer_id=customer, conversation_id=conversation)
        report([result], chosen)

    run(main())
