"""Every event kind the code writes reads as a sentence; hostile values stay inert."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from omnidesk.conversations.eventtext import KNOWN_KINDS, describe, message_marks
from omnidesk.eventkinds import EVENT_KINDS, EventKind
from omnidesk.model import Event, Message, MessageEdit
from omnidesk.store.events import write_event

H = 3_600_000
SNOOZE = 1_795_000_000_000  # 2026-11-18 11:06 UTC


def ev(kind: str, before: object = None, after: object = None, agent: str | None = "alice") -> Event:
    return Event(id=1, conversation_id=7, customer_id=3, agent=agent, kind=kind,
                 before=before, after=after, created_at=0)


CASES = [
    (ev("created", None, {"rule": "new", "channel_id": 1, "linked_to": None}, agent=None),
     "conversation started via support"),
    (ev("created", None, {"rule": "token", "channel_id": 1, "linked_to": 12}, agent=None),
     "conversation started via support (follows #12)"),
    (ev("created", None, {"channel": "phone"}), "alice started this conversation via phone"),
    (ev("assigned", {"assignee": None, "team": None}, {"assignee": "bob", "team": None}),
     "alice assigned this to bob"),
    (ev("assigned", {"assignee": "bob", "team": None}, {"assignee": "bob", "team": "billing"}),
     "alice assigned this to bob (team billing)"),
    (ev("assigned", {"assignee": "bob", "team": None}, {"assignee": None, "team": None}),
     "alice unassigned this"),
    (ev("tagged", {"tags": []}, {"tags": ["bug"]}, agent="chen"), "chen tagged +bug"),
    (ev("tagged", {"tags": ["bug", "vip"]}, {"tags": ["vip", "refund"]}), "alice tagged +refund -bug"),
    (ev("status", {"status": "open", "snoozed_until": None}, {"status": "resolved", "snoozed_until": None}),
     "alice changed status open → resolved"),
    (ev("status", {"status": "open"}, {"status": "snoozed", "snoozed_until": SNOOZE}),
     "alice snoozed this until 2026-11-18 11:06"),
    (ev("status", {"status": "snoozed", "snoozed_until": SNOOZE},
        {"status": "open", "reason": "snooze ended"}, agent=None), "snooze ended: open again"),
    (ev("status", {"status": "resolved"}, {"status": "open", "undo_of": 4}),
     "alice changed status resolved → open (undo)"),
    (ev("priority", {"priority": "normal"}, {"priority": "urgent"}),
     "alice changed priority normal → urgent"),
    (ev("reopened", {"status": "resolved"}, {"status": "open", "message_id": 9, "rule": "reply"}, agent=None),
     "reopened by a new message (was resolved)"),
    (ev("linked", None, {"conversation_id": 44, "rule": "token"}, agent=None), "linked to #44"),
    (ev("channel_switched", {"channel_id": 1}, {"channel_id": 2, "message_id": 9, "rule": "continuity"},
        agent=None), "the customer continued via telegram (was support)"),
    (ev("note", None, {"message_id": 3}), "alice added an internal note"),
    (ev("note_removed", {"message_id": 3}, {"undo_of": 2}), "alice removed an internal note"),
    (ev("reply_queued", None, {"message_id": 558, "outbox_id": 45, "channel": "support",
                               "to": "ann.lee@mail.example"}),
     "alice queued a reply via support to ann.lee@mail.example"),
    (ev("reply_cancelled", {"delivery": "queued"}, {"delivery": "cancelled", "message_id": 5}),
     "alice cancelled a queued reply"),
    (ev("reply_retried", {"delivery": "failed", "error": "550 no such user"},
        {"delivery": "queued", "message_id": 5}),
     "alice retried a failed reply (550 no such user)"),
    (ev("delivery_report", {"delivery": "sent"},
        {"state": "failed", "status": "5.1.1", "diagnostic": "550 5.1.1 User unknown",
         "reason": "550 5.1.1 User unknown", "recipients": ["ann@example.com"], "message_id": 5}, agent=None),
     "a reply could not be delivered to ann@example.com: 550 5.1.1 User unknown"),
    (ev("delivery_report", {"delivery": "sent"}, {"state": "delayed", "status": "", "diagnostic": "",
                                                  "recipients": []}, agent=None),
     "a reply is delayed"),
    (ev("delivery_changed", {"delivery": "sent"},
        {"delivery": "read", "code": "", "detail": "", "message_id": 5}, agent=None),
     "a reply was read"),
    (ev("delivery_changed", {"delivery": "sent"},
        {"delivery": "undelivered", "code": "30007", "detail": "Carrier violation", "message_id": 5},
        agent=None),
     "a reply could not be delivered: 30007 Carrier violation"),
    (ev("message_edited", {"text": "سفارشم\nکجاست"}, {"text": "new", "message_id": 5}, agent=None),
     "a message was edited; it said: سفارشم کجاست"),
    (ev("message_deleted", None, {"message_id": 5}, agent=None),
     "a message was deleted on its channel (its text is kept)"),
    (ev("call_logged", None, {"message_id": 5, "direction": "in", "duration_seconds": 125}),
     "alice logged an incoming call (2:05)"),
    (ev("merged", {"message_count": 2}, {"source": 5, "message_ids": [1, 2], "tags_added": [],
                                          "participants_added": []}),
     "alice merged #5 into this (2 messages)"),
    (ev("merged_into", {"merged_into": None}, {"merged_into": 7}), "alice merged this into #7"),
    (ev("unmerged", {"merged_into": 7}, {"merged_into": None, "undo_of": 1}),
     "alice undid the merge into #7 (undo)"),
    (ev("unmerged", {"source": 5}, {"merged_into": None, "undo_of": 1}), "alice split #5 back out (undo)"),
    (ev("message_moved", {"conversation_id": 5}, {"conversation_id": 7, "message_id": 9}),
     "alice moved a message from #5 to #7"),
    (ev("customer_merged", {"source_name": "Ann", "target_name": ""}, {"source": 4, "target": 3}),
     "alice merged Ann into this customer"),
    (ev("customer_unmerged", {"source": 4, "target": 3}, {"source": 4}), "alice split customer 4 back out"),
    (ev("customer_changed", {"customer_id": 4}, {"customer_id": 3}),
     "alice moved this from customer 4 to customer 3"),
    (ev("agent_added", None, {"agent": "dana"}), "alice added agent dana"),
    (ev("agent_deactivated", None, {"agent": "dana"}), "alice deactivated agent dana"),
    (ev("agent_reactivated", None, {"agent": "dana"}), "alice reactivated agent dana"),
    (ev("customer_exported", None, {"messages": 3}), "alice exported everything held about this customer"),
    (ev("customer_erased", None, {"messages": 3}), "alice erased this customer's personal data"),
    (ev("retention_applied", None, {"raw": 3, "conversations": 1}, agent=None),
     "system applied the retention policy: raw bytes of 3 messages, 1 conversation"),
    (ev("role_changed", {"agent": "dana", "role": "agent"}, {"agent": "dana", "role": "lead"}, agent=None),
     "system made dana lead (was agent)"),
    (ev("identity_linked", {"customer_id": 9},
        {"kind": "telegram", "address": "5550001", "by_kind": "phone", "by_address": "+36301234567",
         "channel_kind": "telegram"}, agent=None),
     "Telegram user 5550001 linked to this customer by the phone number shared on Telegram (+36301234567)"),
    (ev("identity_added", None, {"kind": "email", "address": "zahra@example.ir", "channel_kind": "slack"},
        agent=None), "email address zahra@example.ir added to this customer, shared on Slack"),
    (ev("opted_out", None, {"kind": "phone", "address": "+36301234567", "message_id": 4}, agent=None),
     "phone number +36301234567 opted out of messages (STOP): nothing is sent to it"),
    (ev("opted_in", None, {"kind": "phone", "address": "+36301234567", "message_id": 5}, agent=None),
     "phone number +36301234567 opted in to messages again (START)"),
    (ev("survey_sent", None, {"survey_id": 1, "kind": "csat", "channel": "tg"}, agent=None),
     "the customer was asked for a CSAT rating via tg"),
    (ev("survey_sent", None, {"survey_id": 1, "kind": "nps", "channel": "sms",
                              "skipped": "the reply is not queued: +36301234567 opted out"}, agent=None),
     "the NPS survey was not sent: the reply is not queued: +36301234567 opted out"),
    (ev("survey_answered", None, {"survey_id": 1, "kind": "nps", "rating": 9, "via": "link"}, agent=None),
     "the customer rated this 9/10 (NPS)"),
    (ev("survey_commented", None, {"survey_id": 1, "comment": "[red]x[/] \x1b[2J\u202eok\nmore"}, agent=None),
     "the customer commented: [red]x[/] \u241b[2Jok more"),  # inert: no escape, no bidi, one line
    (ev("identity_added", None, {"kind": "phone", "address": "+36301234567"}),
     "alice added the phone number +36301234567"),
    (ev("identity_removed", {"kind": "slack", "address": "U1@T1"}), "alice removed the Slack user U1@T1"),
    (ev("customer_set", {"field": "tier", "value": "gold"}, {"field": "tier", "value": "platinum"}),
     "alice set tier platinum (was gold)"),
    (ev("customer_set", {"field": "language", "value": "en"}, {"field": "language", "value": "hu",
                                                                "manual": True}),
     "alice set language hu (was en)"),
    (ev("customer_set", {"field": "language", "value": "hu"}, {"field": "language", "value": None,
                                                                "manual": False}),
     "alice let detection set the language (was hu)"),
    (ev("sla_warning", None, {"target": "first_response", "policy": "urgent", "due_at": 1_795_000_000_000,
                              "notify": ["lead"]}, agent=None),
     "the first response target of SLA policy 'urgent' is due soon (due 2026-11-18 11:06); told lead"),
    (ev("sla_breached", None, {"target": "resolution", "policy": "Számla", "due_at": None, "notify": []},
        agent=None), "the resolution target of SLA policy 'Számla' was breached"),
    (ev("auto_acknowledged", None, {"macro": "köszönjük\x1b[31m", "message_id": 9}, agent=None),
     "acknowledged automatically with macro 'köszönjük␛[31m'"),
]


@pytest.mark.parametrize(("event", "expected"), CASES, ids=[f"{c[0].kind}-{i}" for i, c in enumerate(CASES)])
def test_each_kind_reads_as_a_sentence(event: Event, expected: str) -> None:
    assert describe(event, channels={1: "support", 2: "telegram"}) == expected


def test_every_kind_in_the_one_list_is_worded_and_tested() -> None:
    assert KNOWN_KINDS == EVENT_KINDS
    assert {e.kind for e, _ in CASES} >= KNOWN_KINDS
    assert {"created", "linked", "reopened", "status", "identity_added"} <= EVENT_KINDS


def test_every_kind_written_anywhere_is_in_the_list() -> None:
    root = Path(__file__).resolve().parents[2] / "omnidesk"
    writers, literal_kinds, named_kinds = [], set(), set()
    for path in root.rglob("*.py"):
        text = path.read_text()
        if re.search(r"INSERT\s+INTO\s+events\b", text, re.IGNORECASE):
            writers.append(path.relative_to(root).as_posix())
        literal_kinds |= set(re.findall(r'write_event\(\s*c,\s*[^,]+,\s*[^,]+,\s*"(\w+)"', text))
        named_kinds |= set(re.findall(r"EventKind\.([A-Z_]+)\b", text))
    # One writer, which refuses any kind not in the list. benchevents fills a benchmark's desk in
    # bulk SQL and is never used by the application: its kinds are checked here instead.
    assert sorted(writers) == ["store/benchevents.py", "store/events.py"]
    bench_sql = (root / "store/benchevents.py").read_text()
    bench_kinds = set(re.findall(r"'(\w+)',\s*(?:c\.assignee_id,\s*)?json_object", bench_sql))
    assert {"created", "assigned", "reopened"} <= bench_kinds <= EVENT_KINDS
    assert {"created", "linked", "reopened", "delivery_changed", "identity_linked"} <= literal_kinds
    assert literal_kinds <= EVENT_KINDS
    assert named_kinds <= set(vars(EventKind))


def test_the_writer_refuses_a_kind_that_is_not_in_the_list() -> None:
    c = sqlite3.connect(":memory:")
    c.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, conversation_id, customer_id, agent_id, kind,"
              " before, after, created_at, group_id, reason, via_agent_id)")
    with pytest.raises(ValueError, match="unknown event kind 'sla_braeched'"):
        write_event(c, 1, None, "sla_braeched", None, None, 0)
    assert write_event(c, 1, None, EventKind.LINKED, None, {"conversation_id": 2}, 0) == 1
    assert c.execute("SELECT count(*) FROM events").fetchone()[0] == 1


def test_the_reason_of_a_unit_of_work_follows_the_sentence_inert() -> None:
    e = ev("assigned", {"assignee": None, "team": None}, {"assignee": "ann", "team": None}, agent=None)
    e.reason = "rule 'Magyar számla'"
    assert describe(e) == "system assigned this to ann by rule 'Magyar számla'"
    e.after = {"assignee": None, "team": None, "undo_of": 3}
    e.reason = "rule \x1b[31m'قانون'\u202e"
    line = describe(e)
    assert line.startswith("system unassigned this by rule ") and line.endswith("'قانون' (undo)")
    assert "\x1b" not in line and "\u202e" not in line


def test_unknown_kind_and_odd_values_fall_back_to_a_generic_line() -> None:
    assert describe(ev("sla_breached", None, {"x": 1}), channels={}) == "alice: sla breached"
    assert describe(ev("future_kind", agent=None)) == "system: future kind"
    # A malformed row of a known kind never raises.
    assert describe(ev("call_logged", None, {"duration_seconds": "long"})) == "alice logged an outgoing call"
    assert describe(ev("tagged", "junk", 5)).startswith("alice")


def test_created_without_a_known_channel_has_no_via() -> None:
    assert describe(ev("created", None, {"channel_id": 9}, agent=None)) == "conversation started"


@pytest.mark.parametrize("hostile", [
    "[bold red]x[/]", "\x1b]52;c;ZXZpbA==\x07evil", "\u202etxt.exe", "a\nb\rc", "标签" * 40, "مشتری",
])
def test_untrusted_values_are_inert_one_line_and_short(hostile: str) -> None:
    for e in (ev("tagged", {"tags": []}, {"tags": [hostile]}),
              ev("reply_queued", None, {"channel": "support", "to": hostile}),
              ev("assigned", {}, {"assignee": hostile}, agent=hostile)):
        text = describe(e)
        assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
        assert "\n" not in text and "\r" not in text
        assert len(text) < 200


def test_a_message_edited_or_deleted_on_its_channel_says_so_with_the_text_it_had() -> None:
    m = Message(id=1, conversation_id=1, direction="in", channel_id=1, channel_kind="telegram",
                channel_name="bot", external_id="42", author_name="Shirin", author_address="5550001",
                author_agent=None, subject="", text="new", display_text="new", sent_at=0, sent_tz_offset=None,
                received_at=0)
    assert message_marks(m) == []
    m.edits = (MessageEdit("first", None, 0, 1), MessageEdit("\x1b[31mسلام\u202e", None, 1, 2))
    m.deleted_at = 3
    assert message_marks(m) == ["deleted on the channel; the text is kept for the record",
                                "edited (2 earlier versions); before: ␛[31mسلام"]  # inert
