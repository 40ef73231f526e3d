"""`omnidesk list`, `show`, `search`: reading conversations."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import typer

from omnidesk.cli.common import desk_session, id_parser, limit_option, output_is_tty, run, run_read
from omnidesk.cli.output import FORMAT_OPTION, JSON_OPTION, Column

if TYPE_CHECKING:
    from omnidesk.model import SearchHit

LIST_COLUMNS = (
    Column("id", "ID", "id"),
    Column("status", "Status", "str"),
    Column("priority", "Prio", "str"),
    Column("customer_name", "Customer", "text", max_width=24),
    Column("subject", "Subject", "text", max_width=60),
    Column("assignee", "Assignee", "str"),
    Column("tags", "Tags", "list", max_width=24),
    Column("sla_due_at", "Due", "due"),
    Column("last_activity_at", "Activity", "time"),
)

HIT_COLUMNS = (
    Column("conversation_id", "Conv", "id"),
    Column("author", "From", "text", max_width=28),
    Column("sent_at", "When", "time"),
    Column("snippet", "Match", "text"),
)


def register(app: typer.Typer) -> None:
    app.command("list")(list_command)
    app.command("show")(show_command)
    app.command("search")(search_command)


def list_command(
    ctx: typer.Context,
    query: list[str] = typer.Argument(None, metavar="[QUERY]...",
                                      help="Search terms, e.g. status:open assignee:me tag:billing."),
    limit: int = limit_option("At most this many conversations."),
    all_: bool = typer.Option(False, "--all", help="Every matching conversation (ignores --limit)."),
    json_flag: bool = JSON_OPTION,
    fmt: str | None = FORMAT_OPTION,
) -> None:
    """List conversations matching a query, newest activity first.

    Without a status: term, everything except spam and merged-away conversations.
    """
    run_read(lambda read_only: _list(ctx, " ".join(query or ()), limit, all_, json_flag, fmt, read_only))


async def _list(ctx: typer.Context, query: str, limit: int, all_: bool, json_flag: bool,
                fmt: str | None, read_only: bool) -> None:
    from omnidesk.cli import records
    from omnidesk.cli.output import choose_format, emit
    from omnidesk.conversations import reads

    fmt = choose_format(fmt, json_flag)
    async with desk_session(ctx, read_only=read_only) as desk:
        rows: list[dict[str, Any]] = []
        after: str | None = None
        more = False
        while True:
            want = 500 if all_ else min(limit - len(rows), 500)
            page = await reads.list_conversations(desk, query, limit=want, after=after)
            rows.extend(records.conversation_summary(s) for s in page.items)
            after = page.next_after
            if after is None:
                break
            if not all_ and len(rows) >= limit:
                more = True
                break
    emit(rows, fmt, fields=records.CONVERSATION_FIELDS, columns=LIST_COLUMNS,
         empty="No conversations match." if query else "No conversations.")
    if more and fmt == "table":
        sys.stderr.write(f"Showing the first {len(rows)}; use --limit N or --all for more.\n")


def show_command(
    ctx: typer.Context,
    conversation_id: int = typer.Argument(..., metavar="ID", parser=id_parser("conversation"),
                                          help="Conversation id (123 or #123)."),
    json_flag: bool = JSON_OPTION,
    fmt: str | None = FORMAT_OPTION,
) -> None:
    """Show one conversation's whole timeline: messages of every channel, notes and events.

    --json gives the conversation with its messages and events; --format tsv/csv/nl
    give one row per message; piped without a format, plain text.
    """
    run(_show(ctx, conversation_id, json_flag, fmt))


async def _show(ctx: typer.Context, cid: int, json_flag: bool, fmt: str | None) -> None:
    from omnidesk.cli import records
    from omnidesk.cli.output import choose_format, emit, render_json
    from omnidesk.conversations import reads

    explicit = fmt is not None or json_flag
    fmt = choose_format(fmt, json_flag)
    async with desk_session(ctx) as desk:
        conv = await reads.get_conversation(desk, cid)
    if fmt == "json":
        sys.stdout.write(render_json(records.conversation(conv)))
    elif fmt in ("nl", "tsv", "csv") and (explicit or fmt != "tsv"):
        emit([records.message(m) for m in conv.messages], fmt, fields=records.MESSAGE_FIELDS, columns=())
    elif fmt == "table" and (output_is_tty() or explicit):
        from omnidesk.cli.timeline import print_timeline

        print_timeline(conv, desk.settings.desk.timezone)
    else:
        from omnidesk.cli.timeline import plain_timeline

        sys.stdout.write(plain_timeline(conv))


def search_command(
    ctx: typer.Context,
    query: list[str] = typer.Argument(..., metavar="QUERY...", help="Free words and filters."),
    limit: int = limit_option("At most this many messages."),
    json_flag: bool = JSON_OPTION,
    fmt: str | None = FORMAT_OPTION,
) -> None:
    """Search messages (full text), best match first, with highlighted snippets."""
    run_read(lambda read_only: _search(ctx, " ".join(query), limit, json_flag, fmt, read_only))


async def _search(ctx: typer.Context, query: str, limit: int, json_flag: bool, fmt: str | None,
                  read_only: bool) -> None:
    from omnidesk.cli import records
    from omnidesk.cli.output import choose_format, emit
    from omnidesk.conversations import reads

    fmt = choose_format(fmt, json_flag)
    async with desk_session(ctx, read_only=read_only) as desk:
        hits = await reads.search_messages(desk, query, limit=limit)
    if fmt == "table":
        if not hits:
            sys.stderr.write("No messages match.\n")
            return
        _print_hits(hits)
        return
    emit([records.search_hit(h) for h in hits], fmt, fields=records.HIT_FIELDS, columns=HIT_COLUMNS)


def _print_hits(hits: list[SearchHit]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from omnidesk.cli.output import relative_time
    from omnidesk.textsafe import one_line
    from omnidesk.timeutil import now_ms

    now = now_ms()
    table = Table(box=None, header_style="bold", pad_edge=False)
    for c in HIT_COLUMNS:
        table.add_column(Text(c.header), no_wrap=c.kind in ("id", "time"), max_width=c.max_width,
                         overflow="ellipsis", justify="right" if c.kind == "id" else "left")
    for h in hits:
        table.add_row(Text(f"#{h.conversation_id}"), Text(one_line(h.author)),
                      Text(relative_time(h.sent_at, now)), highlighted_snippet(h))
    Console(highlight=False, markup=False, emoji=False).print(table)


def highlighted_snippet(hit: SearchHit) -> Any:
    """The snippet as rich Text, matches in bold; each piece cleaned on its own so spans stay right."""
    from rich.text import Text

    from omnidesk.textsafe import one_line

    text = Text()
    pos = 0
    for start, end in sorted(hit.highlights):
        if start < pos:
            continue
        text.append(_keep_edges(hit.snippet[pos:start], one_line))
        text.append(one_line(hit.snippet[start:end]), style="bold reverse")
        pos = end
    text.append(_keep_edges(hit.snippet[pos:], one_line))
    return text


def _keep_edges(piece: str, fold: Any) -> str:
    """one_line() but keep one leading/trailing space, so words around a match stay apart."""
    core = fold(piece)
    if not core:
        return " " if piece[:1].isspace() else ""
    lead = " " if piece[:1].isspace() else ""
    trail = " " if piece[-1:].isspace() else ""
    return lead + core + trail

