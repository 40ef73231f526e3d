"""A virtual conversation list: only the rows on screen are rendered, only nearby pages are held.

Rows come from `reads.list_conversations` in keyset pages. The widget knows
the total (asked once per query) so the scrollbar is right, remembers the
`after` token that starts each page, keeps at most `KEEP_PAGES` pages around
the viewport in memory, and asks its owner (a message) for pages it lacks.
It never does I/O itself: the screen's workers load pages and call
`set_page`. Marks are conversation ids, so they survive reloads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.segment import Segment
from rich.text import Text
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from omnidesk.model import ConversationSummary
from omnidesk.tui.textfmt import fit, glyph, inert_line, relative

PAGE_SIZE = 100
KEEP_PAGES = 12


@dataclass
class ListState:
    query: str = ""
    generation: int = 0
    total: int | None = None
    exhausted_at: int | None = None  # row count once the last page was seen (no total)


# No inherited bindings: ScrollView's own home/end/page keys would scroll the page and
# leave the cursor behind; every movement key is the screen's, from the action registry.
class ConversationList(ScrollView, can_focus=True, inherit_bindings=False):
    """Rows of ConversationSummary; cursor, marks, virtual scrolling."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "conversation-list--cursor",
        "conversation-list--marked",
        "conversation-list--unread",
        "conversation-list--dim",
        "conversation-list--status",
        "conversation-list--sla-ok",
        "conversation-list--sla-warning",
        "conversation-list--sla-breached",
        "conversation-list--sla-paused",
    }

    DEFAULT_CSS = """
    ConversationList { background: $surface; }
    ConversationList > .conversation-list--cursor { background: $accent 40%; }
    ConversationList:focus > .conversation-list--cursor { background: $accent; color: $text; }
    ConversationList > .conversation-list--marked { color: $warning; text-style: bold; }
    ConversationList > .conversation-list--unread { text-style: bold; }
    ConversationList > .conversation-list--dim { color: $text-muted; }
    ConversationList > .conversation-list--status { color: $secondary; }
    """

    class NeedPage(Message):
        """The owner should load page `index` (with `after` token) for `generation`."""

        def __init__(self, generation: int, index: int, after: str | None) -> None:
            super().__init__()
            self.generation = generation
            self.index = index
            self.after = after

    class CursorMoved(Message):
        def __init__(self, summary: ConversationSummary | None) -> None:
            super().__init__()
            self.summary = summary

    def __init__(self, *, now_ms: int = 0, ascii_glyphs: bool = False, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.state = ListState()
        self.pages: dict[int, tuple[ConversationSummary, ...]] = {}
        self.tokens: dict[int, str | None] = {0: None}
        self.loading: set[int] = set()
        self.cursor = 0
        self.marked: set[int] = set()
        self.range_anchor: int | None = None
        self.seek: frozenset[int] = frozenset()  # put the cursor on one of these when its row arrives
        self.now_ms = now_ms
        self.ascii_glyphs = ascii_glyphs

    # -- data -----------------------------------------------------------------------

    def reset(self, query: str) -> int:
        """A new query: forget rows and tokens; returns the generation to load for."""
        self.state = ListState(query=query, generation=self.state.generation + 1)
        self.pages.clear()
        self.tokens = {0: None}
        self.loading.clear()
        self.cursor = 0
        self.range_anchor = None
        self.seek = frozenset()
        self._update_size()
        self.scroll_to(y=0, animate=False)
        self.request_page(0)
        return self.state.generation

    def reload(self, seek: frozenset[int] = frozenset()) -> None:
        """The store changed: fetch the pages in view again (rows stay shown until they arrive).

        Near the top, pages are refetched in order so the `after` tokens follow
        rows that moved; deep in the list the known tokens are reused. With `seek`,
        the cursor goes to the first of those conversations the new pages show
        (an undo brings a row back, and the next key should act on it).
        """
        self.seek = seek
        self.state.generation += 1
        self.loading.clear()
        first, last = self._visible_pages()
        wanted = range(0, last + 1) if last <= 10 else range(first, last + 1)
        for index in list(self.pages):
            if index not in wanted:
                del self.pages[index]
        for index in wanted:
            if index in self.tokens:
                self.request_page(index)

    def request_page(self, index: int) -> None:
        if index in self.loading or index not in self.tokens:
            return
        self.loading.add(index)
        self.post_message(self.NeedPage(self.state.generation, index, self.tokens[index]))

    def set_page(
        self,
        generation: int,
        index: int,
        items: tuple[ConversationSummary, ...],
        next_after: str | None,
        total: int | None,
    ) -> None:
        if generation != self.state.generation:
            return
        self.loading.discard(index)
        current = self.current()
        self.pages[index] = items
        if total is not None:
            self.state.total = total
        if next_after is not None:
            if self.tokens.get(index + 1, "\0") != next_after:
                self.tokens[index + 1] = next_after
                self.pages.pop(index + 1, None)
        else:
            for later in [k for k in self.tokens if k > index]:
                del self.tokens[later]
            self.state.exhausted_at = index * PAGE_SIZE + len(items)
            if self.state.total is not None:
                self.state.total = self.state.exhausted_at
        self._evict()
        self._update_size()
        if self.seek and any(item.id in self.seek for item in items):
            self.cursor = index * PAGE_SIZE + next(i for i, item in enumerate(items) if item.id in self.seek)
            self.seek = frozenset()
            self._scroll_to_cursor()
        elif current is not None and index * PAGE_SIZE <= self.cursor < (index + 1) * PAGE_SIZE:
            self._follow(current.id)
        if not self.loading:
            self.seek = frozenset()  # every page asked for has come: the rows are not in view
        self.cursor = min(self.cursor, max(0, self.row_count - 1))
        self.refresh()
        self._want_visible()
        self.post_message(self.CursorMoved(self.current()))

    def set_total(self, generation: int, total: int) -> None:
        if generation != self.state.generation or self.state.exhausted_at is not None:
            return
        self.state.total = total
        self._update_size()
        self.refresh()

    def _follow(self, conversation_id: int) -> None:
        """Keep the cursor on the same conversation when rows shift under it."""
        for page, items in self.pages.items():
            for offset, item in enumerate(items):
                if item.id == conversation_id:
                    self.cursor = page * PAGE_SIZE + offset
                    return

    def index_of(self, conversation_id: int) -> int | None:
        for page, items in self.pages.items():
            for offset, item in enumerate(items):
                if item.id == conversation_id:
                    return page * PAGE_SIZE + offset
        return None

    @property
    def row_count(self) -> int:
        if self.state.total is not None:
            return self.state.total
        if self.state.exhausted_at is not None:
            return self.state.exhausted_at
        loaded = max(self.pages, default=-1)
        if loaded < 0:
            return 0
        return loaded * PAGE_SIZE + len(self.pages[loaded]) + (1 if loaded + 1 in self.tokens else 0)

    def row(self, index: int) -> ConversationSummary | None:
        items = self.pages.get(index // PAGE_SIZE)
        if items is None:
            return None
        offset = index % PAGE_SIZE
        return items[offset] if offset < len(items) else None

    def current(self) -> ConversationSummary | None:
        return self.row(self.cursor)

    def loaded_rows(self) -> list[ConversationSummary]:
        return [row for _, items in sorted(self.pages.items()) for row in items]

    def _visible_pages(self) -> tuple[int, int]:
        top = int(self.scroll_offset.y)
        height = max(1, self.size.height)
        bottom = max(top, min(self.row_count, top + height) - 1)
        return top // PAGE_SIZE, max(bottom, self.cursor) // PAGE_SIZE

    def _want_visible(self) -> None:
        first, last = self._visible_pages()
        cursor_page = self.cursor // PAGE_SIZE
        for index in sorted({*range(first, last + 1), cursor_page}):
            if index not in self.pages:
                if index in self.tokens:
                    self.request_page(index)
                else:  # tokens come only from the page before: walk forward
                    known = (
                        max(k for k in self.tokens if k < index) if any(k < index for k in self.tokens) else 0
                    )
                    if known not in self.pages:
                        self.request_page(known)
                    break

    def _evict(self) -> None:
        if len(self.pages) <= KEEP_PAGES:
            return
        centre = self.cursor // PAGE_SIZE
        for index in sorted(self.pages, key=lambda i: abs(i - centre), reverse=True):
            if len(self.pages) <= KEEP_PAGES:
                break
            del self.pages[index]

    def _update_size(self) -> None:
        self.virtual_size = Size(max(1, self.scrollable_size.width), self.row_count)

    def on_resize(self) -> None:
        self._update_size()
        self._want_visible()

    # -- cursor ---------------------------------------------------------------------

    def move(self, delta: int) -> None:
        self.move_to(self.cursor + delta)

    def move_to(self, index: int) -> None:
        count = self.row_count
        if count == 0:
            return
        index = max(0, min(count - 1, index))
        if index == self.cursor:
            return
        old = self.cursor
        self.cursor = index
        self._scroll_to_cursor()
        self.refresh_line(old - int(self.scroll_offset.y))
        self.refresh_line(index - int(self.scroll_offset.y))
        self._want_visible()
        self.post_message(self.CursorMoved(self.current()))

    def _scroll_to_cursor(self) -> None:
        top = int(self.scroll_offset.y)
        height = max(1, self.size.height)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
            self.refresh()
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)
            self.refresh()

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self._want_visible()

    # -- marks ----------------------------------------------------------------------

    def toggle_mark(self) -> None:
        row = self.current()
        if row is None:
            return
        self.marked.symmetric_difference_update({row.id})
        self.refresh_line(self.cursor - int(self.scroll_offset.y))
        self.move(1)

    def mark_range(self) -> bool:
        """First press sets the anchor; the second marks anchor..cursor. True when done."""
        if self.range_anchor is None:
            self.range_anchor = self.cursor
            row = self.current()
            if row is not None:
                self.marked.add(row.id)
            self.refresh()
            return False
        low, high = sorted((self.range_anchor, self.cursor))
        for index in range(low, high + 1):
            row = self.row(index)
            if row is not None:
                self.marked.add(row.id)
        self.range_anchor = None
        self.refresh()
        return True

    # -- rendering ------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        index = int(self.scroll_offset.y) + y
        # The scrollbar takes cells from the content area: lay the row out in what is left.
        width = self.scrollable_size.width
        base = self.rich_style
        if index >= self.row_count:
            return Strip.blank(width, base)
        row = self.row(index)
        if row is None:
            return Strip(
                [
                    Segment(
                        fit("  …", width).plain,
                        base + self.get_component_rich_style("conversation-list--dim"),
                    )
                ],
                width,
            )
        text = self.render_row(row, width)
        if row.id in self.marked:
            text.stylize(self.get_component_rich_style("conversation-list--marked"))
        if index == self.cursor:
            text.stylize(self.get_component_rich_style("conversation-list--cursor"))
        segments = [
            Segment(seg.text, base + seg.style if seg.style else base)
            for seg in text.render(self.app.console)
        ]
        return Strip(segments, width).crop_extend(0, width, base)

    def render_row(self, row: ConversationSummary, width: int) -> Text:
        """One row: mark, unread, channel glyph, #id, customer, subject, status, assignee, SLA, age.

        Every column but the subject has a fixed cell width (wide characters count
        two), so columns line up whatever the text; the subject takes what is left.
        """
        dim = self.get_component_rich_style("conversation-list--dim")
        status_style = self.get_component_rich_style("conversation-list--status")
        mark = "*" if row.id in self.marked else " "
        unread = "●" if row.unread and not self.ascii_glyphs else ("!" if row.unread else " ")
        subject = row.subject or row.preview
        customer = row.customer_name or row.customer_address
        subject_width = max(8, width - FIXED_CELLS)
        status = row.status
        if row.status == "snoozed" and row.snoozed_until:
            status = f"z {_age(row.snoozed_until, self.now_ms)}"
        sla, sla_state = sla_cell(row, self.now_ms)
        sla_style = self.get_component_rich_style(f"conversation-list--sla-{sla_state}") if sla else ""
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f"{mark}{unread}")
        text.append(f"{glyph(row.channel_kind, self.ascii_glyphs)} ", style=dim)
        text.append_text(fit(f"#{row.id}", COLUMNS["id"]))
        text.append(" ")
        text.append_text(fit(inert_line(customer), COLUMNS["customer"]))
        text.append(" ")
        subject_text = inert_line(subject)
        if row.tags:
            subject_text.append(" ")
            subject_text.append_text(inert_line(" ".join(f"+{t}" for t in row.tags), style=dim))
        text.append_text(fit(subject_text, subject_width))
        text.append(" ")
        text.append_text(fit(Text(status, style=status_style), COLUMNS["status"]))
        text.append(" ")
        text.append_text(fit(inert_line(row.assignee or "-", style=dim), COLUMNS["assignee"]))
        text.append(" ")
        text.append_text(fit(Text(sla, style=sla_style), COLUMNS["sla"]))
        text.append(" ")
        text.append_text(fit(_age(row.last_activity_at, self.now_ms), COLUMNS["age"], align="right"))
        if row.unread:
            text.stylize(self.get_component_rich_style("conversation-list--unread"), 0, 2)
        return text


