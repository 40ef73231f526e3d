"""docs/cli.md covers every command and every machine-readable field."""

from __future__ import annotations

import typer.main

from omnidesk.cli import records
from omnidesk.cli.app import build_app
from omnidesk.cli.doctor import CHECK_FIELDS
from tests.cli.conftest import REPO

DOC = (REPO / "docs" / "cli.md").read_text("utf-8")


def test_every_command_has_a_section() -> None:
    group = typer.main.get_command(build_app())
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        assert f"`omnidesk {name}" in DOC, name
        for sub in getattr(command, "commands", {}):
            assert sub in DOC, f"{name} {sub}"


def test_every_field_is_documented() -> None:
    fields = set(records.CONVERSATION_FIELDS + records.MESSAGE_FIELDS + records.EVENT_FIELDS
                 + records.CUSTOMER_FIELDS + records.AGENT_FIELDS + records.OUTBOX_FIELDS + records.HIT_FIELDS
                 + records.ACTION_FIELDS + CHECK_FIELDS)
    missing = sorted(f for f in fields if f"`{f}`" not in DOC)
    assert missing == []


def test_exit_codes_are_documented() -> None:
    for code in ("| 0 |", "| 1 |", "| 2 |", "| 3 |", "| 130 |"):
        assert code in DOC
