"""`omnidesk show`: one conversation's timeline, for a terminal (rich) or a pipe (plain text).

Messages and events are merged by time. Every piece of text a stranger wrote
goes through omnidesk.textsafe and into `rich.text.Text`, never into markup.
"""

from __future__ import annotations

from typing import Any

from omnidesk.conversations.eventtext import MESSAGE_EVENTS, channel_names, copied, describe, message_marks
from omnidesk.model import Conversation, Event, Message
from omnidesk.textsafe import clean, one_line
from omnidesk.timeutil import from_ms, iso

_DIRECTION_LABEL = {"in": "from", "out": "reply by", "note": "note by"}


def _entries(conv: Conversation) -> list[tuple[int, int, Message | Event]]:
    """Messages and events in time order (messages first on ties: the event follows its cause)."""
    items: list[tuple[int, int, Message | Event]] = [(m.sent_at, 0, m) for m in conv.messages]
    items += [(e.created_at, 1, e) for e in conv.events if e.kind not in MESSAGE_EVENTS]
    items.sort(key=lambda t: (t[0], t[1], t[2].id))
    return items


def event_text(e: Event, channels: dict[int, str] | None = None) -> str:
    """The event as a sentence (omnidesk.conversations.eventtext, shared with the TUI)."""
    return describe(e, channels=channels)


def _customer_label(conv: Conversation) -> str:
    name, address = one_line(conv.customer.name), one_line(conv.summary.customer_address)
    return f"{name} <{address}>" if name and address else name or address


def _message_header(m: Message, tz: str | None) -> str:
    who = m.author_agent if m.direction != "in" and m.author_agent else m.author_name
    if m.direction == "in" and m.author_address:
        address = f" <{m.author_address}>" if who else m.author_address
    else:
        address = ""
    via = f" via {m.channel_name or m.channel_kind}" if m.channel_name or m.channel_kind else ""
    when = _local(m.sent_at, tz)
    state = f" [{m.delivery}]" if m.direction == "out" and m.delivery else ""
    return one_line(f"{_DIRECTION_LABEL.get(m.direction, m.direction)} {who}{address}{via}, {when}{state}")


def _local(ms: int, tz: str | None) -> str:
    dt = from_ms(ms)
    if tz and tz != "UTC":
        try:
            from zoneinfo import ZoneInfo

            dt = dt.astimezone(ZoneInfo(tz))
        except Exception:  # an unknown zone was already reported by config validation
            pass
    return dt.strftime("%Y-%m-%d %H:%M %Z")


def _attachments(m: Message) -> list[str]:
    return [one_line(f"[attachment] {a.filename} ({a.content_type}, {a.size} bytes)") for a in m.attachments]


def print_timeline(conv: Conversation, tz: str | None = None, *, console: Any = None) -> None:
    from rich.console import Console
    from rich.padding import Padding
    from rich.rule import Rule
    from rich.text import Text

    from omnidesk.cli.output import relative_time
    from omnidesk.timeutil import now_ms

    console = console or Console(highlight=False, markup=False, emoji=False)
    s = conv.summary
    now = now_ms()
    head = Text()
    head.append(f"#{s.id} ", style="bold")
    head.append(one_line(s.subject) or "(no subject)", style="bold")
    console.print(head)
    facts = Text()
    facts.append(f"{s.status} · {s.priority} · ")
    facts.append(_customer_label(conv))
    facts.append(f" · {one_line(s.assignee) if s.assignee else 'unassigned'}")
    if s.tags:
        facts.append(" · " + ", ".join(one_line(t) for t in s.tags))
    facts.append(f" · last activity {relative_time(s.last_activity_at, now)}")
    console.print(facts, style="dim")
    if conv.merged_into:
        console.print(Text(f"merged into #{conv.merged_into}"), style="yellow")
    if conv.linked_to:
        console.print(Text(f"follows #{conv.linked_to}"), style="dim")
    channels = channel_names(conv.messages)
    for _, _, item in _entries(conv):
        if isinstance(item, Event):
            line = f"  · {event_text(item, channels)} ({relative_time(item.created_at, now)})"
            console.print(Text(line), style="dim")
            continue
        style = {"in": "cyan", "out": "green", "note": "yellow"}.get(item.direction, "")
        console.print(Rule(Text(_message_header(item, tz)), align="left", style=style))
        if item.delivery_error:
            console.print(Text(f"delivery failed: {one_line(item.delivery_error)}"), style="red")
        for line in copied(item):
            console.print(Text(f"  {line}"), style="dim")
        for mark in message_marks(item):
            console.print(Text(f"  {mark}"), style="italic")
        body = clean(item.display_text or item.text).strip("\n")
        console.print(Padding(Text(body), (0, 0, 0, 2)))
        for line in _attachments(item):
            console.print(Text(f"  {line}"), style="dim")


def plain_timeline(conv: Conversation) -> str:
    """The piped form: `key:<TAB>value` facts, then each entry; text cleaned, times ISO."""
    s = conv.summary
    lines = [
        f"id:\t{s.id}",
        f"subject:\t{one_line(s.subject)}",
        f"status:\t{s.status}",
        f"priority:\t{s.priority}",
        f"customer:\t{_customer_label(conv)}",
        f"assignee:\t{one_line(s.assignee or '')}",
        f"tags:\t{','.join(one_line(t) for t in s.tags)}",
        f"last_activity_at:\t{iso(s.last_activity_at)}",
    ]
    channels = channel_names(conv.messages)
    for _, _, item in _entries(conv):
        if isinstance(item, Event):
            lines.append(f"event:\t{iso(item.created_at)}\t{event_text(item, channels)}")
            continue
        lines.append("--")
        who = one_line(item.author_name)
        if item.author_address:
            address = one_line(item.author_address)
            who = f"{who} <{address}>" if who else address
        lines.append(f"message:\t{item.id}\t{item.direction}\t{iso(item.sent_at)}\t{who}"
                     + (f"\t{item.delivery}" if item.delivery else ""))
        lines.append(clean(item.display_text or item.text).rstrip("\n"))
        lines.extend(_attachments(item))
    return "\n".join(lines) + "\n"
