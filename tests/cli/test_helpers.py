"""Small parsers and formatters the commands share: times, durations, relative ages, ids."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from omnidesk.cli.call import parse_duration
from omnidesk.cli.common import parse_ids
from omnidesk.cli.output import choose_format, raw_value, relative_time
from omnidesk.cli.when import parse_when
from omnidesk.errors import UserError
from omnidesk.timeutil import to_ms

NOW = to_ms(datetime(2026, 11, 20, 15, 30, tzinfo=UTC))


@pytest.mark.parametrize(("text", "delta_ms"), [
    ("30m", 30 * 60_000), ("4h", 4 * 3_600_000), ("2d", 2 * 86_400_000), ("1w", 7 * 86_400_000),
    ("+90min", 90 * 60_000),
])
def test_relative_when(text: str, delta_ms: int) -> None:
    assert parse_when(text, now=NOW) == NOW + delta_ms


def test_tomorrow_and_dates_mean_nine_in_the_desk_time_zone() -> None:
    budapest = parse_when("tomorrow", "Europe/Budapest", now=NOW)
    assert budapest == to_ms(datetime(2026, 11, 21, 8, 0, tzinfo=UTC))  # 09:00 CET
    tehran = parse_when("2026-12-01", "Asia/Tehran", now=NOW)
    assert tehran == to_ms(datetime(2026, 12, 1, 5, 30, tzinfo=UTC))  # 09:00 +03:30
    assert parse_when("2026-12-01T14:00Z", now=NOW) == to_ms(datetime(2026, 12, 1, 14, 0, tzinfo=UTC))


@pytest.mark.parametrize("text", ["soon", "2026-13-01", "yesterday", "2020-01-01"])
def test_bad_or_past_when(text: str) -> None:
    with pytest.raises(UserError):
        parse_when(text, now=NOW)


@pytest.mark.parametrize(("text", "seconds"), [
    ("90", 90), ("90s", 90), ("5m", 300), ("1h", 3600), ("4:30", 270), ("1:02:03", 3723), ("1.5m", 90),
])
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


def test_bad_duration() -> None:
    with pytest.raises(UserError, match="duration"):
        parse_duration("four minutes")


@pytest.mark.parametrize(("ago_ms", "text"), [
    (0, "just now"), (44_000, "just now"), (60_000, "1 minute ago"), (5 * 60_000, "5 minutes ago"),
    (2 * 3_600_000, "2 hours ago"), (86_400_000, "1 day ago"), (-3 * 3_600_000, "in 3 hours"),
])
def test_relative_time(ago_ms: int, text: str) -> None:
    assert relative_time(NOW - ago_ms, NOW) == text


def test_relative_time_far_away_is_a_date() -> None:
    assert relative_time(NOW - 90 * 86_400_000, NOW) == "2026-08-22"
    assert relative_time(None, NOW) == ""


def test_parse_ids() -> None:
    assert parse_ids(["12", "#13", " 12 "]) == [12, 13]
    with pytest.raises(UserError, match="not a conversation id"):
        parse_ids(["12a"])


def test_raw_values() -> None:
    assert raw_value(None) == "" and raw_value(True) == "true" and raw_value(["a", "b"]) == "a,b"
    assert raw_value({"b": 1, "a": "é"}) == '{"a":"é","b":1}'


def test_choose_format(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNIDESK_FORCE_TTY", "0")
    assert choose_format(None) == "tsv" and choose_format(None, True) == "json"
    monkeypatch.setenv("OMNIDESK_FORCE_TTY", "1")
    assert choose_format(None) == "table" and choose_format("NL") == "nl"
    with pytest.raises(UserError, match="conflicts"):
        choose_format("csv", True)
