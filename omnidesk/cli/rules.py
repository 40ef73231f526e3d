"""`omnidesk rules check [FILE]` and `omnidesk rules test ...`: routing rules, without applying them.

`check` reads a rules file and names its first mistake (file, line, rule, reason), or
says how many rules it holds; nothing is loaded into a running daemon (that re-reads
the file itself when it changes). `test` shows, for a message file or conversations,
which rules would fire and why; it changes nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from omnidesk.cli.common import desk_session, run
from omnidesk.cli.output import JSON_OPTION

if TYPE_CHECKING:
    from omnidesk.desk import Desk
    from omnidesk.rules.engine import Engine, Verdict

    Test = tuple[int | None, str, list[Verdict]]  # conversation, trigger, verdicts

rules_app = typer.Typer(help="Routing rules: check a file, test what would fire.", no_args_is_help=True)

RULES_FILE = typer.Option(None, "--rules", metavar="FILE",
                          help="The rules file (default: [desk] rules, else rules.toml beside the config).")


def register(app: typer.Typer) -> None:
    app.add_typer(rules_app, name="rules")


@rules_app.command("check")
def check_command(ctx: typer.Context, file: Path | None = typer.Argument(
        None, help="The rules file (default: the desk's).")) -> None:
    """Check a rules file: its syntax, keys, queries, and the agents and teams it names."""

    async def main() -> None:
        from omnidesk.errors import UserError
        from omnidesk.rules.routing import load_for
        from omnidesk.textsafe import one_line

        async with desk_session(ctx) as desk:
            path = file or desk.settings.rules_path
            if path is None:
                raise UserError("no rules file to check", hint="pass FILE, or set [desk] rules in the config")
            if file is not None and not file.exists():
                raise UserError(f"{file}: no such file")
            rules = await load_for(desk, path)
        count = len(rules.rules)
        state = "no rules file there (no rules)" if rules.signature is None else (
            f"{count} rule{'s' if count != 1 else ''}, ok")
        sys.stdout.write(f"{one_line(str(path))}: {state}\n")

    run(main())


@rules_app.command("test")
def test_command(
    ctx: typer.Context,
    message: Path | None = typer.Argument(None, metavar="[FILE.eml]",
                                          help="A message file, as if it arrived now."),
    conversation: int | None = typer.Option(None, "--conversation", "-n", metavar="N",
                                            help="Conversation #N as it is now."),
    query: str | None = typer.Option(None, "--query", "-q", metavar="Q",
                                     help="Every conversation matching Q."),
    trigger: str = typer.Option("new_conversation", "--trigger",
                                help="With -n or -q: the event to test (new_conversation, inbound_message, "
                                     "status_change, sla_warning, sla_breach)."),
    channel: str | None = typer.Option(None, "--channel", help="With FILE.eml: the channel it arrives on."),
    rules_file: Path | None = RULES_FILE,
    limit: int = typer.Option(50, "--limit", min=1, max=10_000, help="With -q: at most this many."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Also the rules that do not fire, and why."),
    json_flag: bool = JSON_OPTION,
) -> None:
    """Show which rules would fire, and why; nothing is changed.

    Examples: omnidesk rules test mail.eml | omnidesk rules test -n 42 |
    omnidesk rules test -q 'is:unassigned'
    """

    async def main() -> None:
        from omnidesk.errors import UserError
        from omnidesk.rules.routing import engine_for, explain, load_for
        from omnidesk.store.routing import TRIGGERS

        given = [x for x in (message, conversation, query) if x is not None]
        if len(given) != 1:
            raise UserError("give one of FILE.eml, --conversation N or --query Q")
        if trigger not in TRIGGERS:
            raise UserError(f"unknown trigger {trigger!r}: use one of {', '.join(TRIGGERS)}")
        async with desk_session(ctx) as desk:
            engine = engine_for(desk, await load_for(desk, rules_file))
            if message is not None:
                cid, event, verdicts = await _message(desk, engine, message, channel)
                tests = [(cid, event, verdicts)]
            else:
                if conversation is not None:
                    ids = [conversation]
                else:
                    from omnidesk.conversations import reads

                    ids = (await reads.conversation_ids(desk, query or ""))[:limit]
                    if not ids:
                        raise UserError(f"no conversation matches {query!r}")
                tests = [(cid, trigger, await explain(desk, engine, cid, trigger)) for cid in ids]
        _show(tests, json_flag, verbose)

    run(main())


async def _message(desk: Desk, engine: Engine, path: Path, channel_name: str | None) -> Test:
    """Rehearse a message file's arrival (read as `omnidesk import eml` reads it) on a channel."""
    from omnidesk.errors import UserError
    from omnidesk.inbound.importer import FILES_KIND
    from omnidesk.registry import importer_for
    from omnidesk.rules.routing import explain_message
    from omnidesk.store.channels import ensure_channel

    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror}") from None
    configured = [c for c in desk.settings.channels if channel_name in (None, c.name)]
    if not configured:
        raise UserError(f"no channel named {channel_name!r} in the configuration" if channel_name
                        else "no channel configured for the message to arrive on")
    settings = configured[0]
    chan = await ensure_channel(desk.db, settings.name, settings.kind, settings.address)
    return await explain_message(desk, engine, chan, importer_for(FILES_KIND).parse(raw, None))


def _show(tests: list[Test], json_flag: bool, verbose: bool) -> None:
    from omnidesk.cli.output import render_json
    from omnidesk.rules.routing import describe_actions
    from omnidesk.textsafe import one_line

    if json_flag:
        sys.stdout.write(render_json([
            {"conversation": cid, "trigger": event, "rule": v.rule.name, "fired": v.fired,
             "reasons": list(v.reasons), "actions": describe_actions(v.rule) if v.fired else []}
            for cid, event, verdicts in tests for v in verdicts]))
        return
    for cid, event, verdicts in tests:
        head = f"#{cid}" if cid is not None else "the message"
        if event in ("duplicate", "ours"):
            sys.stdout.write(f"{head}: {'already stored' if event == 'duplicate' else 'our own'};"
                             " no rules run\n")
            continue
        sys.stdout.write(f"{head} on {event}:\n")
        if not verdicts:
            sys.stdout.write("  no rules\n")
        for v in verdicts:
            if not v.fired and not verbose:
                continue
            mark = "fires" if v.fired else "no   "  # the text is folded to one line, the layout kept
            line = one_line(f"{v.rule.name}: {'; '.join(v.reasons)}")
            if v.fired:
                line += " -> " + one_line(", ".join(describe_actions(v.rule)))
            sys.stdout.write(f"  {mark} {line}\n")
        quiet = sum(1 for v in verdicts if not v.fired)
        if quiet and not verbose:
            sys.stdout.write(f"  ({quiet} other rule{'s do' if quiet != 1 else ' does'} not fire;"
                             " -v says why)\n")
