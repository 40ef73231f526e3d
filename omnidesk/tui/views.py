"""The inbox sidebar's views: built-in queues, one per channel, and saved searches from config.

Views are numbered once, in the order shown: the first nine get keys 1-9 and
the digit keys select exactly those (a config view's own `key` does not
renumber the list, so two lines never share a digit). A saved view whose query
repeats a built-in one is shown once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from omnidesk.tui.textfmt import glyph


@dataclass(frozen=True, slots=True)
class View:
    name: str
    query: str
    key: str | None = None  # "1".."9" for the first nine shown, else None


def default_views(desk: Any, channels: list[Any]) -> list[View]:
    views: list[View] = []
    if desk.agent is not None:
        views.append(View("Mine", "assignee:me status:open"))
    views += [
        View("Unassigned", "is:unassigned status:open"),
        View("All open", "status:open"),
        View("Pending", "status:pending"),
        View("Snoozed", "status:snoozed"),
        View("Resolved", "status:resolved"),
        View("All", ""),
    ]
    views += [
        View(f"{glyph(c.kind, desk.settings.tui.ascii_glyphs)} {c.name}", f"channel:{c.name}")
        for c in channels
    ]
    seen = {_norm(v.query) for v in views}
    for saved in desk.settings.views:
        if _norm(saved.query) not in seen:
            seen.add(_norm(saved.query))
            views.append(View(saved.name, saved.query))
    return number_views(views)


def number_views(views: list[View]) -> list[View]:
    """Give the first nine views keys 1-9 in order; the rest have none."""
    return [View(v.name, v.query, str(i + 1) if i < 9 else None) for i, v in enumerate(views)]


def view_for_digit(views: list[View], digit: int) -> int | None:
    """The index of the view digit `digit` selects (the one labelled with it), or None."""
    return next((i for i, v in enumerate(views) if v.key == str(digit)), None)


def _norm(query: str) -> str:
    return " ".join(query.split())
