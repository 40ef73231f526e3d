"""One macro file: a TOML document with a description, texts by variant and language, and actions.

```toml
description = "We received the refund request"
[actions]
tags = ["refund", "-new"]      # "-tag" removes
status = "pending"             # or snooze = "2d"
priority = "high"
assign = "me"                  # an agent's name, "me", or "" to unassign
[text.email]
en = "Hello {{ customer.first_name }}, ..."
hu = "Kedves {{ customer.name }}! ..."
[text.sms]
en = "..."
```

TOML because one macro holds several texts (a variant per channel style and
language), which front matter with a single Markdown body cannot; tomllib is in the
standard library and is the language of the config. The name is the file's stem.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, NamedTuple

from omnidesk.errors import UserError
from omnidesk.langpick import LANGUAGE_TAG, normal_tag
from omnidesk.model import PRIORITIES, STATUSES

#: Macro names (file stems): what `omnidesk macro show NAME` takes.
MACRO_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
#: Largest macro file read (bytes): a macro is a few paragraphs.
MAX_FILE_BYTES = 256 * 1024
#: `snooze = "2d"`: a duration from when the reply is sent.
_DURATION = re.compile(r"^(\d{1,4})\s*(m|h|d|w)$")
_UNIT_MS = {"m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000}
_KEYS = {"description", "actions", "text"}
_ACTION_KEYS = {"tags", "status", "priority", "assign", "snooze"}


class MacroError(UserError):
    """A macro that cannot be read or rendered; the message names the macro and the place."""


class Actions(NamedTuple):
    """What a macro changes on the conversation when its reply is sent."""

    add_tags: tuple[str, ...] = ()
    remove_tags: tuple[str, ...] = ()
    status: str | None = None
    priority: str | None = None
    assign: str | None = None  # an agent's name, "me"; "" unassigns
    snooze_ms: int | None = None  # snoozed for this long after sending

    def __bool__(self) -> bool:
        return any(v not in (None, ()) for v in self)

    def describe(self) -> list[str]:
        """The actions as short phrases: `+refund`, `status pending`, `assign me`."""
        out = [*(f"+{t}" for t in self.add_tags), *(f"-{t}" for t in self.remove_tags)]
        out += [f"status {self.status}"] if self.status else []
        out += [f"priority {self.priority}"] if self.priority else []
        out += [f"assign {self.assign or '(nobody)'}"] if self.assign is not None else []
        out += [f"snooze {_duration_text(self.snooze_ms)}"] if self.snooze_ms else []
        return out


class Macro(NamedTuple):
    """A macro as read from its file: `texts[variant][language]` is a Jinja2 template source."""

    name: str
    description: str
    texts: dict[str, dict[str, str]]
    actions: Actions
    path: Path | None = None


def _duration_text(ms: int | None) -> str:
    for unit, size in sorted(_UNIT_MS.items(), key=lambda kv: -kv[1]):
        if ms and ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


def load(path: Path) -> Macro:
    """Read one macro file; MacroError naming the file and the key when it is wrong."""
    name = path.stem
    if not MACRO_NAME.match(name):
        raise MacroError(f"{path}: bad macro name {name!r}: use letters, digits, '_', '.', '-'")
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise MacroError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise MacroError(f"{path}: larger than {MAX_FILE_BYTES // 1024} KiB; is it a macro?")
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise MacroError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except (tomllib.TOMLDecodeError, ValueError) as exc:
        raise MacroError(f"{path}: invalid TOML: {str(exc).split(';')[0]}") from None
    return parse(name, data, path)


def parse(name: str, data: dict[str, Any], path: Path | None = None) -> Macro:
    """A macro from its parsed TOML document."""
    where = str(path) if path is not None else name

    def fail(key: str, expectation: str) -> MacroError:
        return MacroError(f"{where}: {key}: {expectation}")

    for key in data:
        if key not in _KEYS:
            raise fail(key, "unknown key; expected one of " + ", ".join(sorted(_KEYS)))
    description = data.get("description", "")
    if not isinstance(description, str):
        raise fail("description", "expected a string")
    text = data.get("text")
    if not isinstance(text, dict) or not text:
        raise fail("text", "missing; expected tables such as [text.email] with en = \"...\"")
    texts: dict[str, dict[str, str]] = {}
    for variant, by_language in text.items():
        if not isinstance(by_language, dict) or not by_language:
            raise fail(f"text.{variant}", "expected a table of language = text, e.g. en = \"...\"")
        texts[variant] = {}
        for tag, body in by_language.items():
            if not LANGUAGE_TAG.match(tag):
                raise fail(f"text.{variant}.{tag}", "expected a language tag such as en, hu or pt-BR")
            if not isinstance(body, str) or not body.strip():
                raise fail(f"text.{variant}.{tag}", "expected a text")
            texts[variant][normal_tag(tag)] = body
    return Macro(name, description.strip(), texts, _actions(data.get("actions", {}), fail), path)


def _actions(raw: Any, fail: Any) -> Actions:
    if not isinstance(raw, dict):
        raise fail("actions", "expected a table [actions]")
    for key in raw:
        if key not in _ACTION_KEYS:
            raise fail(f"actions.{key}", "unknown action; expected one of " + ", ".join(sorted(_ACTION_KEYS)))
    tags = raw.get("tags", [])
    if isinstance(tags, str):
        tags = [tags]
    if not isinstance(tags, list) or not all(isinstance(t, str) and t.strip("- ") for t in tags):
        raise fail("actions.tags", "expected a list of tag names (\"-tag\" removes one)")
    status, priority, assign = raw.get("status"), raw.get("priority"), raw.get("assign")
    if (status is not None and status not in STATUSES) or status == "snoozed":
        raise fail("actions.status", "expected one of " + ", ".join(s for s in STATUSES if s != "snoozed")
                   + " (snooze = \"2d\" snoozes)")
    if priority is not None and priority not in PRIORITIES:
        raise fail("actions.priority", "expected one of " + ", ".join(PRIORITIES))
    if assign is not None and not isinstance(assign, str):
        raise fail("actions.assign", "expected an agent's name, \"me\", or \"\" to unassign")
    snooze = raw.get("snooze")
    snooze_ms = None
    if snooze is not None:
        m = _DURATION.match(snooze.strip()) if isinstance(snooze, str) else None
        if m is None or int(m.group(1)) == 0:
            raise fail("actions.snooze", "expected a duration such as 30m, 4h, 2d or 1w")
        if status is not None:
            raise fail("actions.snooze", "give status or snooze, not both (a snooze sets the status)")
        snooze_ms = int(m.group(1)) * _UNIT_MS[m.group(2)]
    return Actions(
        add_tags=tuple(t.strip() for t in tags if not t.startswith("-")),
        remove_tags=tuple(t[1:].strip() for t in tags if t.startswith("-")),
        status=status, priority=priority, assign=assign.strip() if isinstance(assign, str) else None,
        snooze_ms=snooze_ms,
    )