#: Fixed cell widths of the list's columns (the subject takes the rest).
COLUMNS = {"id": 7, "customer": 16, "status": 8, "assignee": 8, "sla": 4, "age": 3}
#: mark+unread (2), glyph+space (2), the fixed columns, and one space between columns.
FIXED_CELLS = 2 + 2 + sum(COLUMNS.values()) + 6


def sla_state(row: ConversationSummary, now_ms: int) -> str:
    """"breached", "warning", "ok", "paused" (the clock stands, time left) or "" (no SLA clock)."""
    if row.status in ("resolved", "spam"):
        return ""
    if row.sla_due_at is not None:
        if row.sla_due_at <= now_ms:
            return "breached"
        return "warning" if row.sla_warn_at is not None and row.sla_warn_at <= now_ms else "ok"
    return "paused" if row.sla_left_ms is not None else ""


def sla_cell(row: ConversationSummary, now_ms: int) -> tuple[str, str]:
    """The SLA column (time to the due time `40m`, past it `-5m`, or left while standing) and its state."""
    state = sla_state(row, now_ms)
    if state == "paused":
        return _age(now_ms + (row.sla_left_ms or 0), now_ms), state
    if not state:
        return "", state
    assert row.sla_due_at is not None
    age = _age(row.sla_due_at, now_ms)
    if state == "breached":
        return ("-0m" if age == "now" else f"-{age}"), state
    return age, state


def _age(ms: int | None, now_ms: int) -> str:
    """`now`, `3m`, `2h`, `5d`, `7w`, `1y` either way in time (the column says which)."""
    return relative(ms, now_ms).removeprefix("in ")
