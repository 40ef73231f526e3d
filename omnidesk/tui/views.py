"""The inbox sidebar's views: built-in queues, one per channel, and saved searches from config.

Each view shown has at most one digit and each digit opens one view. A saved
view's `key` from the config wins: that view gets the digit, even when a
built-in view would have had it. The other views, in the order shown, take the
digits left free, so a built-in view moves to the next free digit rather than
lose its key (those past the ninth have none). A saved view whose query repeats
a built-in one is shown once, as the built-in, on the saved view's key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from omnidesk.tui.textfmt import glyph


@dataclass(frozen=True, slots=True)
class View:
    name: str
    query: str
    key: str | None = None  # the digit "1".."9" that opens it, or None


def default_views(desk: Any, channels: list[Any]) -> list[View]:
    views: list[View] = []
    if desk.agent is not None:
        views.append(View("Mine", "assignee:me status:open"))
    if desk.settings.sla:  # with SLA policies, the queues a lead watches
        views += [View("Breached", "is:breached sort:due"), View("Due soon", "is:due-soon sort:due")]
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
    shown = {_norm(v.query): i for i, v in enumerate(views)}
    for saved in desk.settings.views:
        index = shown.get(_norm(saved.query))
        if index is None:
            shown[_norm(saved.query)] = len(views)
            views.append(View(saved.name, saved.query, saved.key))
        elif saved.key is not None and views[index].key is None:
            views[index] = View(views[index].name, views[index].query, saved.key)
    return number_views(views)


def number_views(views: list[View]) -> list[View]:
    """Keep the keys views were given; the others take the free digits 1-9 in order."""
    free = iter(d for d in "123456789" if d not in {v.key for v in views})
    return [v if v.key is not None else View(v.name, v.query, next(free, None)) for v in views]


def view_for_digit(views: list[View], digit: int) -> int | None:
    """The index of the view digit `digit` selects (the one labelled with it), or None."""
    return next((i for i, v in enumerate(views) if v.key == str(digit)), None)


def _norm(query: str) -> str:
    return " ".join(query.split())
