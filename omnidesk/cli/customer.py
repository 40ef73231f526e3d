"""`omnidesk customer list|show|merge|unmerge|suggestions`: the people behind the conversations."""

from __future__ import annotations

import sys

import typer

from omnidesk.cli.common import desk_session, id_parser, limit_option, run
from omnidesk.cli.output import FORMAT_OPTION, JSON_OPTION, Column

CUSTOMER_COLUMNS = (
    Column("id", "ID", "int"),
    Column("name", "Name", "text", max_width=30),
    Column("identities", "Identities", "list"),
    Column("tier", "Tier", "str"),
    Column("language", "Lang", "str"),
)

customer_app = typer.Typer(help="Customers: list, show, merge and unmerge.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(customer_app, name="customer")


@customer_app.command("list")
def list_command(
    ctx: typer.Context,
    text: str = typer.Argument("", metavar="[TEXT]", help="Part of a name or address."),
    limit: int = limit_option("At most this many customers."),
    json_flag: bool = JSON_OPTION,
    fmt: str | None = FORMAT_OPTION,
) -> None:
    """List customers whose name or an identity matches TEXT."""

    async def main() -> None:
        from omnidesk.cli import records
        from omnidesk.cli.output import choose_format, emit
        from omnidesk.conversations import reads

        chosen = choose_format(fmt, json_flag)
        async with desk_session(ctx) as desk:
            found = await reads.find_customers(desk, text, limit=limit)
        make = records.customer if chosen in ("json", "nl") else records.customer_flat
        emit([make(c) for c in found], chosen, fields=records.CUSTOMER_FIELDS, columns=CUSTOMER_COLUMNS,
             empty="No customers match." if text else "No customers.")

    run(main())


@customer_app.command("show")
def show_command(
    ctx: typer.Context,
    cid: int = typer.Argument(..., metavar="ID", parser=id_parser("customer")),
    json_flag: bool = JSON_OPTION,
    fmt: str | None = FORMAT_OPTION,
) -> None:
    """Show a customer: identities on every channel and their conversations."""

    async def main() -> None:
        from omnidesk.cli import records
        from omnidesk.cli.conversations import LIST_COLUMNS
        from omnidesk.cli.output import choose_format, emit, render_json, render_nl
        from omnidesk.conversations import reads

        chosen = choose_format(fmt, json_flag)
        async with desk_session(ctx) as desk:
            customer = await reads.get_customer(desk, cid)
            conversations = await reads.customer_conversations(desk, cid)
        convs = [records.conversation_summary(s) for s in conversations]
        if chosen in ("json", "nl"):
            obj = records.customer(customer) | {"conversations": convs}
            sys.stdout.write(render_json(obj) if chosen == "json" else render_nl([obj]))
            return
        if chosen in ("tsv", "csv"):
            emit(convs, chosen, fields=records.CONVERSATION_FIELDS, columns=())
            return
        from rich.console import Console
        from rich.text import Text

        from omnidesk.textsafe import one_line
        from omnidesk.timeutil import iso

        console = Console(highlight=False, markup=False, emoji=False)
        head = Text()
        head.append(f"customer {customer.id} ", style="bold")
        head.append(one_line(customer.name) or "(no name)", style="bold")
        console.print(head)
        if customer.merged_into:
            console.print(Text(f"merged into customer {customer.merged_into}"), style="yellow")
        for ident in customer.identities:
            line = Text(f"  {ident.kind}: {one_line(ident.address)}")
            if ident.opted_out_at is not None:
                line.append(f"  opted out {iso(ident.opted_out_at)}: nothing is sent here", style="yellow")
            console.print(line)
        facts = [f"{k} {one_line(v)}" for k, v in (("tier", customer.tier), ("language", customer.language),
                                                    ("timezone", customer.timezone)) if v]
        if facts:
            console.print(Text("  " + " · ".join(facts)), style="dim")
        if customer.notes:
            console.print(Text(one_line(customer.notes)), style="italic")
        emit(convs, "table", fields=records.CONVERSATION_FIELDS, columns=LIST_COLUMNS,
             empty="No conversations.")

    run(main())


@customer_app.command("merge")
def merge_command(
    ctx: typer.Context,
    src: int = typer.Argument(..., metavar="SOURCE_ID", parser=id_parser("customer"),
                              help="The customer that goes away."),
    dst: int = typer.Option(..., "--into", metavar="TARGET_ID", parser=id_parser("customer"),
                            help="The customer that keeps everything."),
    json_flag: bool = JSON_OPTION,
    fmt: str | None = FORMAT_OPTION,
) -> None:
    """Merge one customer into another: identities and conversations move (undo with unmerge)."""

    async def main() -> None:
        from omnidesk.cli.actions import report
        from omnidesk.cli.output import choose_format
        from omnidesk.services import services

        chosen = choose_format(fmt, json_flag)
        async with desk_session(ctx, need_agent=True) as desk:
            result = await services.merge_customers(desk, src, dst)
        report([result], chosen)

    run(main())


@customer_app.command("unmerge")
def unmerge_command(
    ctx: typer.Context,
    cid: int = typer.Argument(..., metavar="ID", parser=id_parser("customer"),
                              help="The customer something was merged into."),
    json_flag: bool = JSON_OPTION,
    fmt: str | None = FORMAT_OPTION,
) -> None:
    """Undo the latest merge into this customer."""

    async def main() -> None:
        from omnidesk.cli.actions import report
        from omnidesk.cli.output import choose_format
        from omnidesk.services import services

        chosen = choose_format(fmt, json_flag)
        async with desk_session(ctx, need_agent=True) as desk:
            result = await services.unmerge_customer(desk, cid)
        report([result], chosen)

    run(main())


SUGGESTION_COLUMNS = (
    Column("customer_id", "ID", "int"),
    Column("customer_name", "Name", "text", max_width=30),
    Column("other_id", "Maybe", "int"),
    Column("other_name", "Name", "text", max_width=30),
    Column("reason", "Why", "text"),
)
SUGGESTION_FIELDS = ("customer_id", "customer_name", "other_id", "other_name", "reason")


@customer_app.command("suggestions")
def suggestions_command(
    ctx: typer.Context,
    cid: int | None = typer.Argument(None, metavar="[ID]", parser=id_parser("customer"),
                                     help="Only this customer's likely duplicates."),
    json_flag: bool = JSON_OPTION,
    fmt: str | None = FORMAT_OPTION,
) -> None:
    """Likely duplicate customers (same name, or same email domain and a similar name).

    Nothing is merged: `omnidesk customer merge OTHER --into ID` does it when they are one person.
    """

    async def main() -> None:
        from dataclasses import asdict

        from omnidesk.cli.output import choose_format, emit
        from omnidesk.customers.duplicates import suggestions

        chosen = choose_format(fmt, json_flag)
        async with desk_session(ctx) as desk:
            found = await suggestions(desk, cid)
        emit([asdict(s) for s in found], chosen, fields=SUGGESTION_FIELDS, columns=SUGGESTION_COLUMNS,
             empty="No likely duplicates.")

    run(main())
