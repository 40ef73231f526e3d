"""A customer's whole story as a virtual list: one line per message, note, call or event.

Entries come from `reads.customer_timeline` in keyset pages, newest last, like a chat:
the list opens on the newest page with the cursor at the bottom, and asks its owner
(a message) for the page before the first entry it holds when the cursor nears the
top, or after the last when it nears the bottom. At most `KEEP` entries are held; the
far end is dropped and fetched again when wanted. A line `→ now on Telegram (tg),
was support` stands before an entry whose channel differs from the one before it.
The widget does no I/O; the screen's workers load pages and call `add_page`.
"""

from __future__ import annotations

from typing import ClassVar

from rich.segment import Segment
from rich.text import Text
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from omnidesk.conversations.eventtext import describe, switch_line
from omnidesk.conversations.reads import TIMELINE_START
from omnidesk.model import TimelineEntry, TimelinePage
from omnidesk.tui.textfmt import fit, glyph, inert_line, relative

PAGE_SIZE = 60
KEEP = 600
#: Rows from either end of what is held at which the next page is asked for.
NEAR = 15
_WHO = {"in": "", "out": "→ ", "note": "note "}


class CustomerTimeline(ScrollView, can_focus=True, inherit_bindings=False):
    """Rows of TimelineEntry (and switch separators); a cursor on entries; virtual scrolling."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "customer-timeline--cursor", "customer-timeline--switch", "customer-timeline--dim",
    }

    DEFAULT_CSS = """
    CustomerTimeline { background: $surface; }
    CustomerTimeline > .customer-timeline--cursor { background: $accent 40%; }
    CustomerTimeline:focus > .customer-timeline--cursor { background: $accent; color: $text; }
    CustomerTimeline > .customer-timeline--switch { color: $warning; text-style: bold; }
    CustomerTimeline > .customer-timeline--dim { color: $text-muted; }
    """

    class NeedPage(Message):
        """The owner should load the page before (`before`) or after (`after`) a token; both None: newest."""

        def __init__(self, generation: int, before: str | None, after: str | None) -> None:
            super().__init__()
            self.generation = generation
            self.before = before
            self.after = after

    def __init__(self, *, now_ms: int = 0, ascii_glyphs: bool = False, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.entries: list[TimelineEntry] = []
        self.older: str | None = None  # token of the page before the first entry held
        self.newer: str | None = None
        self.rows: list[tuple[int, bool]] = []  # (entry index, is the switch line before it)
        self.cursor = 0  # a row index, always an entry's own row
        self.generation = 0
        self.loading = False
        self.now_ms = now_ms
        self.ascii_glyphs = ascii_glyphs
        self.channels: dict[int, str] = {}

    # -- data -----------------------------------------------------------------------

    def reset(self) -> int:
        """Forget everything and ask for the newest page; returns the generation to load for."""
        self.generation += 1
        self.entries, self.older, self.newer, self.loading = [], None, None, False
        self._layout()
        self._ask(None, None)
        return self.generation

    def _ask(self, before: str | None, after: str | None) -> None:
        if self.loading:
            return
        self.loading = True
        self.post_message(self.NeedPage(self.generation, before, after))

    def add_page(self, generation: int, page: TimelinePage, *, before: str | None, after: str | None) -> None:
        """A page asked for by NeedPage arrived: put it at the right end, drop the far one if too many."""
        if generation != self.generation:
            return
        self.loading = False
        current = self.current()
        for entry in page.entries:
            if entry.message is not None and entry.message.channel_id and entry.message.channel_name:
                self.channels[entry.message.channel_id] = entry.message.channel_name
        if before is None and after is None:  # the newest page: the cursor starts at the bottom
            self.entries, self.older, self.newer = list(page.entries), page.older, None
            current = self.entries[-1] if self.entries else None
        elif before is not None:
            self.entries[:0] = page.entries
            self.older = page.older
            if len(self.entries) > KEEP:
                del self.entries[KEEP:]
                self.newer = self.entries[-1].key
        else:
            self.entries.extend(page.entries)
            self.newer = page.newer
            if len(self.entries) > KEEP:
                del self.entries[: len(self.entries) - KEEP]
                self.older = self.entries[0].key
        top_key = self._row_key(int(self.scroll_offset.y))
        self._layout()
        self._keep_cursor_on(current)
        if before is not None and top_key is not None:  # rows came in above: keep the view still
            self.scroll_to(y=self._row_of(top_key), animate=False, immediate=True, force=True)
        self._scroll_to_cursor(force=before is None and after is None)
        self.refresh()
        self._want_more()

    def _layout(self) -> None:
        self.rows = []
        for index, entry in enumerate(self.entries):
            if entry.switched:
                self.rows.append((index, True))
            self.rows.append((index, False))
        self.virtual_size = Size(max(1, self.scrollable_size.width), len(self.rows))

    def _row_key(self, row: int) -> str | None:
        return self.entries[self.rows[row][0]].key if 0 <= row < len(self.rows) else None

    def _row_of(self, key: str) -> int:
        return next((r for r, (i, sep) in enumerate(self.rows) if not sep and self.entries[i].key == key), 0)

    def _keep_cursor_on(self, entry: TimelineEntry | None) -> None:
        self.cursor = self._row_of(entry.key) if entry is not None else 0
        self.cursor = min(self.cursor, max(0, len(self.rows) - 1))
        if self.rows and self.rows[self.cursor][1]:
            self.cursor += 1

    def follow_new(self) -> None:
        """The store changed: when the newest entries are held, fetch what came after them."""
        if not self.entries:
            self.reset()
        elif self.newer is None:
            self._ask(None, self.entries[-1].key)

    def _want_more(self) -> None:
        """Ask for the next page when the cursor, or the view (a mouse wheel), nears an end."""
        if not self.rows or self.loading:
            return
        top = int(self.scroll_offset.y)
        bottom = top + max(1, self.size.height)
        if min(self.cursor, top) < NEAR and self.older is not None:
            self._ask(self.older, None)
        elif max(self.cursor, bottom) >= len(self.rows) - NEAR and self.newer is not None:
            self._ask(None, self.newer)

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self._want_more()

    def current(self) -> TimelineEntry | None:
        if not self.rows:
            return None
        return self.entries[self.rows[min(self.cursor, len(self.rows) - 1)][0]]

    # -- cursor ---------------------------------------------------------------------

    def move(self, delta: int) -> None:
        """Move by `delta` entries (switch lines are passed over)."""
        row = self.cursor
        step = 1 if delta > 0 else -1
        for _ in range(abs(delta)):
            nxt = row + step
            while 0 <= nxt < len(self.rows) and self.rows[nxt][1]:
                nxt += step
            if not 0 <= nxt < len(self.rows):
                break
            row = nxt
        if row != self.cursor:
            self.cursor = row
            self._scroll_to_cursor()
            self.refresh()
        self._want_more()

    def page_rows(self) -> int:
        """Entries a page key moves: a screenful less one, so one entry stays in sight."""
        return max(1, self.size.height - 1)

    def to_first(self) -> None:
        """The oldest entry of the whole story: at hand when held, else the story read from its start."""
        if self.older is None:
            if self.entries:
                self._keep_cursor_on(self.entries[0])
                self._scroll_to_cursor()
                self.refresh()
            return
        self.generation += 1
        self.entries, self.older, self.newer, self.loading = [], None, None, False
        self._layout()
        self._ask(None, TIMELINE_START)

    def to_last(self) -> None:
        """The newest entry: at hand when held, else the newest page again (the cursor at its bottom)."""
        if self.newer is None:
            self.move(len(self.rows))
        else:
            self.reset()

    def _scroll_to_cursor(self, force: bool = False) -> None:
        top, height = int(self.scroll_offset.y), max(1, self.size.height)
        if force or self.cursor >= top + height:
            self.scroll_to(y=max(0, self.cursor - height + 1), animate=False, immediate=True, force=True)
        elif self.cursor - 1 < top:  # show the switch line above the entry too
            self.scroll_to(y=max(0, self.cursor - 1), animate=False, immediate=True, force=True)

    def on_resize(self) -> None:
        self.virtual_size = Size(max(1, self.scrollable_size.width), len(self.rows))
        self._scroll_to_cursor()

    # -- rendering ------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        row = int(self.scroll_offset.y) + y
        width = self.scrollable_size.width
        base = self.rich_style
        if row >= len(self.rows):
            return Strip.blank(width, base)
        index, separator = self.rows[row]
        entry = self.entries[index]
        if separator:
            text = Text("  ")
            text.append(switch_line(entry.channel_name, entry.channel_kind, entry.switched_from))
            text.stylize(self.get_component_rich_style("customer-timeline--switch"))
        else:
            text = self.render_entry(entry, width)
            if row == self.cursor:
                text.stylize(self.get_component_rich_style("customer-timeline--cursor"))
        segments = [Segment(seg.text, base + seg.style if seg.style else base)
                    for seg in text.render(self.app.console)]
        return Strip(segments, width).crop_extend(0, width, base)

    def render_entry(self, entry: TimelineEntry, width: int) -> Text:
        """`✉ support    #12  3h  Éva: Hol a számla?`: channel badge, conversation, age, who and what."""
        dim = self.get_component_rich_style("customer-timeline--dim")
        text = Text(no_wrap=True, overflow="ellipsis")
        kind = entry.channel_kind if entry.message is not None and entry.kind != "note" else None
        text.append(f"{glyph(kind, self.ascii_glyphs)} ", style=dim)
        badge = entry.channel_name or ("note" if entry.kind == "note" else "")
        text.append_text(fit(inert_line(badge, style=dim), 10))
        text.append(" ")
        text.append_text(fit(f"#{entry.conversation_id}" if entry.conversation_id else "", 7))
        text.append_text(fit(Text(relative(entry.at, self.now_ms), style=dim), 9, align="right"))
        text.append("  ")
        m = entry.message
        if m is not None:
            who = m.author_agent or m.author_name or m.author_address
            prefix = "call " if entry.kind == "call" else _WHO.get(m.direction, "")
            text.append(prefix, style=dim)
            text.append_text(inert_line(who, style="bold"))
            text.append(": ")
            first = next((line for line in (m.display_text or m.text).splitlines() if line.strip()), "")
            text.append_text(inert_line(first or m.subject))
        elif entry.event is not None:
            text.append_text(inert_line(describe(entry.event, channels=self.channels), style=dim))
        return fit(text, width)
