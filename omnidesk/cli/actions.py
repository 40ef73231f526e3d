"""Agent actions on conversations: assign, tag, status, priority, note, reply, merge.

Each command takes conversation ids (`12 #13`) or `--query Q`. A query that
matches several conversations shows what it would change and asks on a
terminal; without one it needs `--yes` (nobody could answer a prompt). Every
command calls one function of omnidesk.services.services, the same one the TUI calls.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from omnidesk.cli.common import confirm_bulk, desk_session, guarded, id_parser, run, target_ids
from omnidesk.cli.output import FORMAT_OPTION, JSON_OPTION

if TYPE_CHECKING:
    from omnidesk.desk import Desk
    from omnidesk.services.services import ActionResult

IDS = typer.Argument(None, metavar="[ID]...", help="Conversation ids (12 or #12).")
QUERY = typer.Option(None, "--query", "-q", metavar="Q", help="Act on every conversation matching Q.")
YES = typer.Option(False, "--yes", "-y", help="Do not ask; required for a --query touching several "
                   "conversations when not on a terminal.")


def register(app: typer.Typer) -> None:
    app.command("assign")(assign_command)
    app.command("tag")(tag_command)
    app.command("status")(status_command)
    app.command("priority")(priority_command)
    app.command("note")(note_command)
    app.command("reply")(reply_command)
    app.command("merge")(merge_command)


# -- shared shape ---------------------------------------------------------------------


async def _bulk(ctx: typer.Context, ids: Sequence[str] | None, query: str | None, yes: bool,
                what: str, act: Callable[[Desk, list[int]], Awaitable[list[ActionResult]]],
                json_flag: bool, fmt: str | None) -> None:
    """Resolve targets, confirm when a query touches several, act, report."""
    from omnidesk.cli.output import choose_format

    fmt = choose_format(fmt, json_flag)
    async with desk_session(ctx, need_agent=True) as desk:
        targets = await target_ids(desk, list(ids or ()), query)
        if query is not None:
            confirm_bulk(what, targets, yes=yes, preview=await _preview(desk, query))
        results = await act(desk, targets)
    report(results, fmt)


async def _preview(desk: Desk, query: str) -> list[str]:
    from omnidesk.conversations import reads
    from omnidesk.textsafe import one_line

    page = await reads.list_conversations(desk, query, limit=20)
    return [f"#{s.id} [{s.status}] {one_line(s.customer_name or s.customer_address)}: "
            f"{one_line(s.subject)[:60]}" for s in page.items]


def report(results: Sequence[ActionResult], fmt: str) -> None:
    """Machine formats: one action record each (json: an array). People: the descriptions."""
    from omnidesk.cli import records
    from omnidesk.cli.output import emit, render_json
    from omnidesk.textsafe import one_line

    rows = [records.action_result(r) for r in results]
    if fmt == "json":
        sys.stdout.write(render_json(rows))
    elif fmt != "table":
        emit(rows, fmt, fields=records.ACTION_FIELDS, columns=())
    else:
        for r in results:
            sys.stdout.write(one_line(r.description) + "\n")
    sys.stdout.flush()


# -- commands -------------------------------------------------------------------------


def assign_command(
    ctx: typer.Context,
    agent: str | None = typer.Argument(None, metavar="AGENT",
                                       help="Agent name, `me`, or `none` to unassign (not with --auto)."),
    ids: list[str] = IDS,
    team: str | None = typer.Option(None, "--team", help="Also set the team (with --auto: pick in it)."),
    auto: bool = typer.Option(False, "--auto", help="Let a strategy pick each conversation's agent."),
    strategy: str = typer.Option("least-open", "--strategy",
                                 help="With --auto: round-robin, least-open or skills."),
    query: str | None = QUERY,
    yes: bool = YES,
    json_flag: bool = JSON_OPTION,
    fmt: str | None = FORMAT_OPTION,
) -> None:
    """Assign conversations to an agent (and/or a team); `none` unassigns; `--auto` lets a strategy pick.

    Examples: omnidesk assign alice 12 13 | omnidesk assign me --query 'is:unassigned tag:billing' --yes |
    omnidesk assign --auto --strategy skills --query is:unassigned
    """
    from omnidesk.errors import UsageError
    from omnidesk.services import services

    if auto:
        from omnidesk.rules.model import STRATEGIES

        if agent is not None and not ids and query is None:
            ids = [agent]  # `assign --auto 12`: the argument is a conversation
        elif agent is not None:
            ids = [agent, *(ids or [])]
        if strategy not in STRATEGIES:
            run(_raise(UsageError(f"--strategy must be one of {', '.join(STRATEGIES)}")))

        async def act_auto(desk: Desk, targets: list[int]) -> list[ActionResult]:
            from omnidesk.rules.assignment import auto_assign

            results, left = await auto_assign(desk, targets, strategy, team)
            for line in left:
                sys.stderr.write(f"omnidesk: {line}\n")
            return results

        run(_bulk(ctx, ids, query, yes, f"assign by {strategy}", act_auto, json_flag, fmt))
        return
    if agent is None:
        run(_raise(UsageError("give an AGENT, or --auto")))
        return
    assignee = None if agent.lower() in ("none", "-", "nobody") else agent

    async def act(desk: Desk, targets: list[int]) -> list[ActionResult]:
        return [await services.assign(desk, targets, assignee, team=team)]

    run(_bulk(ctx, ids, query, yes, f"assign {agent}", act, json_flag, fmt))


def tag_command(
    ctx: typer.Context,
    ids: list[str] = IDS,
    add: list[str] = typer.Option(None, "--add", "-a", metavar="TAG", help="Tag to add (repeatable)."),
    remove: list[str] = typer.Option(None, "--remove", "-r", metavar="TAG",
                                     help="Tag to remove (repeatable)."),
    query: str | None = QUERY,
    yes: bool = YES,
    json_flag: bool = JSON_OPTION,
    fmt: str | None = FORMAT_OPTION,
) -> None:
    """Add and remove tags. Example: omnidesk tag 12 --add billing --remove urgent"""
    from omnidesk.errors import UserError
    from omnidesk.services import services

    add, remove = list(add or ()), list(remove or ())
    if not add and not remove:
        run(_raise(UserError("nothing to do: give --add TAG and/or --remove TAG")))

    async def act(desk: Desk, targets: list[int]) -> list[ActionResult]:
        return [await services.tag(desk, targets, add=add, remove=remove)]

    what = "tag " + " ".join([f"+{t}" for t in add] + [f"-{t}" for t in remove])
    run(_bulk(ctx, ids, query, yes, what, act, json_flag, fmt))


def status_command(
    ctx: typer.Context,
    status: str = typer.Argument(..., metavar="STATUS", help="open | pending | snoozed | resolved | spam"),
    ids: list[str] = IDS,
    until: str | None = typer.Option(None, "--until", metavar="WHEN",
                                     help="For snoozed: 30m, 4h, 2d, 1w, tomorrow, 2026-12-01, ISO time."),
    query: str | None = QUERY,
    yes: bool = YES,
    json_flag: bool = JSON_OPTION,
    fmt: str | None = FORMAT_OPTION,
) -> None:
    """Set the status. Example: omnidesk status resolved 12 13; omnidesk status snoozed 12 --until 2d"""
    from omnidesk.cli.when import parse_when
    from omnidesk.errors import UserError
    from omnidesk.model import STATUSES
    from omnidesk.services import services

    status = status.lower()
    if status not in STATUSES:
        run(_raise(UserError(f"unknown status {status!r}; expected one of {', '.join(STATUSES)}")))
    if status == "snoozed" and until is None:
        run(_raise(UserError("snoozed needs --until WHEN (e.g. --until 4h or --until 2026-12-01)")))
    if status != "snoozed" and until is not None:
        run(_raise(UserError("--until only goes with status snoozed")))

    async def act(desk: Desk, targets: list[int]) -> list[ActionResult]:
        snooze = parse_when(until, desk.settings.desk.timezone) if until else None
        return [await services.set_status(desk, targets, status, snooze_until=snooze)]  # type: ignore[arg-type]

    run(_bulk(ctx, ids, query, yes, f"status {status}", act, json_flag, fmt))


def priority_command(
    ctx: typer.Context,
    priority: str = typer.Argument(..., metavar="PRIORITY", help="low | normal | high | urgent"),
    ids: list[str] = IDS,
    query: str | None = QUERY,
    yes: bool = YES,
    json_flag: bool = JSON_OPTION,
    fmt: str | None = FORMAT_OPTION,
) -> None:
    """Set the priority. Example: omnidesk priority urgent 12"""
    from omnidesk.errors import UserError
    from omnidesk.model import PRIORITIES
    from omnidesk.services import services

    priority = priority.lower()
    if priority not in PRIORITIES:
        run(_raise(UserError(f"unknown priority {priority!r}; expected one of {', '.join(PRIORITIES)}")))

    async def act(desk: Desk, targets: list[int]) -> list[ActionResult]:
        return [await services.set_priority(desk, targets, priority)]  # type: ignore[arg-type]

    run(_bulk(ctx, ids, query, yes, f"priority {priority}", act, json_flag, fmt))


TARGETS_AND_TEXT = typer.Argument(None, metavar="[ID]... [TEXT]",
                                  help="Conversation ids, then optionally the text (quoted).")


def split_text(args: list[str] | None, text: str | None) -> tuple[list[str], str | None]:
    """`reply 12 13 "Thanks!"`: a last argument that is not an id is the text."""
    import re

    args = list(args or ())
    if args and not re.fullmatch(r"#?\d+", args[-1].strip()):
        if text is not None:
            from omnidesk.errors import UserError

            raise UserError("give the text as an argument or with --text, not both")
        return args[:-1], args[-1]
    return args, text


def note_command(
    ctx: typer.Context,
    ids: list[str] = TARGETS_AND_TEXT,
    text: str | None = typer.Option(None, "--text", "-m", metavar="TEXT", help="The note ('-' reads stdin)."),
    file: Path | None = typer.Option(None, "--file", "-f", metavar="PATH", help="Read the note from a file."),
    query: str | None = QUERY,
    yes: bool = YES,
    json_flag: bool = JSON_OPTION,
    fmt: str | None = FORMAT_OPTION,
) -> None:
    """Add an internal note (never sent to the customer). Example: omnidesk note 12 "called the bank"

    The text comes from the last argument, --text, --file, stdin when piped, or
    $VISUAL/$EDITOR on a terminal.
    """
    from omnidesk.cli.body import read_body
    from omnidesk.services import services

    ids, text = guarded(lambda: split_text(ids, text))
    # Read the text before the event loop starts: Ctrl-C must interrupt a read from stdin.
    note = guarded(lambda: read_body(text, file, purpose="note"))

    async def act(desk: Desk, targets: list[int]) -> list[ActionResult]:
        return [await services.add_note(desk, cid, note) for cid in targets]

    run(_bulk(ctx, ids, query, yes, "add a note to", act, json_flag, fmt))


def reply_command(
    ctx: typer.Context,
    ids: list[str] = TARGETS_AND_TEXT,
    text: str | None = typer.Option(None, "--text", "-m", metavar="TEXT",
                                    help="The reply ('-' reads stdin)."),
    file: Path | None = typer.Option(None, "--file", "-f", metavar="PATH",
                                     help="Read the reply from a file."),
    channel: str | None = typer.Option(None, "--via", "--channel", metavar="CHANNEL",
                                       help="Send through this channel, to the customer's identity there"
                                       " (default: the channel of the latest inbound message)."),
    to: str | None = typer.Option(None, "--to", metavar="ADDRESS", help="Another identity of the customer."),
    reply_all: bool = typer.Option(False, "--all", help="Reply to everyone on the thread (email)."),
    cc: list[str] = typer.Option(None, "--cc", metavar="ADDRESS",
                                 help="Copy this address (repeatable; email)."),
    bcc: list[str] = typer.Option(None, "--bcc", metavar="ADDRESS",
                                  help="Blind copy: envelope only, never a header (repeatable; email)."),
    attach: list[Path] = typer.Option(None, "--attach", metavar="PATH", exists=True, dir_okay=False,
                                      help="Attach a file (repeatable)."),
    template: str | None = typer.Option(None, "--template", metavar="NAME",
                                        help="Send this approved template of the channel instead of a text"
                                        " (WhatsApp outside the 24-hour window)."),
    variables: list[str] = typer.Option(None, "--var", metavar="KEY=VALUE",
                                        help="A template variable (repeatable): --var 1=Anna."),
    visibility: str | None = typer.Option(None, "--visibility", metavar="VISIBILITY",
                                          help="Mastodon: public, unlisted, private or direct (default: as"
                                          " the customer wrote; a public mention is answered unlisted)."),
    query: str | None = QUERY,
    yes: bool = YES,
    force: bool = typer.Option(False, "--force", help="Send even if another agent replied after you last "
                               "read the conversation (asked on a terminal; required without one)."),
    json_flag: bool = JSON_OPTION,
    fmt: str | None = FORMAT_OPTION,
) -> None:
    """Queue a reply to the customer; it leaves after the undo window (`omnidesk outbox cancel` stops it).

    The text comes from the last argument (omnidesk reply 12 "Thanks, fixed."), --text,
    --file, stdin when piped, or $VISUAL/$EDITOR on a terminal.
    """
    from omnidesk.cli.body import read_body
    from omnidesk.services import services

    ids, text = guarded(lambda: split_text(ids, text))
    files = [str(p.resolve()) for p in attach or ()]
    values = guarded(lambda: services.template_variables(variables or (), "--var "))
    # Read the text before the event loop starts: Ctrl-C must interrupt a read from stdin.
    # A template needs no text: the channel sends the template.
    reply = "" if template and text is None and file is None else guarded(
        lambda: read_body(text, file, purpose="reply"))

    async def act(desk: Desk, targets: list[int]) -> list[ActionResult]:
        results = []
        for cid in targets:
            async def send(cid: int = cid, force: bool = force) -> ActionResult:
                return await services.queue_reply(desk, cid, reply, channel=channel, to=to,
                                                  reply_all=reply_all, cc=cc or (), bcc=bcc or (),
                                                  attachments=files, force=force, template=template or "",
                                                  template_variables=values,
                                                  choices={"visibility": visibility} if visibility else None)

            result = await _unless_collision(send)
            if result is not None:
                results.append(result)
        return results

    run(_bulk(ctx, ids, query, yes, "reply to", act, json_flag, fmt))


async def _unless_collision(send: Callable[..., Awaitable[ActionResult]]) -> ActionResult | None:
    """Send; when another agent replied since you last read it, ask on a terminal, refuse without one.

    None when the person at the terminal says no (that conversation gets no reply).
    """
    from omnidesk.cli.common import is_tty
    from omnidesk.errors import ReplyCollision, UserError

    try:
        return await send()
    except ReplyCollision as exc:
        if not is_tty():
            raise UserError(f"{exc}; --force sends it anyway (required when not running interactively)"
                            ) from None
        if not typer.confirm(f"{exc}. Send anyway?", default=False, err=True):
            sys.stderr.write(f"not sent to #{exc.conversation_id}\n")
            return None
        return await send(force=True)


def merge_command(
    ctx: typer.Context,
    ids: list[str] = IDS,
    target: int = typer.Option(..., "--into", metavar="ID", parser=id_parser("conversation"),
                               help="The conversation that keeps the messages."),
    query: str | None = QUERY,
    yes: bool = YES,
    json_flag: bool = JSON_OPTION,
    fmt: str | None = FORMAT_OPTION,
) -> None:
    """Merge conversations into another (reversible). Example: omnidesk merge 14 15 --into 12"""
    from omnidesk.services import services

    async def act(desk: Desk, targets: list[int]) -> list[ActionResult]:
        return [await services.merge_conversations(desk, cid, target) for cid in targets if cid != target]

    run(_bulk(ctx, ids, query, yes, f"merge into #{target}", act, json_flag, fmt))


async def _raise(exc: Exception) -> Any:
    raise exc
