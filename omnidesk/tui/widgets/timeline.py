"""Timeline items: a customer/agent message, an internal note, or an event line.

Customer text, agent replies, internal notes and events look different on
purpose (an agent must never mistake a note for something the customer saw).
Quoted text is folded to `display_text` until expanded; attachments are
listed; outgoing messages show their delivery state.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Group
from rich.text import Text
from textual.widgets import Static

from omnidesk.conversations.eventtext import copied, describe, message_marks
from omnidesk.model import Event, Message
from omnidesk.tui.textfmt import clock, glyph, inert, inert_line, offset_clock, zone

DELIVERY_STYLE = {
    "queued": "yellow",
    "sending": "yellow",
    "sent": "green",
    "delivered": "green",
    "read": "green",
    "undelivered": "bold red",
    "failed": "bold red",
    "cancelled": "dim",
}


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


class TimelineItem(Static, can_focus=False):
    """One item of the timeline: a message (in, out or note) or an event line.

    An item widget is reused for another item when the screen shows another
    conversation (`show`): new content costs far less than mounting a widget.
    """

    def __init__(
        self,
        item: Message | Event,
        *,
        agent_tz: str,
        customer_tz: str | None,
        channels: Mapping[int, str],
        ascii_glyphs: bool = False,
        expanded: bool = False,
    ) -> None:
        super().__init__("", markup=False, classes=_classes(item))
        self.agent_tz = agent_tz
        self.ascii_glyphs = ascii_glyphs
        self._set(item, customer_tz, channels, expanded)

    def _set(
        self, item: Message | Event, customer_tz: str | None, channels: Mapping[int, str], expanded: bool
    ) -> None:
        self.message: Message | None = item if isinstance(item, Message) else None
        self.event: Event | None = item if isinstance(item, Event) else None
        self.customer_tz = customer_tz
        self.channels = channels  # channel id -> name, for events that store only the id
        self.expanded = expanded

    @property
    def key(self) -> tuple[str, int]:
        """What this widget shows, as ("m", message id) or ("e", event id)."""
        return ("m", self.message.id) if self.message is not None else ("e", self.event.id)  # type: ignore[union-attr]

    def on_mount(self) -> None:
        self.update(self.build())

    def show(
        self, item: Message | Event, *, customer_tz: str | None, channels: Mapping[int, str], expanded: bool
    ) -> None:
        """Show another item in this widget."""
        self._set(item, customer_tz, channels, expanded)
        self.set_classes(_classes(item))
        self.update(self.build())

    def set_message(self, message: Message) -> None:
        self.message = message
        self.update(self.build())

    def toggle(self) -> None:
        self.expanded = not self.expanded
        self.update(self.build())

    @property
    def foldable(self) -> bool:
        m = self.message
        return m is not None and bool(m.display_text) and m.display_text.strip() != m.text.strip()

    def build(self) -> Group | Text:
        if self.event is not None:
            return self._event_text(self.event)
        return self._message_parts(self.message)  # type: ignore[arg-type]

    def _event_text(self, event: Event) -> Text:
        text = Text("── ", style="dim")
        words = describe(event, channels=self.channels, tz=zone(self.agent_tz))
        text.append_text(inert_line(words, style="dim italic"))
        text.append(f"  {clock(event.created_at, zone(self.agent_tz))}", style="dim")
        return text

    def _message_parts(self, m: Message) -> Group:
        head = Text()
        if m.direction == "note":
            head.append(" NOTE ", style="bold reverse yellow")
            head.append(" internal, never sent  ", style="italic yellow")
        else:
            badge = f" {glyph(m.channel_kind, self.ascii_glyphs)} {m.channel_name or m.channel_kind or '?'} "
            head.append(badge, style="reverse")
            head.append(" ◀ in " if m.direction == "in" else " ▶ out ", style="bold")
        who = m.author_agent or m.author_name or m.author_address
        head.append_text(inert_line(who, style="bold"))
        if m.author_address and m.author_address != who and m.direction == "in":
            head.append(" <")
            head.append_text(inert_line(m.author_address))
            head.append(">")
        head.append(f"  {clock(m.sent_at, zone(self.agent_tz))}", style="dim")
        if m.direction == "in":
            if self.customer_tz:
                head.append(
                    f" (their time {clock(m.sent_at, zone(self.customer_tz), with_date=False)})", style="dim"
                )
            elif m.sent_tz_offset is not None:
                head.append(f" (their time {offset_clock(m.sent_at, m.sent_tz_offset)})", style="dim")
        if m.direction == "out" and m.delivery:
            head.append(f"  {m.delivery}", style=DELIVERY_STYLE.get(m.delivery, ""))
            if m.delivery in ("failed", "undelivered"):  # the channel's code and its meaning
                head.append(": ")
                head.append_text(inert_line(m.delivery_error or "unknown error", style="red"))
                head.append("  (ctrl+t retries)", style="dim")
        parts: list[Any] = [head]
        if m.subject and m.direction != "note":
            parts.append(inert_line(m.subject, style="italic"))
        parts.extend(inert_line(line, style="dim") for line in copied(m))
        parts.extend(Text(mark, style="italic magenta") for mark in message_marks(m))
        if "quarantined" in m.flags:
            parts.append(
                Text("⚠ quarantined: could not be parsed; shown as best-effort text", style="bold red")
            )
        if m.meta.get("duration_seconds") is not None:
            parts.append(Text(f"☎ call, {m.meta['duration_seconds']} s", style="cyan"))
        body = m.text if (self.expanded or not self.foldable) else m.display_text
        parts.append(inert(body.rstrip()))
        if self.foldable:
            hint = "▴ quoted text shown (o folds)" if self.expanded else "▾ quoted text folded (o expands)"
            parts.append(Text(hint, style="dim italic"))
        for attachment in m.attachments:
            line = Text("📎 " if not self.ascii_glyphs else "[att] ")
            line.append_text(inert_line(attachment.filename or "(unnamed)"))
            line.append(
                f"  {attachment.content_type}, {_size(attachment.size)}  (w saves, O opens)", style="dim"
            )
            parts.append(line)
        return Group(*parts)


def _classes(item: Message | Event) -> str:
    """Customer text, replies, notes and events are styled apart (omnidesk.tcss)."""
    if isinstance(item, Message):
        return f"timeline-item message {item.direction}"
    return "timeline-item event"


#: Event kinds that duplicate a timeline message (the note or call itself is shown);
#: a queued reply's event stays, it says who queued it, via which channel, to whom.
_MESSAGE_EVENTS = frozenset({"note", "call_logged"})


def timeline_entries(conversation: Any) -> list[tuple[int, int, Any]]:
    """(time, 0 message | 1 event, item), oldest first: messages and events interleaved."""
    entries: list[tuple[int, int, Any]] = [(m.sent_at, 0, m) for m in conversation.messages]
    entries += [(e.created_at, 1, e) for e in conversation.events if e.kind not in _MESSAGE_EVENTS]
    entries.sort(key=lambda x: (x[0], x[1]))
    return entries


def presence_text(rows: Any) -> Text:
    """The collision banner: who else is viewing or replying (names are untrusted-safe)."""
    parts = [f"{r.agent_name} is {'replying to' if r.activity == 'replying' else 'viewing'}" for r in rows]
    text = Text("⚠ ", style="bold")
    text.append_text(inert_line("; ".join(parts) + " this conversation"))
    return text
