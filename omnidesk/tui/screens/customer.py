"""The customer panel: identities on every channel, language, local time, notes, and their whole story.

The story is one virtual timeline of every message, note, call and event of all the
customer's conversations and channels (`widgets/customer_timeline.py`), newest last;
enter opens the conversation of the entry under the cursor.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Label, Static

from omnidesk.conversations import reads
from omnidesk.customers.duplicates import suggestions
from omnidesk.errors import shown
from omnidesk.limits import id_value
from omnidesk.services import services
from omnidesk.tui import actions
from omnidesk.tui.messages import StoreChanged
from omnidesk.tui.screens.base import DeskScreen
from omnidesk.tui.textfmt import clock, glyph, inert, inert_line, zone
from omnidesk.tui.widgets.customer_timeline import PAGE_SIZE, CustomerTimeline
from omnidesk.tui.widgets.keybar import KeyBar
from omnidesk.tui.widgets.picker import Choice, PickerScreen
from omnidesk.tui.widgets.statusbar import StatusBar


class CustomerLoaded(Message):
    def __init__(self, customer: Any, error: str = "", duplicates: list[Any] | None = None) -> None:
        super().__init__()
        self.customer = customer
        self.error = error
        self.duplicates = duplicates or []


class TimelinePageLoaded(Message):
    def __init__(self, request: CustomerTimeline.NeedPage, page: Any, error: str = "") -> None:
        super().__init__()
        self.request = request
        self.page = page
        self.error = error


class CandidatesLoaded(Message):
    def __init__(self, customers: list[Any]) -> None:
        super().__init__()
        self.customers = customers


class CustomerScreen(DeskScreen):
    context = "customer"
    BINDINGS = actions.bindings("customer")
    AUTO_FOCUS = "#customer-story"

    def __init__(self, customer_id: int) -> None:
        super().__init__(classes="customer-screen")
        self.customer_id = customer_id
        self.customer: Any = None
        self.duplicates: list[Any] = []  # likely duplicates, suggested, never merged here

    def compose(self) -> ComposeResult:
        yield Label("", id="customer-header")
        with Horizontal(id="customer-body"):
            with Vertical(id="customer-facts"):
                yield Static("", id="customer-info")
            with Vertical(id="customer-timeline"):
                yield Label("Everything, every channel, newest last (enter opens its conversation)",
                            classes="section")
                yield CustomerTimeline(now_ms=self.desk_app.now_ms(),
                                       ascii_glyphs=self.desk.settings.tui.ascii_glyphs, id="customer-story")
        yield StatusBar()
        yield KeyBar()

    @property
    def story(self) -> CustomerTimeline:
        return self.query_one(CustomerTimeline)

    def on_mount(self) -> None:
        self.load()
        self.story.reset()
        self.story.focus()

    def on_customer_timeline_need_page(self, message: CustomerTimeline.NeedPage) -> None:
        self.load_page(message)

    @work(group="customer-story", exclusive=True, exit_on_error=False)
    async def load_page(self, request: CustomerTimeline.NeedPage) -> None:
        try:
            page = await reads.customer_timeline(self.desk, self.customer_id, limit=PAGE_SIZE,
                                                 before=request.before, after=request.after)
        except Exception as exc:
            self.post_message(TimelinePageLoaded(request, None, str(exc)))
            return
        self.post_message(TimelinePageLoaded(request, page))

    def on_timeline_page_loaded(self, message: TimelinePageLoaded) -> None:
        request = message.request
        if message.page is None:
            self.story.loading = False
            self.notify(message.error, severity="error", markup=False)
            return
        self.story.now_ms = self.desk_app.now_ms()
        self.story.add_page(request.generation, message.page, before=request.before, after=request.after)

    @work(group="customer", exclusive=True, exit_on_error=False)
    async def load(self) -> None:
        try:
            customer = await reads.get_customer(self.desk, self.customer_id)
            duplicates = await suggestions(self.desk, self.customer_id)
        except Exception as exc:
            self.post_message(CustomerLoaded(None, str(exc)))
            return
        self.post_message(CustomerLoaded(customer, duplicates=duplicates))

    def on_customer_loaded(self, message: CustomerLoaded) -> None:
        if message.customer is None:
            self.query_one("#customer-header", Label).update(Text(message.error, style="bold red"))
            return
        self.customer = message.customer
        self.duplicates = message.duplicates
        self._show_customer()

    def _show_customer(self) -> None:
        c = self.customer
        now = self.desk_app.now_ms()
        head = Text(f" customer {c.id} ", style="bold reverse")
        head.append(" ")
        head.append_text(inert_line(c.name or "(no name)", style="bold"))
        if c.merged_into:
            head.append(f"  merged into customer {c.merged_into}", style="bold yellow")
        self.query_one("#customer-header", Label).update(head)
        info = Text()
        info.append("Identities\n", style="bold underline")
        for identity in c.identities:
            info.append(f"  {glyph(identity.kind, self.desk.settings.tui.ascii_glyphs)} {identity.kind:<9}")
            info.append_text(inert_line(identity.address))
            if identity.display_name:
                info.append("  ")
                info.append_text(inert_line(identity.display_name, style="dim"))
            if identity.opted_out_at is not None:
                info.append("  opted out (STOP): nothing is sent here", style="bold yellow")
            info.append("\n")
        if self.duplicates:
            info.append("\nMaybe the same person\n", style="bold underline")
            for d in self.duplicates:
                info.append(f"  customer {d.other_id} ")
                info.append_text(inert_line(d.other_name or "(no name)", style="bold"))
                info.append(f"  {d.reason}\n", style="dim")
            info.append("  m merges one into this customer (they come first there)\n", style="dim")
        info.append("\nLanguage  ", style="bold")
        info.append(c.language or "unknown")
        if c.language_manual:
            info.append("  (set by hand)", style="dim")
        info.append("\nTimezone  ", style="bold")
        if c.timezone:
            info.append(f"{c.timezone}, local time {clock(now, zone(c.timezone))}")
        else:
            info.append("unknown")
        if c.tier:
            info.append("\nTier      ", style="bold")
            info.append_text(inert_line(c.tier))
        info.append("\n\nNotes\n", style="bold underline")
        info.append_text(inert(c.notes or "(none)"))
        self.query_one("#customer-info", Static).update(info)

    def on_store_changed(self, message: StoreChanged) -> None:
        self.load()
        self.story.follow_new()

    # -- actions -------------------------------------------------------------------------

    def current_id(self) -> int | None:
        entry = self.story.current()
        return entry.conversation_id if entry is not None else None

    def targets(self) -> tuple[int, ...]:
        current = self.current_id()
        return (current,) if current is not None else ()

    def current_summary(self) -> Any:
        """The entry under the cursor when it belongs to a conversation (what enter opens)."""
        entry = self.story.current()
        return entry if entry is not None and entry.conversation_id is not None else None

    def cursor_down(self, arg: str | None = None) -> None:
        self.story.move(1)

    def cursor_up(self, arg: str | None = None) -> None:
        self.story.move(-1)

    def page_down(self, arg: str | None = None) -> None:
        self.story.move(self.story.page_rows())

    def page_up(self, arg: str | None = None) -> None:
        self.story.move(-self.story.page_rows())

    def cursor_first(self, arg: str | None = None) -> None:
        self.story.to_first()

    def cursor_last(self, arg: str | None = None) -> None:
        self.story.to_last()

    def open_selected(self, arg: str | None = None) -> None:
        conversation_id = self.current_id()
        if conversation_id is not None:
            from omnidesk.tui.screens.conversation import show_conversation

            show_conversation(self.app, conversation_id)

    def go_back(self, arg: str | None = None) -> None:
        self.app.pop_screen()

    def merge_customer(self, arg: str | None = None) -> None:
        """Merge another customer into this one (identities and conversations move here)."""
        if arg is not None:
            self._merge(arg)
            return
        self._load_candidates()

    @work(group="candidates", exclusive=True, exit_on_error=False)
    async def _load_candidates(self) -> None:
        customers = list(await reads.find_customers(self.desk, "", limit=500))
        self.post_message(CandidatesLoaded(customers))

    def on_candidates_loaded(self, message: CandidatesLoaded) -> None:
        choices = [Choice(str(d.other_id), f"{d.other_id} {inert_line(d.other_name).plain}",
                          f"maybe the same person: {d.reason}") for d in self.duplicates]
        suggested = {d.other_id for d in self.duplicates}
        for other in message.customers:
            if other.id == self.customer_id or other.id in suggested:
                continue
            addresses = ", ".join(i.address for i in other.identities[:3])
            choices.append(
                Choice(
                    str(other.id), f"{other.id} {inert_line(other.name).plain}", inert_line(addresses).plain
                )
            )
        self.app.push_screen(
            PickerScreen("Merge which customer into this one?", choices, free_text=True),
            lambda value: value and self._merge(value),
        )

    def _merge(self, value: str) -> None:
        source = id_value(value.strip().split(" ", 1)[0])
        if source is None:
            self.notify(f"not a customer id: {shown(value)}", severity="error", markup=False)
            return
        desk = self.desk
        self.desk_app.perform(lambda: services.merge_customers(desk, source, self.customer_id))
