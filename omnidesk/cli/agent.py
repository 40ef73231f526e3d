"""`omnidesk agent add|list|deactivate|reactivate`: the people who work the desk."""

from __future__ import annotations

import typer

from omnidesk.cli.common import desk_session, run
from omnidesk.cli.output import FORMAT_OPTION, JSON_OPTION, Column

AGENT_COLUMNS = (
    Column("name", "Name", "str"),
    Column("display_name", "Display name", "text"),
    Column("email", "Email", "text"),
    Column("os_user", "OS user", "str"),
    Column("role", "Role", "str"),
    Column("active", "Active", "str"),
    Column("skills", "Skills", "list"),
    Column("teams", "Teams", "list"),
    Column("identities", "Identities", "list"),
    Column("capacity", "Capacity", "int"),
    Column("away_since", "Away since", "time"),
)

agent_app = typer.Typer(help="Agents: add, list, away and back, deactivate, reactivate.",
                        no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(agent_app, name="agent")


@agent_app.command("list")
def list_command(ctx: typer.Context, json_flag: bool = JSON_OPTION, fmt: str | None = FORMAT_OPTION) -> None:
    """List agents (configured ones and those added with `agent add`)."""

    async def main() -> None:
        from omnidesk.cli import records
        from omnidesk.cli.output import choose_format, emit
        from omnidesk.conversations import reads

        chosen = choose_format(fmt, json_flag)
        async with desk_session(ctx) as desk:
            agents = await reads.list_agents(desk)
        emit([records.agent(a) for a in agents], chosen, fields=records.AGENT_FIELDS, columns=AGENT_COLUMNS,
             empty="No agents. Add one with `omnidesk agent add NAME --os-user $USER`.")

    run(main())


@agent_app.command("add")
def add_command(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Short handle, e.g. alice."),
    display_name: str = typer.Option("", "--display-name", "-n"),
    email: str | None = typer.Option(None, "--email", help="The agent's address; replies go From it."),
    slack: list[str] = typer.Option(None, "--slack", help="Slack user, USER@TEAM. Repeatable."),
    telegram: list[str] = typer.Option(None, "--telegram", help="Telegram user id (5550001). Repeatable."),
    phone: list[str] = typer.Option(None, "--phone", help="Phone number, +country code. Repeatable."),
    mastodon: list[str] = typer.Option(None, "--mastodon", help="Mastodon handle user@instance. Repeatable."),
    os_user: str | None = typer.Option(None, "--os-user", help="Login that acts as this agent by default."),
    skill: list[str] = typer.Option(None, "--skill", help="Repeatable."),
    team: list[str] = typer.Option(None, "--team", help="Repeatable."),
    role: str = typer.Option("agent", "--role", help="agent, lead or admin (docs/security.md)."),
    json_flag: bool = JSON_OPTION,
    fmt: str | None = FORMAT_OPTION,
) -> None:
    """Add an agent to the database (agents in the config file are added automatically).

    A message from any of the agent's identities, on any channel, is recorded as
    the agent's own (outgoing), never as a customer's.
    """

    async def main() -> None:
        import re
        import sys

        from omnidesk.cli import records
        from omnidesk.cli.output import choose_format, emit
        from omnidesk.errors import UserError
        from omnidesk.services import services
        from omnidesk.textsafe import one_line

        chosen = choose_format(fmt, json_flag)
        if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", name):
            raise UserError(f"agent name {name!r}: use letters, digits, '_', '.', '-'")
        identities = [(kind, address) for kind, given in
                      (("slack", slack), ("telegram", telegram), ("phone", phone), ("mastodon", mastodon))
                      for address in given or ()]
        async with desk_session(ctx) as desk:
            agent = await services.add_agent(desk, name, display_name=display_name, email=email,
                                             os_user=os_user, skills=skill or (), teams=team or (),
                                             identities=identities, role=role)
        if chosen == "table":
            sys.stdout.write(f"Added agent {one_line(agent.name)}\n")
        else:
            emit([records.agent(agent)], chosen, fields=records.AGENT_FIELDS, columns=AGENT_COLUMNS)

    run(main())


@agent_app.command("away")
def away_command(
    ctx: typer.Context,
    name: str | None = typer.Argument(None, help="The agent (default: you)."),
    back: bool = typer.Option(False, "--back", help="Back again: the strategies give conversations again."),
) -> None:
    """Mark an agent away: routing's assignment strategies skip them until `--back`."""

    async def main() -> None:
        import sys

        from omnidesk.rules.assignment import mark_away
        from omnidesk.textsafe import one_line

        async with desk_session(ctx) as desk:
            sys.stdout.write(one_line(await mark_away(desk, name, away=not back)) + "\n")

    run(main())


def _set_active(ctx: typer.Context, name: str, active: bool, unassign: bool) -> None:
    async def main() -> None:
        import sys

        from omnidesk.services.staff import set_agent_active
        from omnidesk.textsafe import one_line

        async with desk_session(ctx, need_agent=True) as desk:
            result = await set_agent_active(desk, name, active, unassign=unassign)
        sys.stdout.write(one_line(result.description) + "\n")

    run(main())


@agent_app.command("deactivate")
def deactivate_command(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The agent."),
    unassign: bool = typer.Option(False, "--unassign", help="Also unassign their unresolved conversations."),
) -> None:
    """Deactivate an agent (admins): they can no longer act; their history stays."""
    _set_active(ctx, name, False, unassign)


@agent_app.command("reactivate")
def reactivate_command(ctx: typer.Context, name: str = typer.Argument(..., help="The agent.")) -> None:
    """Reactivate a deactivated agent (admins)."""
    _set_active(ctx, name, True, False)
