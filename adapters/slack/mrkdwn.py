"""Slack mrkdwn to plain text and back: what a customer wrote, and what we post.

Slack sends message text with `&`, `<`, `>` escaped and with links, mentions and
channel names in angle brackets (`<@U123>`, `<#C1|general>`, `<https://x|label>`);
https://api.slack.com/reference/surfaces/formatting. The desk shows the text a
person saw, so brackets become words and the escapes are undone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_TOKEN = re.compile(r"<([^<>]*)>")
_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^<>]*)?>")


def mentioned_users(text: str) -> set[str]:
    """User ids named by `<@U123>` in `text`, whose names the caller looks up."""
    return set(_USER.findall(text))


def to_text(text: str, names: Mapping[str, str]) -> str:
    """`text` as a person reads it: `<@U1>` -> `@ann` (from `names`), `<url|label>` -> `label (url)`."""

    def one(match: re.Match[str]) -> str:
        inner = match.group(1)
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            return "@" + (names.get(target[1:]) or label or target[1:])
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!"):
            special = target[1:].split("^", 1)[0]
            return label or "@" + special
        if target.startswith("mailto:"):
            return label or target.removeprefix("mailto:")
        if label and label != target:
            return f"{label} ({target})"
        return target

    return unescape(_TOKEN.sub(one, text))


def unescape(text: str) -> str:
    """Undo Slack's three escapes (and only those: `&amp;lt;` is the literal text `&lt;`)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def escape(text: str) -> str:
    """Our text for Slack, so `<`, `>` and `&` arrive literally instead of as links or mentions."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
