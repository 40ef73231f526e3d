"""The customer panel: identities on every channel, language, local time, notes, all conversations."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from omnidesk.conversations import reads
from omnidesk.customers.duplicates import suggestions
from omnidesk.errors import shown
from omnidesk.limits import id_value
from omnidesk.services import services
from omnidesk.tui import actions
from omnidesk.tui.messages import StoreChanged
from omnidesk.tui.screens.base import DeskScreen
from omnidesk.tui.textfmt import clock, fit, glyph, inert, inert_line, relative, zone
from omnidesk.tui.widgets.keybar import KeyBar
from omnidesk.tui.widgets.picker import Choice, PickerScreen
from omnidesk.tui.widgets.statusbar import StatusBar


class CustomerLoaded(Message):
    def __init__(self, customer: Any, conversations: list[Any], error: str = "",
                 duplicates: list[Any] | None = None) -> None:
        super().__init__()
        self.customer = customer
        self.conversations = conversations
        self.error = error
        self.duplicates = duplicates or []


class CandidatesLoaded(Message):
    def __init__(self, customers: list[Any]) -> None:
        super().__init__()
        self.customers = customers


class CustomerScreen(DeskScreen):
    context = "customer"
    BINDINGS = actions.bindings("customer")
    AUTO_FOCUS = "#customer-conversations"

    def __init__(self, customer_id: int) -> None:
        super().__init__(classes="customer-screen")
        self.customer_id = customer_id
        self.customer: Any = None
        self.conversations: list[Any] = []
        self.duplicates: list[Any] = []  # likely duplicates, suggested, never merged here

    def compose(self) -> ComposeResult:
        yield Label("", id="customer-header")
        with Horizontal(id="customer-body"):
            with Vertical(id="customer-facts"):
                yield Static("", id="customer-info")
            with Vertical(id="customer-timeline"):
                yield Label("Conversations, newest first (enter opens)", classes="section")
                yield OptionList(id="customer-conversations")
        yield StatusBar()
        yield KeyBar()

    def on_mount(self) -> None:
        self.load()
        self.query_one(OptionList).focus()

    @work(group="customer", exclusive=True, exit_on_error=False)
    async def load(self) -> None:
        try:
            customer = await reads.get_customer(self.desk, self.customer_id)
            conversations = list(await reads.customer_conversations(self.desk, self.customer_id))
            duplicates = await suggestions(self.desk, self.customer_id)
        except Exception as exc:
            self.post_message(CustomerLoaded(None, [], str(exc)))
            return
        self.post_message(CustomerLoaded(customer, conversations, duplicates=duplicates))

    def on_customer_loaded(self, message: CustomerLoaded) -> None:
        if message.customer is None:
            self.query_one("#customer-header", Label).update(Text(message.error, style="bold red"))
            return
        self.customer = message.customer
        self.duplicates = message.duplicates
        self.conversations = sorted(message.conversations, key=lambda c: -c.last_activity_at)
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
        options = self.query_one(OptionList)
        highlighted = options.highlighted or 0
        options.clear_options()
        for summary in self.conversations:
            row = Text()
            row.append(f"{glyph(summary.channel_kind, self.desk.settings.tui.ascii_glyphs)} ")
            row.append_text(fit(f"#{summary.id}", 8))
            row.append_text(fit(inert_line(summary.subject or summary.preview), 40))
            row.append(f" {summary.status:<9}")
            row.append_text(fit(Text(relative(summary.last_activity_at, now), style="dim"), 5, align="right"))
            options.add_option(Option(row))
        if self.conversations:
            options.highlighted = min(highlighted, len(self.conversations) - 1)

    def on_store_changed(self, message: StoreChanged) -> None:
        self.load()

    # -- actions -------------------------------------------------------------------------

    def current_id(self) -> int | None:
        index = self.query_one(OptionList).highlighted
        if index is None or not self.conversations:
            return None
        return self.conversations[index].id

    def targets(self) -> tuple[int, ...]:
        current = self.current_id()
        return (current,) if current is not None else ()

    def current_summary(self) -> Any:
        return self.conversations[self.query_one(OptionList).highlighted or 0] if self.conversations else None

    def cursor_down(self, arg: str | None = None) -> None:
        self.query_one(OptionList).action_cursor_down()

    def cursor_up(self, arg: str | None = None) -> None:
        self.query_one(OptionList).action_cursor_up()

    @on(OptionList.OptionSelected, "#customer-conversations")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.open_selected()

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
