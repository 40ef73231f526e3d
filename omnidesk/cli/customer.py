"""`omnidesk customer list|show|merge|unmerge|suggestions`: the people behind the conversations."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from typing import Any

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

customer_app = typer.Typer(help="Customers: list, show, merge and unmerge; their identities, language, "
                           "time zone and tier.", no_args_is_help=True)
identity_app = typer.Typer(help="A customer's identities: add or remove an address.", no_args_is_help=True)
customer_app.add_typer(identity_app, name="identity")


def register(app: typer.Typer) -> None:
    from omnidesk.cli.privacy import add_commands

    add_commands(customer_app)
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


TIMELINE_COLUMNS = (
    Column("at", "When", "time"),
    Column("conversation_id", "Conv", "id"),
    Column("channel", "Channel", "str"),
    Column("author", "Who", "text", max_width=24),
    Column("text", "What", "text"),
)


@customer_app.command("show")
def show_command(
    ctx: typer.Context,
    cid: int = typer.Argument(..., metavar="ID", parser=id_parser("customer")),
    timeline: bool = typer.Option(False, "--timeline", help="The customer's whole story: every message, "
                                  "note, call and event of all their conversations, newest last."),
    limit: int = limit_option("With --timeline: the newest this many entries."),
    all_: bool = typer.Option(False, "--all", help="With --timeline: every entry (ignores --limit)."),
    json_flag: bool = JSON_OPTION,
    fmt: str | None = FORMAT_OPTION,
) -> None:
    """Show a customer: identities on every channel and their conversations (or --timeline).

    With --timeline, --format tsv|csv|nl give one row per entry and --json the customer
    with a `timeline` list.
    """

    async def main() -> None:
        from omnidesk.cli import records
        from omnidesk.cli.conversations import LIST_COLUMNS
        from omnidesk.cli.output import choose_format, emit, render_json, render_nl
        from omnidesk.conversations import reads

        chosen = choose_format(fmt, json_flag)
        more = False
        async with desk_session(ctx) as desk:
            customer = await reads.get_customer(desk, cid)
            if timeline:
                rows, more = await _timeline_rows(desk, cid, None if all_ else limit)
            else:
                summaries = await reads.customer_conversations(desk, cid)
                rows = [records.conversation_summary(s) for s in summaries]
        key, fields = ("timeline", records.TIMELINE_FIELDS) if timeline else (
            "conversations", records.CONVERSATION_FIELDS)
        if chosen == "json" or (chosen == "nl" and not timeline):
            obj = records.customer(customer) | {key: rows}
            sys.stdout.write(render_json(obj) if chosen == "json" else render_nl([obj]))
            return
        if chosen in ("tsv", "csv", "nl"):
            emit(rows, chosen, fields=fields, columns=())
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
        if not timeline:
            emit(rows, "table", fields=fields, columns=LIST_COLUMNS, empty="No conversations.")
            return
        emit(_with_switches(rows), "table", fields=fields, columns=TIMELINE_COLUMNS, empty="Nothing yet.")
        if more:
            sys.stderr.write(f"Showing the newest {len(rows)}; use --limit N or --all for more.\n")

    run(main())


async def _timeline_rows(desk: Any, cid: int, limit: int | None) -> tuple[list[dict[str, Any]], bool]:
    """The newest `limit` entries (all for None) as records, oldest first; and whether older ones exist."""
    from omnidesk.cli import records
    from omnidesk.conversations import reads
    from omnidesk.conversations.eventtext import channel_names, describe

    entries: list[Any] = []
    before: str | None = None
    while True:
        want = 500 if limit is None else min(limit - len(entries), 500)
        page = await reads.customer_timeline(desk, cid, limit=want, before=before)
        entries[:0] = page.entries
        before = page.older
        if before is None or (limit is not None and len(entries) >= limit):
            break
    channels = channel_names(e.message for e in entries if e.message is not None)
    rows = [records.timeline_entry(e, describe(e.event, channels=channels) if e.event is not None else "")
            for e in entries]
    return rows, before is not None


def _with_switches(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Table rows with a `→ now on Telegram (tg), was support` line where the customer moved."""
    from omnidesk.conversations.eventtext import switch_line

    out: list[dict[str, Any]] = []
    for row in rows:
        if row["switched"]:
            out.append({"text": switch_line(row["channel"], row["channel_kind"], row["switched_from"])})
        out.append(row | {"text": (row["text"] or "").strip().split("\n", 1)[0]})
    return out


