"""`omnidesk customer export|erase`: everything held about a customer, out or away (leads and admins)."""

from __future__ import annotations

from pathlib import Path

import typer

from omnidesk.cli.common import desk_session, id_parser, run


def add_commands(customer_app: typer.Typer) -> None:
    """Add `export` to the `customer` group (once: the app may be built more than once)."""
    if not any(c.name == "export" for c in customer_app.registered_commands):
        customer_app.command("export")(export_command)
        customer_app.command("erase")(erase_command)


def export_command(
    ctx: typer.Context,
    cid: int = typer.Argument(..., metavar="ID", parser=id_parser("customer")),
    out: Path = typer.Option(..., "--out", "-o", help="The archive to write (a new .zip file)."),
) -> None:
    """Write everything held about a customer (profile, identities, messages, attachments, notes,
    events) as export.json plus the original files, in one zip (docs/privacy.md)."""

    async def main() -> None:
        import sys

        from omnidesk.cli import archive
        from omnidesk.services import privacy
        from omnidesk.timeutil import iso, now_ms

        async with desk_session(ctx, need_agent=True) as desk:
            data = await privacy.customer_data(desk, cid)
            doc = archive.document(data, desk_name=desk.settings.desk.name,
                                   exported_by=desk.agent.name if desk.agent else None,
                                   exported_at=iso(now_ms()))
            facts = await archive.write(out, doc, data, lambda sha: privacy.raw_bytes(desk, sha))
            await privacy.record_export(desk, cid, facts)
        sys.stdout.write(f"Exported customer {cid}: {facts['conversations']} conversations, "
                         f"{facts['messages']} messages, {facts['files']} files to {out}\n")

    run(main())


def erase_command(
    ctx: typer.Context,
    cid: int = typer.Argument(..., metavar="ID", parser=id_parser("customer")),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask (required when not on a terminal)."),
) -> None:
    """Erase a customer's personal data (names, addresses, identities, message texts, attachments,
    raw mail, notes, drafts); an anonymous "erased customer #N" keeps the figures (docs/privacy.md)."""

    async def main() -> None:
        import sys

        from omnidesk.cli.common import is_tty
        from omnidesk.conversations import reads
        from omnidesk.errors import UserError
        from omnidesk.services import privacy
        from omnidesk.textsafe import one_line

        async with desk_session(ctx, need_agent=True) as desk:
            from omnidesk.permissions import require

            require(desk.agent, "customer.erase")  # before asking anything
            customer = await reads.get_customer(desk, cid)
            if not yes:
                if not is_tty():
                    raise UserError(f"erasing customer {cid} cannot be undone; "
                                    "--yes is required when not running interactively")
                sys.stderr.write(f"Erase customer {cid} {one_line(customer.name)!r} and everything they "
                                 "wrote? This cannot be undone.\n")
                if not typer.confirm("Erase?", default=False, err=True):
                    raise UserError("cancelled; nothing changed")
            erased = await privacy.erase_customer(desk, cid)
        sys.stdout.write(f"Erased customer {cid}: {erased.conversations} conversations and "
                         f"{erased.messages} messages kept as anonymous shells\n")

    run(main())
