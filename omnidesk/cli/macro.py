"""`omnidesk macro list|show|apply|lint`: canned replies with actions (docs/macros.md)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer

from omnidesk.cli.common import desk_session, run
from omnidesk.cli.output import FORMAT_OPTION, JSON_OPTION, Column

if TYPE_CHECKING:
    from omnidesk.macros.library import Library
    from omnidesk.macros.lint import DeskFacts
    from omnidesk.settings import Settings

macro_app = typer.Typer(help="Macros: canned replies with actions.", no_args_is_help=True)

MACRO_FIELDS = ("name", "description", "variants", "languages", "actions")
MACRO_COLUMNS = (
    Column("name", "Name", "str"),
    Column("description", "Description", "text", max_width=50),
    Column("variants", "Variants", "list"),
    Column("languages", "Languages", "list"),
    Column("actions", "Actions", "list"),
)
LINT_FIELDS = ("macro", "where", "problem")


def register(app: typer.Typer) -> None:
    app.add_typer(macro_app, name="macro")


def _library(ctx: typer.Context) -> tuple[Settings, Library]:
    from omnidesk.cli.common import cli_state
    from omnidesk.macros.library import load_library
    from omnidesk.services.opendesk import load_config

    settings = load_config(cli_state(ctx).config_path)
    return settings, load_library(settings)


def _record(macro: object) -> dict[str, object]:
    from omnidesk.macros.definition import Macro

    assert isinstance(macro, Macro)
    return {
        "name": macro.name,
        "description": macro.description,
        "variants": list(macro.texts),
        "languages": list(dict.fromkeys(lang for texts in macro.texts.values() for lang in texts)),
        "actions": macro.actions.describe(),
    }


@macro_app.command("list")
def list_command(ctx: typer.Context, json_flag: bool = JSON_OPTION, fmt: str | None = FORMAT_OPTION) -> None:
    """List the macros of the macro folder ([macros] dir)."""
    from omnidesk.cli.common import guarded
    from omnidesk.cli.output import choose_format, emit

    def main() -> None:
        chosen = choose_format(fmt, json_flag)
        _, library = _library(ctx)
        emit([_record(m) for m in library.macros.values()], chosen, fields=MACRO_FIELDS,
             columns=MACRO_COLUMNS,
             empty=f"No macros in {library.folder}. See docs/macros.md.")
        if library.problems:
            sys.stderr.write(f"omnidesk: {len(library.problems)} macro file(s) cannot be read;"
                             " see `omnidesk macro lint`\n")

    guarded(main)


@macro_app.command("show")
def show_command(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The macro's name (its file name without .toml)."),
    json_flag: bool = JSON_OPTION,
) -> None:
    """Show a macro: its actions and every variant, as written."""
    from omnidesk.cli.common import guarded
    from omnidesk.cli.output import render_json
    from omnidesk.textsafe import clean

    def main() -> None:
        _, library = _library(ctx)
        macro = library.get(name)
        if json_flag:
            sys.stdout.write(render_json({**_record(macro), "texts": macro.texts}))
            return
        out = [f"{macro.name}: {macro.description}" if macro.description else macro.name]
        if macro.actions:
            out.append("actions: " + ", ".join(macro.actions.describe()))
        for variant, by_language in macro.texts.items():
            for language, text in by_language.items():
                out += ["", f"[text.{variant}.{language}]", text.rstrip("\n")]
        sys.stdout.write(clean("\n".join(out)) + "\n")

    guarded(main)


@macro_app.command("apply")
def apply_command(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The macro's name."),
    query: str = typer.Argument(..., metavar="QUERY", help="Conversations: #12, or a search query."),
    via: str | None = typer.Option(None, "--via", metavar="CHANNEL", help="Reply on this channel."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask; required for several conversations "
                             "when not on a terminal."),
    force: bool = typer.Option(False, "--force", help="Reply even where another agent replied after you "
                               "last read the conversation."),
    json_flag: bool = JSON_OPTION,
    fmt: str | None = FORMAT_OPTION,
) -> None:
    """Reply to every conversation QUERY matches with the macro, and apply its actions.

    Every reply is rendered first (in the variant for its channel and the customer's
    language); a template problem for any of them queues nothing, and so does a
    conversation another agent answered since you last read it (unless --force).
    Several conversations are confirmed like other bulk commands.
    Example: omnidesk macro apply refund-received 'tag:refund status:open' --yes
    """

    async def main() -> None:
        from omnidesk.cli.actions import report
        from omnidesk.cli.common import confirm_bulk, target_ids
        from omnidesk.cli.output import choose_format
        from omnidesk.errors import ReplyCollision, UserError
        from omnidesk.macros.library import load_library
        from omnidesk.services import macro_replies
        from omnidesk.textsafe import one_line

        chosen = choose_format(fmt, json_flag)
        async with desk_session(ctx, need_agent=True) as desk:
            macro = load_library(desk.settings).get(name)
            targets = await target_ids(desk, [], query)
            prepared = await macro_replies.render_all(desk, macro, targets, channel=via)
            preview = [f"#{p.conversation_id} via {p.route.channel} to {one_line(p.route.to)}"
                       f" ({p.variant}, {p.language}): {one_line(p.text)[:60]}" for p in prepared]
            confirm_bulk(f"macro {name}", targets, yes=yes, preview=preview)
            try:
                results = await macro_replies.send_all(desk, prepared, force=force)
            except ReplyCollision as exc:
                raise UserError(f"{exc}; nothing was queued", hint="--force replies anyway") from None
        report(results, chosen)

    run(main())


def desk_facts(settings: Settings) -> DeskFacts:
    """The reply styles, channels and agents of the configured desk, for lint."""
    from omnidesk.macros.lint import DeskFacts
    from omnidesk.macros.variants import STYLES, style
    from omnidesk.registry import capabilities

    styles: set[str] = set()
    sms_keys = {"sms"}
    for channel in settings.channels:
        caps = capabilities(channel.kind)
        if not caps.can_send:
            continue
        mine = {style(caps.subject, kind) for kind in caps.addresses}
        styles |= mine
        if "sms" in mine:
            sms_keys |= {channel.name, channel.kind}
    return DeskFacts(
        styles=tuple(s for s in STYLES if s in styles) if styles else STYLES,
        channels=frozenset(c.name for c in settings.channels),
        kinds=frozenset(c.kind for c in settings.channels),
        sms_keys=frozenset(sms_keys),
        agents=frozenset(a.name for a in settings.agents) if settings.agents else None,
        language=settings.desk.language,
    )


@macro_app.command("lint")
def lint_command(ctx: typer.Context, json_flag: bool = JSON_OPTION, fmt: str | None = FORMAT_OPTION) -> None:
    """Check every macro: missing variants and languages, SMS texts over one segment, undefined
    variables, template errors. Exit 1 when anything is found."""
    from omnidesk.cli.common import guarded
    from omnidesk.cli.output import choose_format, emit
    from omnidesk.macros.lint import lint
    from omnidesk.textsafe import one_line

    def main() -> None:
        chosen = choose_format(fmt, json_flag)
        settings, library = _library(ctx)
        findings = lint(library, desk_facts(settings))
        if chosen == "table":
            for f in findings:
                sys.stdout.write(one_line(f.line()) + "\n")
        else:
            emit([f._asdict() for f in findings], chosen, fields=LINT_FIELDS, columns=())
        count = len(library.macros) + len(library.problems)
        sys.stderr.write(f"{len(findings)} finding(s) in {count} macro(s) in {library.folder}\n")
        if findings:
            raise typer.Exit(1)

    guarded(main)
