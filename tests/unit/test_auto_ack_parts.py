"""The pieces of an automatic acknowledgement: `desk.back_at`, and what mail says about itself."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from adapters.base import Address, Outbound
from adapters.email.smtp import build_message
from omnidesk.desk import Desk
from omnidesk.outbound import outbound_payload
from omnidesk.services.macro_replies import ReplyRoute, back_at
from omnidesk.settings import Settings
from omnidesk.sla.policy import CalendarSpec, Policy

WEEKDAYS = (((540, 1020),),) * 5 + ((), ())  # 09:00-17:00 Monday to Friday
BUDAPEST = CalendarSpec("budapest", "Europe/Budapest", WEEKDAYS)  # type: ignore[arg-type]
TEHRAN = CalendarSpec("tehran", "Asia/Tehran", WEEKDAYS)  # type: ignore[arg-type]
ROUTE = ReplyRoute("support", "email", "anna@example.com", "email")


def ms(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp() * 1000)


def desk_with(**settings: object) -> Desk:
    return Desk(db=None, settings=replace(Settings(), **settings), data_dir=Path("."))  # type: ignore[arg-type]


def test_back_at_while_closed_and_empty_while_open_or_without_calendars() -> None:
    desk = desk_with(calendars=(BUDAPEST,))
    saturday = ms(2026, 12, 5, 12, 0)
    assert back_at(desk, ROUTE, "normal", (), None, now=saturday) == "2026-12-07 09:00 CET"
    assert back_at(desk, ROUTE, "normal", (), None, now=ms(2026, 12, 7, 10, 0)) == ""  # Monday 11:00 there
    assert back_at(desk_with(), ROUTE, "normal", (), None, now=saturday) == ""


def test_back_at_reads_the_calendar_of_the_conversations_sla_policy() -> None:
    vip = Policy("vip", (("first_response", 3_600_000),), tiers=frozenset({"gold"}), calendar="tehran")
    desk = desk_with(calendars=(BUDAPEST, TEHRAN), sla=(vip,))
    friday_night = ms(2026, 12, 4, 20, 0)
    assert back_at(desk, ROUTE, "normal", (), "gold", now=friday_night) == "2026-12-07 09:00 +0330"
    assert back_at(desk, ROUTE, "normal", (), None, now=friday_night) == "2026-12-07 09:00 CET"


def test_an_automatic_message_says_so_to_mail_and_survives_the_outbox() -> None:
    out = Outbound(message_ref="<a@desk.test>", to=(Address("email", "anna@example.com"),), text="Megkaptuk.",
                   automatic=True)
    again, _ = outbound_payload.load(outbound_payload.dump(out))
    assert again.automatic
    msg = build_message(again)
    assert msg["Auto-Submitted"] == "auto-replied" and msg["X-Auto-Response-Suppress"] == "All"
    assert build_message(replace(out, automatic=False))["Auto-Submitted"] == "no"
