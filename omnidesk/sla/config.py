"""The [calendars.NAME] and [sla.NAME] tables of the config, validated into specs.

Called by omnidesk/config.py's validator (`v`: its `section`, `fail`, `check_name`,
`check_timezone`), so every mistake is the same one line naming the file and key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from omnidesk.config import Key, toml_key
from omnidesk.model import PRIORITIES
from omnidesk.sla.hours import DAY_MINUTES, Shift
from omnidesk.sla.policy import ALWAYS_OPEN_NAME, TARGETS, CalendarSpec, Escalation, Policy

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_SHIFTS = 'shifts that day, e.g. ["09:00-12:00", "13:00-17:00"]; "22:00-06:00" runs past midnight'

CALENDAR_KEYS: dict[str, Key] = {
    "timezone": Key("str", "IANA time zone the hours are in, e.g. Europe/Budapest.", required=True),
    "weekdays": Key("list[str]", f"Monday to Friday: {_SHIFTS}."),
    "weekend": Key("list[str]", "Saturday and Sunday, as weekdays."),
    **{day: Key("list[str]", f"{day.capitalize()} (overrides weekdays/weekend).") for day in DAYS},
    "holidays": Key("list[str]", 'Closed dates, e.g. ["2026-12-24", "2026-12-25"].'),
    "country": Key("str", 'Also closed on this country\'s public holidays (ISO code, e.g. "HU").'),
    "subdivision": Key("str", 'A state or region of `country` with holidays of its own, e.g. "BY".'),
}

_DURATION = "a duration in business time such as 30m, 4h, 1h30m or 2d (a day is 24 business hours)"
SLA_KEYS: dict[str, Key] = {
    "priority": Key("list[str]", "Priorities this policy covers (a name or a list); default all."),
    "tags": Key("list[str]", "Only conversations with one of these tags."),
    "channels": Key("list[str]", "Only conversations on these channels (names or kinds)."),
    "tiers": Key("list[str]", "Only customers of these tiers."),
    "calendar": Key("str", f"The [calendars.NAME] the targets count in (default {ALWAYS_OPEN_NAME!r}, "
                    "always open)."),
    "first_response": Key("str", f"Time to the first reply: {_DURATION}."),
    "next_response": Key("str", "Time to answer each later customer message."),
    "resolution": Key("str", "Time to resolve."),
    "warning": Key("str", 'When a target warns: a share of it ("80%", the default) or a duration '
                   'before it is due ("30m").'),
    "on_warning": Key("table", "What to do when a target warns (see below)."),
    "on_breach": Key("table", "What to do when a target is breached."),
}

ESCALATION_KEYS: dict[str, Key] = {
    "tag": Key("list[str]", "Tags to add (a name or a list)."),
    "priority": Key("str", 'Set this priority, or "raise" for one step up.'),
    "assign": Key("str", "Assign to this agent."),
    "team": Key("str", "Assign to this team."),
    "note": Key("str", "Add this internal note."),
    "notify": Key("list[str]", "Agents (team leads) told in the console."),
}

#: Keys that take one value or a list of them.
_LISTY = {"priority", "tags", "channels", "tiers", "holidays", "weekdays", "weekend", *DAYS}
_LISTY_ESCALATION = {"tag", "notify"}
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
_DURATION_RE = re.compile(r"^(?:(\d{1,5})d)?(?:(\d{1,6})h)?(?:(\d{1,7})m)?(?:(\d{1,9})s)?$")
MAX_TARGET_MS = 366 * 86_400_000


def _listy(table: Mapping[str, Any], keys: set[str] = _LISTY) -> dict[str, Any]:
    return {k: [x] if k in keys and isinstance(x, str) else x for k, x in table.items()}


def _minutes(text: str) -> int | None:
    m = _TIME.match(text.strip())
    if m is None:
        return None
    hours, minutes = int(m.group(1)), int(m.group(2))
    if minutes >= 60 or hours > 24 or (hours == 24 and minutes):
        return None
    return hours * 60 + minutes


def parse_shift(text: str) -> Shift | None:
    """`"09:00-17:00"` -> (540, 1020); `"22:00-06:00"` -> (1320, 1800); None when malformed."""
    start_text, dash, end_text = text.partition("-")
    start, end = _minutes(start_text), _minutes(end_text)
    if not dash or start is None or end is None or start == DAY_MINUTES:
        return None
    if end <= start:
        end += DAY_MINUTES  # overnight; "00:00-00:00" is the whole day
    return start, end


def parse_duration(text: str) -> int | None:
    """`"1h30m"` -> 5,400,000 ms; None when malformed or zero."""
    m = _DURATION_RE.match(text.strip().lower())
    if m is None or not any(m.groups()):
        return None
    days, hours, minutes, seconds = (int(g or 0) for g in m.groups())
    ms = (((days * 24 + hours) * 60 + minutes) * 60 + seconds) * 1000
    return ms or None


def parse_calendars(v: Any, raw: Mapping[str, Any]) -> tuple[CalendarSpec, ...]:
    specs = []
    for name, item in raw.items():
        where = f"calendars.{toml_key(name)}"
        v.check_name(name, where)
        if name == ALWAYS_OPEN_NAME:
            v.fail(where, f"{ALWAYS_OPEN_NAME!r} is the built-in always-open calendar; choose another name")
        if not isinstance(item, dict):
            v.fail(where, f"expected a table [{where}] with timezone = ...", item)
        values = v.section(_listy(item), CALENDAR_KEYS, where)
        v.check_timezone(values["timezone"], f"{where}.timezone")
        week: list[tuple[Shift, ...]] = []
        for index, day in enumerate(DAYS):
            key = day if day in values else ("weekdays" if index < 5 else "weekend")
            shifts = []
            for text in values.get(key, ()):
                shift = parse_shift(text)
                if shift is None:
                    v.fail(f"{where}.{key}", 'expected shifts like "09:00-17:00" (24:00 may end one;'
                           ' "22:00-06:00" runs past midnight)', text)
                shifts.append(shift)
            week.append(tuple(sorted(shifts)))
        if not any(week):
            v.fail(where, "no open hours: give weekdays, weekend or monday ... sunday")
        holidays = []
        for text in values.get("holidays", ()):
            try:
                holidays.append(date.fromisoformat(text.strip()))
            except ValueError:
                v.fail(f"{where}.holidays", "expected dates like 2026-12-24", text)
        country, subdivision = values.get("country"), values.get("subdivision")
        if subdivision and not country:
            v.fail(f"{where}.subdivision", "needs country")
        if country:
            _check_country(v, where, country, subdivision)
        specs.append(CalendarSpec(name, values["timezone"], tuple(week), tuple(sorted(set(holidays))),
                                  country, subdivision))
    return tuple(specs)


def _check_country(v: Any, where: str, country: str, subdivision: str | None) -> None:
    import holidays

    try:
        holidays.country_holidays(country, subdiv=subdivision)
    except NotImplementedError:
        key = "subdivision" if subdivision and country in holidays.list_supported_countries() else "country"
        v.fail(f"{where}.{key}", "not a country (or subdivision) the holidays library knows",
               subdivision if key == "subdivision" else country)


def parse_policies(v: Any, raw: Mapping[str, Any], calendars: tuple[CalendarSpec, ...]) -> tuple[Policy, ...]:
    known = {c.name for c in calendars} | {ALWAYS_OPEN_NAME}
    policies = []
    for name, item in raw.items():
        where = f"sla.{toml_key(name)}"
        v.check_name(name, where)
        if not isinstance(item, dict):
            v.fail(where, f"expected a table [{where}] with first_response, next_response or resolution",
                   item)
        values = v.section(_listy(item), SLA_KEYS, where)
        for priority in values.get("priority", ()):
            if priority not in PRIORITIES:
                v.fail(f"{where}.priority", "expected one of " + ", ".join(PRIORITIES), priority)
        calendar = values.get("calendar", ALWAYS_OPEN_NAME)
        if calendar not in known:
            v.fail(f"{where}.calendar", "no such calendar; define [calendars." + toml_key(calendar)
                   + "] or use one of " + ", ".join(sorted(known)), calendar)
        targets = []
        for target in TARGETS:
            if target in values:
                ms = parse_duration(values[target])
                if ms is None or ms > MAX_TARGET_MS:
                    v.fail(f"{where}.{target}", f"expected {_DURATION}, at most 366d", values[target])
                targets.append((target, ms))
        if not targets:
            v.fail(where, "no target: give first_response, next_response or resolution")
        fraction, before = _warning(v, f"{where}.warning", values.get("warning", "80%"))
        policies.append(Policy(
            name=name, targets=tuple(targets),
            priorities=frozenset(values.get("priority", ())),
            tags=frozenset(t.casefold() for t in values.get("tags", ())),
            channels=frozenset(values.get("channels", ())),
            tiers=frozenset(t.casefold() for t in values.get("tiers", ())),
            calendar=calendar, warning_fraction=fraction, warning_ms=before,
            on_warning=_escalation(v, f"{where}.on_warning", values.get("on_warning", {})),
            on_breach=_escalation(v, f"{where}.on_breach", values.get("on_breach", {})),
        ))
    return tuple(policies)


def _warning(v: Any, where: str, text: str) -> tuple[float | None, int | None]:
    text = text.strip()
    if text.endswith("%"):
        try:
            percent = float(text[:-1])
        except ValueError:
            percent = -1.0
        if not 0 < percent <= 100:
            v.fail(where, 'expected a share from 1% to 100%, e.g. "80%"', text)
        return percent / 100, None
    ms = parse_duration(text)
    if ms is None:
        v.fail(where, f'expected a share ("80%") or {_DURATION}', text)
    return None, ms


def _escalation(v: Any, where: str, raw: Mapping[str, Any]) -> Escalation:
    values = v.section(_listy(raw, _LISTY_ESCALATION), ESCALATION_KEYS, where)
    priority = values.get("priority")
    if priority is not None and priority not in (*PRIORITIES, "raise"):
        v.fail(f"{where}.priority", "expected one of " + ", ".join((*PRIORITIES, "raise")), priority)
    for key in ("assign", "notify"):
        for agent in ([values[key]] if isinstance(values.get(key), str) else values.get(key, ())):
            v.check_name(agent, f"{where}.{key}")
    return Escalation(tags=tuple(values.get("tag", ())), priority=priority, assign=values.get("assign"),
                      team=values.get("team"), note=values.get("note"),
                      notify=tuple(values.get("notify", ())))
