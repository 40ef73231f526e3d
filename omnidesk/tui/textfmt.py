"""Untrusted text to inert, terminal-ready `rich.text.Text` (no markup, ever).

Every string a stranger wrote passes through here before a widget shows it:
`omnidesk.textsafe` neutralises escapes and bidi overrides, then right-to-left
lines (Persian, Arabic, Hebrew) are reordered into visual order, because a
terminal lays cells out left to right and would otherwise print a Persian
sentence backwards. Column fitting uses Rich cell widths, so Chinese wide
characters keep columns aligned.
"""

from __future__ import annotations

import re
from datetime import UTC, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rich.cells import cell_len
from rich.text import Text

from omnidesk.textsafe import clean, one_line
from omnidesk.timeutil import local

try:  # python-bidi: the Unicode bidi algorithm (Rust unicode-bidi); optional
    from bidi import get_display as _get_display
except ImportError:  # pragma: no cover - without it RTL lines stay in logical order
    _get_display = None

_RTL = re.compile(r"[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]")

#: Channel kind -> (glyph, ASCII fallback).
GLYPHS: dict[str, tuple[str, str]] = {
    "email": ("✉", "@"),
    "maildir": ("✉", "@"),
    "import": ("✉", "@"),
    "phone": ("☎", "T"),
    "sms": ("✆", "S"),
    "whatsapp": ("◍", "W"),
    "slack": ("#", "#"),
    "telegram": ("➤", ">"),
    "mastodon": ("◆", "M"),
}


def visual(line: str) -> str:
    """One already-cleaned line in display order (RTL runs reordered)."""
    if _get_display is None or not _RTL.search(line):
        return line
    return _get_display(line)


def safe_lines(text: str) -> str:
    """Clean multi-line untrusted text and put each line in visual order."""
    return "\n".join(visual(line) for line in clean(text).split("\n"))


def inert(text: str, style: str = "") -> Text:
    """Untrusted multi-line text as a Text that no markup parser ever sees."""
    return Text(safe_lines(text), style=style)


def inert_line(text: str, style: str = "") -> Text:
    """Untrusted text folded to one line (subjects, names), visual order."""
    return Text(visual(one_line(text)), style=style)


def fit(text: str | Text, width: int, *, align: str = "left") -> Text:
    """Exactly `width` cells: truncated with an ellipsis or padded (wide chars count 2)."""
    out = text.copy() if isinstance(text, Text) else Text(text)
    if width <= 0:
        return Text("")
    if out.cell_len > width:
        out.truncate(width, overflow="ellipsis")
    pad = width - out.cell_len
    if pad > 0:
        if align == "right":
            out = Text(" " * pad) + out
        else:
            out.append(" " * pad)
    return out


def cells(text: str) -> int:
    return cell_len(text)


def glyph(kind: str | None, ascii_only: bool = False) -> str:
    pair = GLYPHS.get(kind or "", ("·", "."))
    return pair[1] if ascii_only else pair[0]


def relative(ms: int | None, now_ms: int) -> str:
    """Short relative age: `now`, `5m`, `3h`, `2d`, `7w`, `1y`; `in 2h` for the future."""
    if ms is None:
        return ""
    delta = (now_ms - ms) // 1000
    future = delta < 0
    delta = abs(delta)
    for size, unit in ((31536000, "y"), (604800, "w"), (86400, "d"), (3600, "h"), (60, "m")):
        if delta >= size:
            value = f"{delta // size}{unit}"
            return f"in {value}" if future else value
    return "now"


def zone(name: str | None) -> timezone | ZoneInfo:
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return UTC


def clock(ms: int, tz: timezone | ZoneInfo, *, with_date: bool = True) -> str:
    moment = local(ms, tz)
    return moment.strftime("%Y-%m-%d %H:%M" if with_date else "%H:%M")


def offset_clock(ms: int, offset_minutes: int) -> str:
    tz = timezone(timedelta(minutes=offset_minutes))
    return local(ms, tz).strftime("%H:%M UTC%z")
