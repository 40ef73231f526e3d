"""The inbox: views with live counts, the virtual conversation list, and a preview pane."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from omnidesk.conversations import reads
from omnidesk.tui import actions
from omnidesk.tui.messages import LoadFailed, PageLoaded, StoreChanged
from omnidesk.tui.screens.base import DeskScreen
from omnidesk.tui.textfmt import fit, inert_line
from omnidesk.tui.views import View, default_views, view_for_digit
from omnidesk.tui.widgets.conversation_list import PAGE_SIZE, ConversationList
from omnidesk.tui.widgets.keybar import KeyBar
from omnidesk.tui.widgets.preview import preview_renderable
from omnidesk.tui.widgets.statusbar import StatusBar

#: How often the inbox's SLA countdown is drawn again (it shows minutes).
SLA_TICK_SECONDS = 15.0


class PreviewLoaded(Message):
    def __init__(self, conversation: Any) -> None:
        super().__init__()
        self.conversation = conversation


class TotalLoaded(Message):
    def __init__(self, generation: int, total: int) -> None:
        super().__init__()
        self.generation = generation
        self.total = total


class CountsLoaded(Message):
    def __init__(self, counts: list[int]) -> None:
        super().__init__()
        self.counts = counts


class InboxScreen(DeskScreen):
    context = "inbox"
    BINDINGS = actions.bindings("inbox")
    AUTO_FOCUS = "#conversations"

    def __init__(self) -> None:
        super().__init__(id="inbox")
        self.views: list[View] = []
        self.counts: list[int | None] = []
        self.view_index = 0
        self.filter_text = ""
        self._preview_timer: Any = None
        self.last_error = ""
        self._painted = False
        self._had_no_row = True

    def compose(self) -> ComposeResult:
        yield Label("", id="title")
        with Horizontal(id="inbox-body"):
            yield OptionList(id="views")
            with Vertical(id="list-pane"):
                yield Input(
                    placeholder="filter: status:open tag:billing from:ann ...  (tab completes)",
                    id="filter",
                    classes="hidden",
                )
                yield Label("", id="filter-help", classes="hidden", markup=False)
                yield ConversationList(
                    id="conversations",
                    now_ms=self.desk_app.now_ms(),
                    ascii_glyphs=self.desk.settings.tui.ascii_glyphs,
                )
            with VerticalScroll(id="preview"):
                yield Static("", id="preview-body")
        yield StatusBar()
        yield KeyBar()

    @property
    def conv_list(self) -> ConversationList:
        return self.query_one(ConversationList)

    async def on_mount(self) -> None:
        channels: list[Any] = []
        try:
            channels = list(await reads.list_channels(self.desk))
        except Exception:
            channels = []
        self.views = default_views(self.desk, channels)
        self.counts = [None] * len(self.views)
        self._render_views()
        self.conv_list.focus()
        start = next((i for i, v in enumerate(self.views) if v.query == "status:open"), 0)
        self.select_view(start)
        self.set_interval(SLA_TICK_SECONDS, self.tick_clock)

    def tick_clock(self) -> None:
        """The SLA countdown follows the clock: the rows held are drawn again with a new now (no I/O)."""
        self.conv_list.now_ms = self.desk_app.now_ms()
        self.conv_list.refresh()

    # -- views and counts -----------------------------------------------------------

    def _render_views(self) -> None:
        menu = self.query_one("#views", OptionList)
        highlighted = self.view_index
        menu.clear_options()
        for index, view in enumerate(self.views):
            label = Text()
            label.append(f"{view.key or ' '} ", style="dim")
            label.append_text(fit(inert_line(view.name), 12))
            count = self.counts[index] if index < len(self.counts) else None
            label.append(fit("…" if count is None else str(count), 5, align="right"))
            menu.add_option(Option(label))
        menu.highlighted = highlighted

    @work(group="counts", exclusive=True, exit_on_error=False)
    async def load_counts(self) -> None:
        try:
            counts = await reads.count_conversations(self.desk, [v.query for v in self.views])
        except Exception:
            return
        self.post_message(CountsLoaded(list(counts)))

    def on_counts_loaded(self, message: CountsLoaded) -> None:
        self.counts = list(message.counts)
        self._render_views()

    @on(OptionList.OptionSelected, "#views")
    def _view_chosen(self, event: OptionList.OptionSelected) -> None:
        self.select_view(event.option_index)
        self.conv_list.focus()

    def select_view(self, index: int) -> None:
        if not 0 <= index < len(self.views):
            return
        self.view_index = index
        self.query_one("#views", OptionList).highlighted = index
        self._reload_query()

    def view_for_digit(self, digit: int) -> int | None:
        return view_for_digit(self.views, digit)

    def _select_digit(self, digit: int) -> None:
        index = self.view_for_digit(digit)
        if index is not None:
            self.select_view(index)

    @property
    def query_text(self) -> str:
        view = self.views[self.view_index] if self.views else View("", "")
        return f"{view.query} {self.filter_text}".strip()

    def _reload_query(self) -> None:
        self._update_title()
        self.conv_list.reset(self.query_text)

    def _update_title(self) -> None:
        view = self.views[self.view_index] if self.views else None
        title = Text(f" {self.desk.settings.desk.name} ", style="bold")
        if view is not None:
            title.append_text(inert_line(view.name))
        title.append(f"   {self.query_text}", style="dim")
        marked = len(self.conv_list.marked)
        if marked:
            title.append(f"   {marked} marked", style="bold")
        if self.desk.agent is not None:
            title.append(f"   as {self.desk.agent.name}", style="dim")
        self.query_one("#title", Label).update(title)

    # -- pages ----------------------------------------------------------------------------

    @on(ConversationList.NeedPage)
    def _need_page(self, message: ConversationList.NeedPage) -> None:
        self.load_page(message.generation, message.index, message.after, self.conv_list.state.query)

    @work(group="pages", exit_on_error=False)
    async def load_page(self, generation: int, index: int, after: str | None, query: str) -> None:
        try:
            page = await reads.list_conversations(self.desk, query, limit=PAGE_SIZE, after=after)
        except Exception as exc:
            self.post_message(LoadFailed(generation, str(exc)))
            return
        self.post_message(PageLoaded(generation, index, page))

    def on_page_loaded(self, message: PageLoaded) -> None:
        page = message.page
        for item in page.items:
            self.desk_app.known_tags.update(item.tags)
        self.conv_list.now_ms = self.desk_app.now_ms()
        self.conv_list.set_page(message.generation, message.index, page.items, page.next_after, page.total)
        self._show_error("")
        if message.index == 0 and page.next_after is not None:
            # the total (for the scrollbar) is a second query, after the rows are shown
            self.load_total(message.generation, self.conv_list.state.query)
        if not self._painted:
            self._painted = True
            self.call_after_refresh(self._after_first_paint)

    @work(group="total", exclusive=True, exit_on_error=False)
    async def load_total(self, generation: int, query: str) -> None:
        try:
            (total,) = await reads.count_conversations(self.desk, [query])
        except Exception:
            return
        self.post_message(TotalLoaded(generation, total))

    def on_total_loaded(self, message: TotalLoaded) -> None:
        self.conv_list.set_total(message.generation, message.total)

    def _after_first_paint(self) -> None:
        self.load_counts()
        self.desk_app.after_first_paint()

    def on_load_failed(self, message: LoadFailed) -> None:
        if message.generation == self.conv_list.state.generation:
            self.conv_list.loading.clear()
            self._show_error(message.error)
        if not self._painted:
            self._painted = True
            self.call_after_refresh(self._after_first_paint)

    def _show_error(self, error: str) -> None:
        help_label = self.query_one("#filter-help", Label)
        field = self.query_one("#filter", Input)
        if error and field.has_focus and getattr(self, "_suggestions", None):
            # Mid-token ("status:p" fails to parse): what tab completes to helps more than the error.
            self.last_error = error
            return
        if error:
            help_label.update(Text(error, style="bold red"))
            help_label.remove_class("hidden")
        elif not field.has_focus:
            help_label.add_class("hidden")
        self.last_error = error

    def on_store_changed(self, message: StoreChanged) -> None:
        self.conv_list.reload(seek=message.seek)
        self.load_counts()
        self._update_title()

    def refresh_now(self, arg: str | None = None) -> None:
        self.on_store_changed(StoreChanged(local=True))

    # -- preview --------------------------------------------------------------------------

    @on(ConversationList.CursorMoved)
    def _cursor_moved(self, message: ConversationList.CursorMoved) -> None:
        if self._preview_timer is not None:
            self._preview_timer.stop()
        summary = message.summary
        # The footer's offer changes only when the list gains or loses rows (not while a
        # page loads): recomposing the footer on every move is slow and Textual keeps old keys.
        empty = self.conv_list.row_count == 0
        if empty != self._had_no_row:
            self._had_no_row = empty
            self.refresh_bindings()
        if summary is None:
            self.query_one("#preview-body", Static).update("")
            return
        self._preview_timer = self.set_timer(0.06, lambda: self.load_preview(summary.id))

    @work(group="preview", exclusive=True, exit_on_error=False)
    async def load_preview(self, conversation_id: int) -> None:
        try:
            conversation = await reads.get_conversation(self.desk, conversation_id)
        except Exception:
            return
        self.post_message(PreviewLoaded(conversation))

    def on_preview_loaded(self, message: PreviewLoaded) -> None:
        conversation = message.conversation
        current = self.conv_list.current()
        if current is None or current.id != conversation.summary.id:
            return
        self.query_one("#preview-body", Static).update(
            preview_renderable(conversation, self.desk_app.now_ms())
        )

    # -- moving and marking ---------------------------------------------------------------

    def cursor_down(self, arg: str | None = None) -> None:
        self.conv_list.move(1)

    def cursor_up(self, arg: str | None = None) -> None:
        self.conv_list.move(-1)

    def cursor_first(self, arg: str | None = None) -> None:
        self.conv_list.move_to(0)

    def cursor_last(self, arg: str | None = None) -> None:
        self.conv_list.move_to(self.conv_list.row_count - 1)

    def page_down(self, arg: str | None = None) -> None:
        self.conv_list.move(max(1, self.conv_list.size.height - 1))

    def page_up(self, arg: str | None = None) -> None:
        self.conv_list.move(-max(1, self.conv_list.size.height - 1))

    def toggle_mark(self, arg: str | None = None) -> None:
        self.conv_list.toggle_mark()
        self._update_title()

    def mark_range(self, arg: str | None = None) -> None:
        done = self.conv_list.mark_range()
        self.notify("range marked" if done else "range started: move, then V again", markup=False)
        self._update_title()

    def mark_all(self, arg: str | None = None) -> None:
        self._mark_all(self.query_text)

    @work(group="mark-all", exclusive=True, exit_on_error=False)
    async def _mark_all(self, query: str) -> None:
        try:
            ids = await reads.conversation_ids(self.desk, query)
        except Exception as exc:
            self.post_message(LoadFailed(self.conv_list.state.generation, str(exc)))
            return
        self.app.call_later(self._marked_all, ids)

    def _marked_all(self, ids: list[int]) -> None:
        self.conv_list.marked = set(ids)
        self.conv_list.refresh()
        self._update_title()
        self.notify(f"{len(ids)} marked", markup=False)

    def unmark_all(self, arg: str | None = None) -> None:
        self.clear_marks()

    def clear_marks(self) -> None:
        self.conv_list.marked.clear()
        self.conv_list.range_anchor = None
        self.conv_list.refresh()
        self._update_title()

    # -- targets and navigation -------------------------------------------------------------

    def targets(self) -> tuple[int, ...]:
        if self.conv_list.marked:
            return tuple(sorted(self.conv_list.marked))
        current = self.conv_list.current()
        return (current.id,) if current is not None else ()

    def current_summary(self) -> Any:
        return self.conv_list.current()

    def current_customer_id(self) -> int | None:
        current = self.conv_list.current()
        return current.customer_id if current is not None else None

    def after_resolve(self, ids: tuple[int, ...]) -> None:
        """Done: put the cursor on the conversation after the last one handled."""
        lst = self.conv_list
        positions = [p for p in (lst.index_of(i) for i in ids) if p is not None]
        if not positions:
            return
        after = max(positions) + 1
        following = lst.row(after)
        if following is not None:
            lst.move_to(after)
            self._follow_id = following.id

    def neighbour(self, conversation_id: int, delta: int) -> int | None:
        """The id next to `conversation_id` in the list (J/K while reading)."""
        lst = self.conv_list
        index = lst.index_of(conversation_id)
        if index is None:
            return None
        row = lst.row(index + delta)
        if row is None:
            return None
        lst.move_to(index + delta)
        return row.id

    def open_selected(self, arg: str | None = None) -> None:
        current = self.conv_list.current()
        if current is not None:
            self.open_conversation(current.id)

    def open_conversation(self, conversation_id: int, compose: str | None = None) -> None:
        from omnidesk.tui.screens.conversation import show_conversation

        show_conversation(self.app, conversation_id, inbox=self, compose=compose)

    def reply(self, arg: str | None = None) -> None:
        current = self.conv_list.current()
        if current is not None:
            self.open_conversation(current.id, compose="reply")

    def reply_all(self, arg: str | None = None) -> None:
        current = self.conv_list.current()
        if current is not None:
            self.open_conversation(current.id, compose="reply-all")

    def note(self, arg: str | None = None) -> None:
        current = self.conv_list.current()
        if current is not None:
            self.open_conversation(current.id, compose="note")

    # -- the live filter -----------------------------------------------------------------------

    def open_filter(self, arg: str | None = None) -> None:
        field = self.query_one("#filter", Input)
        if arg is not None:
            field.value = arg
            self.filter_text = arg.strip()
            self._reload_query()
        field.remove_class("hidden")
        self.query_one("#filter-help", Label).remove_class("hidden")
        field.focus()
        self._filter_help(field.value)

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._filter_help(event.value)
        self.filter_text = event.value.strip()
        self._reload_query()

    def _filter_help(self, typed: str) -> None:
        suggestions = self.desk_app.argument_help("filter", typed)[:6]
        text = Text()
        for value, description in suggestions:
            word = value.rpartition(" ")[2]
            text.append(word, style="bold")
            text.append(f" {description}   ", style="dim")
        self.query_one("#filter-help", Label).update(
            text if suggestions else Text("enter: keep, esc: clear", style="dim")
        )
        self._suggestions = suggestions

    def on_key(self, event: Any) -> None:
        field = self.query_one("#filter", Input)
        if not field.has_focus:
            return
        if event.key == "escape":
            event.stop()
            field.value = ""
            self.filter_text = ""
            field.add_class("hidden")
            self.query_one("#filter-help", Label).add_class("hidden")
            self._reload_query()
            self.conv_list.focus()
        elif event.key == "tab" and getattr(self, "_suggestions", None):
            event.stop()
            event.prevent_default()
            field.value = self._suggestions[0][0]
            field.cursor_position = len(field.value)

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        if not event.value.strip():
            event.input.add_class("hidden")
        self.query_one("#filter-help", Label).add_class("hidden")
        self.conv_list.focus()


def _digit_handler(digit: int) -> Any:
    def handler(self: InboxScreen, arg: str | None = None) -> None:
        self._select_digit(digit)

    handler.__name__ = f"select_view_{digit}"
    return handler


for _digit in range(1, 10):  # registry handlers select_view_1 .. select_view_9
    setattr(InboxScreen, f"select_view_{_digit}", _digit_handler(_digit))