def _act(ctx: typer.Context, fmt: str | None, json_flag: bool,
         action: Callable[[Any], Awaitable[Any]]) -> None:
    """Run one changing service call as the acting agent and report its result."""

    async def main() -> None:
        from omnidesk.cli.actions import report
        from omnidesk.cli.output import choose_format

        chosen = choose_format(fmt, json_flag)
        async with desk_session(ctx, need_agent=True) as desk:
            result = await action(desk)
        report([result], chosen)

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

    from omnidesk.services import services

    _act(ctx, fmt, json_flag, lambda desk: services.merge_customers(desk, src, dst))


@customer_app.command("unmerge")
def unmerge_command(
    ctx: typer.Context,
    cid: int = typer.Argument(..., metavar="ID", parser=id_parser("customer"),
                              help="The customer something was merged into."),
    json_flag: bool = JSON_OPTION,
    fmt: str | None = FORMAT_OPTION,
) -> None:
    """Undo the latest merge into this customer."""

    from omnidesk.services import services

    _act(ctx, fmt, json_flag, lambda desk: services.unmerge_customer(desk, cid))


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


def _one_identity(email: str | None, phone: str | None, slack: str | None, telegram: str | None,
                  mastodon: str | None) -> tuple[str, str]:
    given = [(kind, value) for kind, value in (("email", email), ("phone", phone), ("slack", slack),
                                                ("telegram", telegram), ("mastodon", mastodon))
             if value is not None]
    if len(given) != 1:
        raise typer.BadParameter("give exactly one of --email, --phone, --slack, --telegram, --mastodon")
    return given[0]


_EMAIL = typer.Option(None, "--email", help="An email address.")
_PHONE = typer.Option(None, "--phone", help="A phone number with its country code (+36301234567).")
_SLACK = typer.Option(None, "--slack", help="A Slack user, USER@TEAM (U0123ABC@T0TEAM01).")
_TELEGRAM = typer.Option(None, "--telegram", help="A Telegram user id (5550001).")
_MASTODON = typer.Option(None, "--mastodon", help="A Mastodon account, acct@instance (ann@mastodon.social).")


def _identity_command(add: bool) -> Any:
    def command(
        ctx: typer.Context,
        cid: int = typer.Argument(..., metavar="ID", parser=id_parser("customer")),
        email: str | None = _EMAIL,
        phone: str | None = _PHONE,
        slack: str | None = _SLACK,
        telegram: str | None = _TELEGRAM,
        mastodon: str | None = _MASTODON,
        json_flag: bool = JSON_OPTION,
        fmt: str | None = FORMAT_OPTION,
    ) -> None:
        from omnidesk.services import customer_edits

        kind, address = _one_identity(email, phone, slack, telegram, mastodon)
        change = customer_edits.add_identity if add else customer_edits.remove_identity
        _act(ctx, fmt, json_flag, lambda desk: change(desk, cid, kind, address))

    command.__doc__ = (
        "Add an address to a customer (one that is another customer's is refused: merge them instead)."
        if add else "Remove an address from a customer (not their last one).")
    return command


identity_app.command("add")(_identity_command(add=True))
identity_app.command("remove")(_identity_command(add=False))


@customer_app.command("set")
def set_command(
    ctx: typer.Context,
    cid: int = typer.Argument(..., metavar="ID", parser=id_parser("customer")),
    language: str | None = typer.Option(None, "--language", help="ISO 639-1 code (hu, en, zh, fa); kept: "
                                        "detection no longer changes it. \"\" hands it back to detection."),
    timezone: str | None = typer.Option(None, "--timezone",
                                        help="IANA time zone (Europe/Budapest); \"\" clears."),
    tier: str | None = typer.Option(None, "--tier", help="Free text (gold); \"\" clears."),
    json_flag: bool = JSON_OPTION,
    fmt: str | None = FORMAT_OPTION,
) -> None:
    """Set a customer's language, time zone or tier (each change is an event on their timeline)."""

    from omnidesk.services import customer_edits

    _act(ctx, fmt, json_flag,
         lambda desk: customer_edits.set_customer(desk, cid, language=language, timezone=timezone, tier=tier))
