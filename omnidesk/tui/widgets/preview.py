"""The inbox preview pane's content: header and the latest messages, all inert text."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.text import Text

from omnidesk.tui.textfmt import inert, inert_line, relative


def preview_renderable(conversation: Any, now_ms: int) -> Group:
    """The preview pane: header and the latest messages (inert text)."""
    summary = conversation.summary
    head = Text()
    head.append(f"#{summary.id} ", style="bold")
    head.append_text(inert_line(summary.subject or summary.preview, style="bold"))
    meta = Text(f"{summary.status} · {summary.priority} · {summary.assignee or 'unassigned'}", style="dim")
    if summary.tags:
        meta.append("  " + " ".join(f"+{t}" for t in summary.tags), style="dim")
    parts: list[Any] = [
        head,
        meta,
        inert_line(conversation.customer.name or summary.customer_address, style="italic"),
        Text(""),
    ]
    for message in conversation.messages[-3:]:
        who = message.author_agent or message.author_name or message.author_address
        line = Text(f"{'▸' if message.direction == 'in' else '◂'} ", style="dim")
        line.append_text(inert_line(who, style="bold"))
        line.append(f"  {relative(message.sent_at, now_ms)}", style="dim")
        if message.direction == "note":
            line.append("  note", style="italic yellow")
        parts.append(line)
        body = message.display_text or message.text
        parts.append(inert(body[:1200]))
        parts.append(Text(""))
    return Group(*parts)
