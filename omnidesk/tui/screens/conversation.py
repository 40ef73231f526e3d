"""One conversation: the timeline of every channel, presence banner, and the composer in place."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Label

from omnidesk.conversations import reads
from omnidesk.conversations.eventtext import channel_names
from omnidesk.model import Conversation
from omnidesk.services import services
from omnidesk.tui import actions
from omnidesk.tui.messages import StoreChanged
from omnidesk.tui.routes import _downloads, copy_choices
from omnidesk.tui.screens.base import DeskScreen
from omnidesk.tui.screens.composing import Composing
from omnidesk.tui.screens.kbsuggest import KbSuggesting
from omnidesk.tui.screens.macro_picking import MacroPicking
from omnidesk.tui.textfmt import inert_line
from omnidesk.tui.widgets.kbpane import KbPane
from omnidesk.tui.widgets.keybar import KeyBar
from omnidesk.tui.widgets.picker import PickerScreen
from omnidesk.tui.widgets.statusbar import StatusBar
from omnidesk.tui.widgets.timeline import TimelineItem, presence_text, timeline_entries

#: Seconds between presence heartbeats while a conversation is open.
HEARTBEAT_SECONDS = 10.0
#: Timeline items mounted when a conversation opens, and how many more each k at the top adds.
WINDOW = 15
WINDOW_STEP = 60


# Each message names its conversation: the screen is reused, and a read started for the
# previous conversation may finish after the swap.


class ConversationLoaded(Message):
    def __init__(self, conversation_id: int, conversation: Conversation | None, error: str = "") -> None:
        super().__init__()
        self.conversation_id = conversation_id
        self.conversation = conversation
        self.error = error


class PresenceLoaded(Message):
    def __init__(self, conversation_id: int, rows: list[Any]) -> None:
        super().__init__()
        self.conversation_id = conversation_id
        self.rows = rows


class ConversationScreen(KbSuggesting, Composing, MacroPicking, DeskScreen):
    context = "conversation"
    BINDINGS = actions.bindings("conversation")
    AUTO_FOCUS = "#timeline"

    def __init__(
        self,
        conversation_id: int | None = None,
        *,
        inbox: Any = None,
        compose: str | None = None,
        conversation: Conversation | None = None,
    ) -> None:
        """`conversation`, when already read (see `show_conversation`), is composed straight in.

        Without a conversation id the screen is built empty, to be reused by `show`.
        """
        super().__init__(classes="conversation-screen")
        self._start(conversation_id, conversation, inbox, compose)
        self.hidden_count = 0
        self._joined: int | None = None  # the conversation our presence row is for
        self._heartbeat: Any = None

    def _start(
        self, conversation_id: int | None, conversation: Conversation | None, inbox: Any, compose: str | None
    ) -> None:
        """The per-conversation state, as a fresh open starts it."""
        self.conversation_id = conversation_id
        self.inbox = inbox
        self.pending_compose = compose
        self.pending_macro: tuple[Any, ...] | None = None  # (name, text, actions) for the next composer
        self.conversation = conversation
        self.selected = -1
        self.activity = "viewing"
        self.reply_countdown: tuple[int, float] | None = None  # (message id, deadline monotonic)
        self.window = WINDOW

    def compose(self) -> ComposeResult:
        conversation = self.conversation
        entries = self._window(conversation) if conversation is not None else []
        yield Label(self._header_text() if conversation else "", id="conversation-header")
        yield Label("", id="presence", classes="hidden")
        yield Label(self._earlier_text(), id="earlier", classes="" if self.hidden_count else "hidden")
        with Horizontal(id="conversation-body"):
            with VerticalScroll(id="timeline"):
                if conversation is not None:
                    channels = channel_names(conversation.messages)
                    yield from self._build_items(conversation, entries, set(), channels)
            yield KbPane()
        yield Label("", id="countdown", classes="hidden")
        yield StatusBar()
        yield KeyBar()

    def on_mount(self) -> None:
        self._heartbeat = self.set_interval(HEARTBEAT_SECONDS, self.beat)
        self.set_interval(1.0, self._tick_countdown)
        self.kb_setup()
        if self.conversation_id is None:  # built ahead, empty: `show` fills it
            self._heartbeat.pause()
        elif self.conversation is None:
            self.load()
        else:
            self._first_shown()
            self.suggest_articles()

    def on_screen_suspend(self) -> None:
        """Popped (not merely covered by a dialog): the agent left this conversation."""
        if self in self.app.screen_stack:
            return
        self._leave()
        composer = self.open_composer()
        if composer is not None:
            composer.remove()  # its unmount writes any unsaved draft
        self.activity = "viewing"
        self.reply_countdown = None

    def on_unmount(self) -> None:
        self._leave()

    def _leave(self) -> None:
        """Drop our presence row (others' banners) and stop the heartbeat until the next `show`."""
        if self._heartbeat is not None:
            self._heartbeat.pause()
        joined, self._joined = self._joined, None
        desk = self.desk
        if joined is None or desk.agent is None:
            return
        from omnidesk.store import presence

        self.workers.cancel_group(self, "presence")  # a beat still in flight would come back
        self.app.run_worker(
            presence.leave(
                desk.db, agent_id=desk.agent.id, conversation_id=joined, runner=presence.runner_id()
            ),
            exit_on_error=False,
        )

    async def show(
        self,
        conversation_id: int,
        conversation: Conversation | None,
        *,
        inbox: Any = None,
        compose: str | None = None,
    ) -> None:
        """Swap this (mounted) screen to another conversation: content changes, widgets stay.

        Composing a screen, matching its CSS and laying it out twice cost more than the
        timeline itself; reusing one screen pays that once per session.
        """
        # One frame for the whole swap; and none between the composer's removal and the
        # layout that forgets it (a frame there renders the removed TextArea).
        with self.app.batch_update():
            if self._joined is not None and self._joined != conversation_id:
                self._leave()
            composer = self.open_composer()
            if composer is not None:
                await composer.remove()
            self._start(conversation_id, None, inbox, compose)
            self.kb_setup()
            self.kb_reset()
            self._tick_countdown()
            self.query_one("#presence", Label).add_class("hidden")
            self._heartbeat.resume()
            self.query_one("#timeline", VerticalScroll).focus()
            if conversation is None:
                self.load()
            else:
                await self.on_conversation_loaded(ConversationLoaded(conversation_id, conversation))

    async def rehearse(self, conversation_id: int) -> None:
        """While hidden and unused, render one conversation's timeline: no read mark, no presence.

        The first real open then finds item widgets mounted and their code warm, as every
        later open does, instead of paying for both while the agent waits.
        """
        try:
            conversation = await reads.get_conversation(self.desk, conversation_id)
        except Exception:
            return
        if self.conversation_id is None:  # not opened for real meanwhile
            await self._render_timeline(conversation)

    # -- loading --------------------------------------------------------------------------

    @work(group="load", exclusive=True, exit_on_error=False)
    async def load(self) -> None:
        conversation_id = self.conversation_id
        assert conversation_id is not None
        try:
            conversation = await reads.get_conversation(self.desk, conversation_id)
        except Exception as exc:
            self.post_message(ConversationLoaded(conversation_id, None, str(exc)))
            return
        self.post_message(ConversationLoaded(conversation_id, conversation))

    @work(group="read", exit_on_error=False)
    async def mark_read(self) -> None:
        if self.desk.agent is not None:
            try:
                await services.mark_read(self.desk, self.conversation_id)
            except Exception:
                return

    async def on_conversation_loaded(self, message: ConversationLoaded) -> None:
        if message.conversation_id != self.conversation_id:
            return
        if message.conversation is None:
            self.query_one("#conversation-header", Label).update(Text(message.error, style="bold red"))
            return
        conversation = message.conversation
        first = self.conversation is None
        self.conversation = conversation
        # One repaint for header, timeline, selection and key bar, not one per change.
        with self.app.batch_update():
            self.query_one("#conversation-header", Label).update(self._header_text())
            await self._render_timeline(conversation)
            self.refresh_bindings()
            if first:
                self._first_shown()
        self.suggest_articles()

    def _first_shown(self) -> None:
        """The conversation is on screen for the first time: select the newest message, mark it read."""
        indexes = self._message_indexes()
        self.selected = indexes[-1] if indexes else -1
        self._highlight()
        self.query_one("#timeline", VerticalScroll).scroll_end(animate=False)
        # The writes wait until the timeline is shown: they share the store's one connection.
        # The read mark goes first: a reply sent from a composer opened with the conversation
        # must not find the agent "not having read" what is on screen (a false collision).
        self.mark_read()
        if self.pending_compose:
            mode, self.pending_compose = self.pending_compose, None
            self.start_compose(mode)
        self.beat()

    def _header_text(self) -> Text:
        c = self.conversation
        assert c is not None
        s = c.summary
        head = Text()
        head.append(f" #{s.id} ", style="bold reverse")
        head.append(" ")
        head.append_text(inert_line(s.subject or s.preview or "(no subject)", style="bold"))
        head.append("\n")
        head.append_text(inert_line(c.customer.name or s.customer_address))
        head.append(f"  {s.status}", style="bold")
        if s.status == "snoozed" and s.snoozed_until:
            from omnidesk.tui.textfmt import clock, zone

            head.append(f" until {clock(s.snoozed_until, zone(self.desk.settings.desk.timezone))}")
        head.append(f" · {s.priority} · {s.assignee or 'unassigned'}")
        if s.team:
            head.append(f" · team {s.team}")
        if s.tags:
            head.append("  " + " ".join(f"+{t}" for t in s.tags), style="dim")
        if c.merged_into:
            head.append(f"  merged into #{c.merged_into}", style="bold yellow")
        if c.linked_to:
            head.append(f"  continues #{c.linked_to}", style="dim")
        return head

    def _items(self) -> list[Any]:
        return list(self.query_one("#timeline", VerticalScroll).children)

    async def _show_more(self) -> None:
        """Mount `WINDOW_STEP` more of the earlier items and keep the selection where it was."""
        if self.conversation is None:
            return
        before = len(self._items())
        self.window += WINDOW_STEP
        await self._render_timeline(self.conversation)
        added = len(self._items()) - before
        self.selected = max(0, self.selected + added - 1)
        self._highlight()
        self._items()[self.selected].scroll_visible(animate=False)

    def _window(self, conversation: Conversation) -> list[tuple[int, int, Any]]:
        """The latest `window` timeline entries; the rest are counted in `hidden_count`.

        Only these are mounted: a 2,000-message thread opens as fast as a short one, and
        k at the top mounts more.
        """
        entries = timeline_entries(conversation)
        self.hidden_count = max(0, len(entries) - self.window)
        return entries[self.hidden_count :]

    def _earlier_text(self) -> Text:
        return Text(f"▲ {self.hidden_count} earlier items — k at the top shows more", style="dim")

    def _build_items(
        self,
        conversation: Conversation,
        entries: list[tuple[int, int, Any]],
        expanded: set[int],
        channels: Mapping[int, str],
    ) -> list[Any]:
        agent_tz = self.desk.settings.desk.timezone
        customer_tz = conversation.customer.timezone
        ascii_glyphs = self.desk.settings.tui.ascii_glyphs
        return [
            TimelineItem(
                item,
                agent_tz=agent_tz,
                customer_tz=customer_tz,
                channels=channels,
                ascii_glyphs=ascii_glyphs,
                expanded=order == 0 and item.id in expanded,
            )
            for _, order, item in entries
        ]

    async def _replace_items(
        self,
        timeline: VerticalScroll,
        conversation: Conversation,
        entries: list[tuple[int, int, Any]],
        expanded: set[int],
    ) -> None:
        """Show `entries`, giving the mounted item widgets new content, mounting only extra ones.

        Mounting a widget (compose, CSS matching) costs several times more than giving
        an existing one new content; opening another conversation mostly swaps content.
        """
        existing = self._items()
        customer_tz = conversation.customer.timezone
        channels = channel_names(conversation.messages)
        for widget, (_, order, item) in zip(existing, entries, strict=False):
            widget.show(
                item, customer_tz=customer_tz, channels=channels, expanded=order == 0 and item.id in expanded
            )
        keep = min(len(existing), len(entries))
        if existing[keep:]:
            await timeline.remove_children(existing[keep:])
        if entries[keep:]:
            await timeline.mount_all(self._build_items(conversation, entries[keep:], expanded, channels))

    async def _render_timeline(self, conversation: Conversation) -> None:
        timeline = self.query_one("#timeline", VerticalScroll)
        entries = self._window(conversation)
        earlier = self.query_one("#earlier", Label)
        earlier.update(self._earlier_text())
        earlier.set_class(self.hidden_count == 0, "hidden")
        keys = [("m", item.id) if order == 0 else ("e", item.id) for _, order, item in entries]
        existing = self._items()
        if keys == [w.key for w in existing]:  # same items: refresh in place (delivery state, ...)
            for widget, (_, order, item) in zip(existing, entries, strict=True):
                if order == 0 and widget.message != item:
                    widget.set_message(item)
            return
        expanded = {w.message.id for w in existing if w.message is not None and w.expanded}
        at_end = timeline.scroll_y >= timeline.max_scroll_y - 1
        await self._replace_items(timeline, conversation, entries, expanded)
        self.selected = min(self.selected, len(entries) - 1)
        self._highlight()
        if at_end:
            timeline.scroll_end(animate=False)

    def on_store_changed(self, message: StoreChanged) -> None:
        if self.conversation_id is None:
            return
        self.load()
        self.load_presence()

    # -- selection ---------------------------------------------------------------------------

    def _message_indexes(self) -> list[int]:
        return [i for i, w in enumerate(self._items()) if w.message is not None]

    def _highlight(self) -> None:
        for index, widget in enumerate(self._items()):
            widget.set_class(index == self.selected, "selected")

    def selected_message(self) -> Any:
        items = self._items()
        return items[self.selected].message if 0 <= self.selected < len(items) else None

    def _move(self, delta: int) -> None:
        indexes = self._message_indexes()
        if not indexes:
            return
        if delta > 0:
            following = [i for i in indexes if i > self.selected]
            self.selected = following[0] if following else indexes[-1]
        else:
            previous = [i for i in indexes if i < self.selected]
            if not previous and self.hidden_count:
                self.call_later(self._show_more)
                return
            self.selected = previous[-1] if previous else indexes[0]
        self._highlight()
        self._items()[self.selected].scroll_visible(animate=False)

    def cursor_down(self, arg: str | None = None) -> None:
        self._move(1)

    def cursor_up(self, arg: str | None = None) -> None:
        self._move(-1)

    def toggle_quote(self, arg: str | None = None) -> None:
        items = self._items()
        if 0 <= self.selected < len(items) and items[self.selected].message is not None:
            items[self.selected].toggle()

    # -- targets ------------------------------------------------------------------------------

    def targets(self) -> tuple[int, ...]:
        return (self.conversation_id,) if self.conversation_id is not None else ()

    def current_summary(self) -> Any:
        return self.conversation.summary if self.conversation else None

    def current_customer_id(self) -> int | None:
        return self.conversation.customer.id if self.conversation else None

    def after_resolve(self, ids: tuple[int, ...]) -> None:
        """Done with this one: open the next conversation of the list (or go back)."""
        self._go(1, fallback_back=True)

    def _go(self, delta: int, *, fallback_back: bool = False) -> None:
        following = self.inbox.neighbour(self.conversation_id, delta) if self.inbox is not None else None
        if following is None:
            if fallback_back:
                self.go_back()
            else:
                self.notify("no more conversations in this list")
            return
        show_conversation(self.app, following, inbox=self.inbox, switch=True)

    def next_conversation(self, arg: str | None = None) -> None:
        self._go(1)

    def prev_conversation(self, arg: str | None = None) -> None:
        self._go(-1)

    def go_back(self, arg: str | None = None) -> None:
        self.app.pop_screen()

    # -- delivery, attachments, copy -------------------------------------------------------------

    def retry(self, arg: str | None = None) -> None:
        msg = self.selected_message()
        if msg is None:
            return
        desk = self.desk
        self.desk_app.perform(lambda: services.retry_reply(desk, msg.id), undoable=False)

    def save_attachments(self, arg: str | None = None) -> None:
        msg = self.selected_message()
        if msg is None or not msg.attachments:
            return
        self._save_attachments(msg, Path(arg).expanduser() if arg else _downloads())

    @work(group="attachments", exit_on_error=False)
    async def _save_attachments(self, msg: Any, directory: Path) -> None:
        # Lazy files are fetched from their channel first; the worker keeps the console responsive.
        from omnidesk.conversations.lazy_attachments import save

        report = await save(self.desk, msg.channel_name, msg.attachments, directory)
        self.notify(report.message(), severity=report.severity, markup=False)

    def open_attachment(self, arg: str | None = None) -> None:
        msg = self.selected_message()
        if msg is None or not msg.attachments:
            return
        self._open_attachment(msg.channel_name, msg.attachments[0], self.desk.settings.tui.opener)

    @work(group="attachments", exit_on_error=False)
    async def _open_attachment(self, channel_name: str | None, attachment: Any, opener: str) -> None:
        from omnidesk.conversations.attachment_files import open_with, viewer_copy
        from omnidesk.conversations.lazy_attachments import fetched
        from omnidesk.errors import UserError

        try:
            attachment = await fetched(self.desk, channel_name, attachment)
            path = await asyncio.to_thread(viewer_copy, self.desk.blob_dir, attachment)
            open_with(opener, path)
        except (OSError, UserError) as exc:
            self.notify(f"Cannot open: {exc}", severity="error", markup=False)
            return
        self.notify(f"Opened {path.name}", markup=False)

    def copy_pick(self, arg: str | None = None) -> None:
        if self.conversation is None:
            return
        choices = copy_choices(self.conversation)
        if arg:
            self._copy(arg)
            return
        self.app.push_screen(PickerScreen("Copy (OSC 52)", choices), lambda v: v and self._copy(v))

    def _copy(self, value: str) -> None:
        self.app.copy_to_clipboard(value)
        self.notify(f"Copied {value}", markup=False)

    # -- presence -------------------------------------------------------------------------------

    def beat(self) -> None:
        if self.conversation_id is None:
            return
        self._joined = self.conversation_id
        self._beat(self.conversation_id, self.activity)

    @work(group="presence", exclusive=True, exit_on_error=False)
    async def _beat(self, conversation_id: int, activity: str) -> None:
        desk = self.desk
        if desk.agent is None:
            return
        from omnidesk.store import presence

        runner = presence.runner_id()
        await presence.heartbeat(
            desk.db, agent_id=desk.agent.id, conversation_id=conversation_id, activity=activity, runner=runner
        )
        rows = await presence.others(desk.db, conversation_id=conversation_id, runner=runner)
        self.post_message(PresenceLoaded(conversation_id, rows))

    @work(group="presence-read", exclusive=True, exit_on_error=False)
    async def load_presence(self) -> None:
        from omnidesk.store import presence

        conversation_id = self.conversation_id
        if conversation_id is None:
            return
        runner = presence.runner_id()
        rows = await presence.others(self.desk.db, conversation_id=conversation_id, runner=runner)
        self.post_message(PresenceLoaded(conversation_id, rows))

    def on_presence_loaded(self, message: PresenceLoaded) -> None:
        if message.conversation_id != self.conversation_id:
            return
        banner = self.query_one("#presence", Label)
        if not message.rows:
            banner.add_class("hidden")
            return
        text = presence_text(message.rows)
        banner.update(text)
        banner.set_class(any(r.activity == "replying" for r in message.rows), "replying")
        banner.remove_class("hidden")


def show_conversation(
    app: Any, conversation_id: int, *, inbox: Any = None, compose: str | None = None, switch: bool = False
) -> None:
    """Read the conversation off the UI thread, then show a screen composed with it.

    Built with its data, the screen is laid out and painted once; pushed empty and
    filled after, it would be laid out again for every step. A second open before
    the first is shown replaces it.
    """

    async def read_then_show() -> None:
        try:
            conversation = await reads.get_conversation(app.desk, conversation_id)
        except Exception:  # the screen loads again and shows the error itself
            conversation = None
        current = app.screen
        if switch and isinstance(current, ConversationScreen):
            await current.show(conversation_id, conversation, inbox=inbox, compose=compose)
            return
        reused = getattr(app, "conversation_screen", None)
        if reused is not None and reused.is_mounted and reused not in app.screen_stack:
            await reused.show(conversation_id, conversation, inbox=inbox, compose=compose)
            await app.push_screen(reused)
            return
        # Not built yet, or already open lower in the stack (conversation -> customer -> conversation).
        screen = ConversationScreen(conversation_id, inbox=inbox, compose=compose, conversation=conversation)
        if switch:
            await app.switch_screen(screen)
        else:
            await app.push_screen(screen)

    app.run_worker(read_then_show(), group="open-conversation", exclusive=True, exit_on_error=False)

