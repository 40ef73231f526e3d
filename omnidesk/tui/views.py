"""The inbox sidebar's views: built-in queues, one per channel, and saved searches from config."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from omnidesk.tui.textfmt import glyph


@dataclass(frozen=True, slots=True)
class View:
    name: str
    query: str
    key: str | None = None


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
    views += [View(v.name, v.query, v.key) for v in desk.settings.views]
    return views
