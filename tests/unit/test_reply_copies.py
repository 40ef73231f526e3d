"""Cc and Bcc as agents type them: lists, names (any script, hostile ones too), errors naming the field."""

from __future__ import annotations

import dataclasses
import json

import pytest

from omnidesk.desk import Desk
from omnidesk.errors import UserError
from omnidesk.outbound import outbound_payload
from omnidesk.services import services
from omnidesk.services.replies import address_text, copies
from omnidesk.settings import DeskSettings, Settings
from tests.unit import factories


def test_lists_and_names_round_trip_in_any_script() -> None:
    typed = ", ".join([address_text("wang@example.cn", "王芳"), address_text("reza@example.ir", "رضا رضایی"),
                       address_text("bela@example.hu", "Kovács, Béla"), "Plain@Example.com"])
    assert [(a.address, a.display_name) for a in copies("email", [typed], "Cc", [])] == [
        ("wang@example.cn", "王芳"), ("reza@example.ir", "رضا رضایی"), ("bela@example.hu", "Kovács, Béla"),
        ("plain@example.com", "")]


def test_repeats_and_the_to_address_are_left_out() -> None:
    typed = ["ann@example.com, boss@example.com", "BOSS@example.com"]
    got = copies("email", typed, "Cc", ["ann@example.com"])
    assert [a.address for a in got] == ["boss@example.com"]
    assert copies("email", ["", " , "], "Bcc", []) == ()


@pytest.mark.parametrize(("typed", "error"), [
    ("nem-cim", "Bcc: not an email address: 'nem-cim'"),
    ("ok@example.com, 王芳", "Bcc: not an email address: '王芳'"),
])
def test_a_bad_address_is_one_line_naming_the_field(typed: str, error: str) -> None:
    with pytest.raises(UserError) as caught:
        copies("email", [typed], "Bcc", [])
    assert str(caught.value) == error


def test_copies_are_for_email_only() -> None:
    with pytest.raises(UserError, match="Cc is for email replies"):
        copies("telegram", ["a@example.com"], "Cc", [])


def test_hostile_names_lose_their_escapes() -> None:
    text = address_text("x@example.com", 'Evil\u202e\x1b[31m "Boss"\nline')
    assert "\x1b" not in text and "\u202e" not in text and "\n" not in text
    (person,) = copies("email", [text], "Cc", [])
    assert person.address == "x@example.com"


async def test_queue_reply_stores_cc_and_bcc_roles_and_bcc_only_in_the_payload_envelope(desk: Desk) -> None:
    alice = await factories.agent(desk, "alice")
    settings = Settings(desk=DeskSettings(quote_last_message=False))
    d = dataclasses.replace(desk, settings=settings).as_agent(alice)
    channel = await factories.email_channel(d)
    t = await factories.thread(d, channel)
    result = await services.queue_reply(d, t.conversation_id, "Köszönjük", cc=["王芳 <wang@example.cn>"],
                                        bcc=["audit@example.com", "wang@example.cn"])
    row = await d.db.fetchone("SELECT recipients FROM messages WHERE id = ?", (result.message_id,))
    assert [(r["address"], r["role"]) for r in json.loads(row[0])] == [
        ("ann@example.com", "to"), ("wang@example.cn", "cc"), ("audit@example.com", "bcc")]
    payload = await d.db.fetchone("SELECT payload FROM outbox WHERE message_id = ?", (result.message_id,))
    outbound, _ = outbound_payload.load(payload[0])
    assert [a.address for a in outbound.bcc] == ["audit@example.com"]  # nobody gets two copies
