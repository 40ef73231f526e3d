"""Composing in the conversation screen: reply, reply-all and note, routes, sending, the undo countdown.

A mixin of `ConversationScreen` (omnidesk/tui/screens/conversation.py), which
owns the state used here: `desk`, `conversation`, `conversation_id`,
`activity`, `reply_countdown`, `beat()`. Handlers are named `on_...` rather
than declared with `@on`: Textual collects `@on` handlers only from classes
that are message pumps themselves.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import work
from textual.message import Message
from textual.widgets import Label

from omnidesk.conversations import reads
from omnidesk.errors import ChannelRefusal, ReplyCollision
from omnidesk.registry import capabilities
from omnidesk.services import services
from omnidesk.tui.routes import with_reply_all_cc
from omnidesk.tui.widgets.composer import Composer, Route
from omnidesk.tui.widgets.picker import ConfirmScreen


class RoutesLoaded(Message):
    def __init__(self, conversation_id: int, routes: list[Route], mode: str, quote: str = "",
                 language: str | None = None) -> None:
        super().__init__()
        self.conversation_id = conversation_id
        self.routes = routes
        self.mode = mode
        self.quote = quote
        self.language = language


class ReplyCollided(Message):
    """The reply was not sent: another agent replied since this agent last read the conversation."""

    def __init__(self, error: str, request: Composer.SendRequested) -> None:
        super().__init__()
        self.error = error
        self.request = request


class TemplatesOffered(Message):
    """The channel refused a free-form reply; it has approved templates to send instead."""

    def __init__(self, reason: str, templates: tuple[str, ...]) -> None:
        super().__init__()
        self.reason = reason
        self.templates = templates


class Composing:
    """Reply, reply-all and note for the open conversation (see the module docstring)."""

    def open_composer(self) -> Composer | None:
        found = self.query(Composer)
        return found.first() if found else None

    def reply(self, arg: str | None = None) -> None:
        self.start_compose("reply")

    def reply_all(self, arg: str | None = None) -> None:
        self.start_compose("reply-all")

    def note(self, arg: str | None = None) -> None:
        self.start_compose("note")

    def start_compose(self, mode: str) -> None:
        if self.open_composer() is not None:
            self.open_composer().query_one("TextArea").focus()
            return
        if mode == "note":
            self._mount_composer([], mode)
        else:
            self.load_routes(mode)

    @work(group="routes", exit_on_error=False)
    async def load_routes(self, mode: str) -> None:
        conversation = self.conversation or await reads.get_conversation(self.desk, self.conversation_id)
        channels = list(await reads.list_channels(self.desk))
        offered = await services.reply_routes(self.desk, conversation.summary.id)
        # What a reply on each channel answers: its latest inbound message there (meta: visibility, chat).
        answered = {m.channel_name: m.meta for m in conversation.messages
                    if m.direction == "in" and m.channel_name}
        routes = [Route(r.channel, r.kind, r.to, r.address_kind, context=answered.get(r.channel) or {},
                        templates=services.reply_templates(self.desk, r.channel))
                  for r in offered]
        if mode == "reply-all":
            routes = with_reply_all_cc(routes, conversation, channels)
        # What queue_reply appends under a reply on a channel with subjects (mail); the
        # composer shows it on such routes only (omnidesk/services/replies.py reply_quote).
        parent = next((m for m in reversed(conversation.messages) if m.direction == "in"
                       and m.channel_kind and capabilities(m.channel_kind).subject), None)
        fields = ("display_text", "text", "author_name", "author_address", "sent_at", "sent_tz_offset")
        quote = ""
        if parent is not None and parent.channel_kind:
            facts = {f: getattr(parent, f) for f in fields}
            quote = services.reply_quote(self.desk, parent.channel_kind, facts) or ""
        self.post_message(RoutesLoaded(conversation.summary.id, routes, mode, quote,
                                       conversation.customer.language))

    def on_routes_loaded(self, message: RoutesLoaded) -> None:
        if message.conversation_id == self.conversation_id and self.open_composer() is None:
            self._mount_composer(message.routes, message.mode, message.quote, message.language)

    def _mount_composer(
        self, routes: list[Route], mode: str, quote: str = "", language: str | None = None
    ) -> None:
        assert self.conversation_id is not None
        composer = Composer(self.conversation_id, mode=mode, routes=routes, quote=quote, language=language)
        self.mount(composer, before=self.query_one("#countdown"))
        pending, self.pending_macro = self.pending_macro, None  # a macro picked before the composer opened
        if pending is not None and mode != "note":
            self.call_after_refresh(composer.insert_macro, *pending)
        self.activity = "replying" if mode != "note" else "viewing"
        self.beat()
        self.refresh_bindings()

    async def on_composer_closed(self, message: Composer.Closed) -> None:
        composer = self.open_composer()
        if composer is not None:
            with self.app.batch_update():  # see `show`
                await composer.remove()
        self.activity = "viewing"
        self.beat()
        self.refresh_bindings()

    def on_composer_send_requested(self, message: Composer.SendRequested) -> None:
        self._send(message)

    def on_templates_offered(self, message: TemplatesOffered) -> None:
        composer = self.open_composer()
        if composer is not None:
            composer.offer_templates(message.reason, message.templates)

    def on_reply_collided(self, message: ReplyCollided) -> None:
        """Ask before sending over another agent's reply; no keeps the composer and its text."""

        def answered(yes: bool | None) -> None:
            if yes:
                self._send(message.request, force=True)

        self.app.push_screen(ConfirmScreen(f"{message.error}. Send anyway?"), answered)

    def _send(self, message: Composer.SendRequested, *, force: bool = False) -> None:
        desk = self.desk
        conversation_id = self.conversation_id
        text = message.text
        if message.mode == "note":
            make = lambda: services.add_note(desk, conversation_id, text)  # noqa: E731
        else:
            route = message.route
            assert route is not None
            # The fields are what is sent: reply-all filled Cc, the agent may have edited it.
            to, cc, bcc = message.to or route.to, message.cc, message.bcc

            async def make() -> Any:
                from omnidesk.services import macro_replies

                try:
                    # The agent's reply choices and template, as the composer took them.
                    chosen = {"choices": message.choices, "template": message.template,
                              "template_variables": message.template_variables}
                    result = await macro_replies.send(
                        desk, conversation_id, text, message.actions, macro=message.macro,
                        channel=route.channel, to=to, cc=cc, bcc=bcc, force=force, **chosen,
                    ) if message.actions else await services.queue_reply(
                        desk, conversation_id, text, channel=route.channel, to=to, cc=cc, bcc=bcc,
                        force=force, choices=message.choices, template=message.template,
                        template_variables=message.template_variables,
                    )
                except ReplyCollision as exc:
                    self.post_message(ReplyCollided(str(exc), message))
                    return None
                except ChannelRefusal as exc:
                    if not exc.templates:
                        raise
                    self.post_message(TemplatesOffered(str(exc), exc.templates))
                    return None
                if desk.agent is not None:
                    from omnidesk.store.drafts import delete_draft

                    await delete_draft(desk.db, conversation_id=conversation_id, agent_id=desk.agent.id)
                return result

        def sent(result: Any) -> None:
            if result is None:
                return  # not sent: the question is on screen
            composer = self.open_composer()
            if composer is not None:
                composer._loading_draft = True  # the draft is gone; do not resave on close
                composer.saved_body = composer.text
                self.call_later(self.on_composer_closed, Composer.Closed())
            if message.mode != "note" and getattr(result, "message_id", None):
                import time

                self.reply_countdown = (result.message_id, time.monotonic() + desk.settings.desk.undo_seconds)
                self._tick_countdown()

        self.desk_app.perform(make, on_result=sent)

    def _tick_countdown(self) -> None:
        import time

        label = self.query_one("#countdown", Label)
        if self.reply_countdown is None:
            label.add_class("hidden")
            return
        _message_id, deadline = self.reply_countdown
        left = deadline - time.monotonic()
        if left <= 0:
            self.reply_countdown = None
            label.add_class("hidden")
            return
        label.update(Text(f"Sending in {left:.0f} s — u cancels", style="bold"))
        label.remove_class("hidden")

    def undo_reply_window_closed(self) -> None:
        self.reply_countdown = None
        self._tick_countdown()
