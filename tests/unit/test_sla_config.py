"""[calendars.NAME] and [sla.NAME]: what a valid table becomes, and one line naming file and key otherwise."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from omnidesk import config as cfg
from omnidesk.errors import ConfigError
from omnidesk.sla.config import parse_duration, parse_shift


def load(tmp_path: Path, text: str) -> cfg.Settings:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return cfg.load_settings(path, warn=None)


def test_calendars_and_policies_are_read_in_file_order(tmp_path: Path) -> None:
    s = load(tmp_path, """
[calendars.eu]
timezone = "Europe/Budapest"
weekdays = ["09:00-12:00", "13:00-17:00"]
friday = "09:00-15:00"
saturday = "22:00-06:00"
holidays = ["2026-12-24", "2026-12-25"]

[calendars.us]
timezone = "America/New_York"
weekdays = "08:00-20:00"

[sla.vip]
tags = ["VIP"]
tiers = "gold"
calendar = "eu"
first_response = "30m"
warning = "10m"
[sla.vip.on_breach]
tag = "late"
priority = "raise"
notify = ["lead"]

[sla.urgent]
priority = ["urgent", "high"]
channels = ["email"]
first_response = "1h"
next_response = "2h"
resolution = "1d12h"
""")
    eu, us = s.calendars
    assert eu.week[0] == ((540, 720), (780, 1020)) and eu.week[4] == ((540, 900),)
    assert eu.week[5] == ((1320, 1800),) and eu.week[6] == ()
    assert eu.holidays == (date(2026, 12, 24), date(2026, 12, 25)) and us.week[2] == ((480, 1200),)
    vip, urgent = s.sla
    assert vip.name == "vip" and vip.tags == {"vip"} and vip.tiers == {"gold"} and vip.calendar == "eu"
    assert vip.warning_ms == 600_000 and vip.warn_after(1_800_000) == 1_200_000
    assert vip.on_breach.tags == ("late",) and vip.on_breach.priority == "raise"
    assert vip.on_breach.notify == ("lead",) and vip.on_warning.empty
    assert urgent.calendar == "24x7" and urgent.warn_after(3_600_000) == 2_880_000  # 80% by default
    assert dict(urgent.targets) == {"first_response": 3_600_000, "next_response": 7_200_000,
                                    "resolution": 129_600_000}
    assert urgent.matches("high", (), ("support", "email"), None)
    assert not urgent.matches("normal", (), ("support", "email"), None)
    assert vip.matches("low", ("vip",), (None, None), "Gold")
    assert not vip.matches("low", (), (None, None), "gold")


@pytest.mark.parametrize(("text", "key", "words"), [
    ('[calendars.x]\ntimezone = "Mars/Olympus"\nweekdays = ["09:00-17:00"]', "calendars.x.timezone",
     "IANA time zone"),
    ('[calendars.x]\ntimezone = "UTC"\nmonday = ["9-5"]', "calendars.x.monday", '"09:00-17:00"'),
    ('[calendars.x]\ntimezone = "UTC"\nmonday = ["09:00-24:30"]', "calendars.x.monday", "24:00 may end"),
    ('[calendars.x]\ntimezone = "UTC"', "calendars.x", "no open hours"),
    ('[calendars.x]\ntimezone = "UTC"\nweekdays = ["09:00-17:00"]\nholidays = ["24/12"]',
     "calendars.x.holidays", "dates like 2026-12-24"),
    ('[calendars.x]\ntimezone = "UTC"\nweekdays = ["09:00-17:00"]\ncountry = "XX"', "calendars.x.country",
     "holidays library"),
    ('[calendars.x]\ntimezone = "UTC"\nweekdays = ["09:00-17:00"]\nsubdivision = "BY"',
     "calendars.x.subdivision", "needs country"),
    ('[calendars.x]\ntimezone = "UTC"\nweekdays = ["09:00-17:00"]\nlunch = 1', "calendars.x.lunch",
     "unknown key"),
    ('[calendars.24x7]\ntimezone = "UTC"\nweekdays = ["09:00-17:00"]', "calendars.24x7", "built-in"),
    ('[sla.a]\nfirst_response = "an hour"', "sla.a.first_response", "30m, 4h"),
    ('[sla.a]\nresolution = "0m"', "sla.a.resolution", "duration"),
    ('[sla.a]\npriority = "hi"\nfirst_response = "1h"', "sla.a.priority", "low, normal, high, urgent"),
    ('[sla.a]\ncalendar = "nope"\nfirst_response = "1h"', "sla.a.calendar", "[calendars.nope]"),
    ('[sla.a]\ntags = ["x"]', "sla.a", "no target"),
    ('[sla.a]\nfirst_response = "1h"\nwarning = "120%"', "sla.a.warning", "1% to 100%"),
    ('[sla.a]\nfirst_response = "1h"\nwarning = "soon"', "sla.a.warning", '"80%"'),
    ('[sla.a]\nfirst_response = "1h"\n[sla.a.on_breach]\npriority = "top"', "sla.a.on_breach.priority",
     "raise"),
    ('[sla.a]\nfirst_response = "1h"\n[sla.a.on_warning]\nsms = "x"', "sla.a.on_warning.sms", "unknown key"),
    ('[sla.a]\nfirst_response = "1h"\non_breach = "x"', "sla.a.on_breach", "a table"),
    ("sla = 3", "sla", "expected a table"),
])
def test_a_mistake_is_one_line_naming_file_and_key(tmp_path: Path, text: str, key: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text)
    message = str(info.value)
    assert message.startswith(f"{tmp_path / 'config.toml'}: {key}: "), message
    assert words in message and "\n" not in message


def test_shifts_and_durations() -> None:
    assert parse_shift("22:00-06:00") == (1320, 1800) and parse_shift("00:00-24:00") == (0, 1440)
    assert parse_shift("00:00-00:00") == (0, 1440) and parse_shift("24:00-01:00") is None
    assert parse_shift("9:00-17:00") == (540, 1020) and parse_shift("09:60-10:00") is None
    assert parse_duration("1h30m") == 5_400_000 and parse_duration("2d") == 172_800_000
    assert parse_duration("") is None and parse_duration("1x") is None and parse_duration("0h") is None
