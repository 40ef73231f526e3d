"""The composer: opens in place under the timeline, `via <channel> to <address>`.

The routes are `services.reply_routes` (ctrl+o cycles, ctrl+g picks from a list); what
each shows follows its channel's declared capabilities. Replies to addresses that take
copies (email) have To, Cc and Bcc fields (reply-all fills Cc with everyone on the
customer's last message), checked on send with a one-line error naming the field; on a
channel with subjects the quoted text that will follow the reply is shown read-only
under the editor; on one with a length limit, into how many messages the reply is cut;
where the channel gives a `reply_note` (Mastodon: visibility and characters left), that line instead,
as it is typed.
The from name and the signature the route's channel adds (omnidesk/outbound/signature.py)
are shown read-only too, as they will be sent. A macro (`M`) puts its text into the
editor and its actions on the composer; they are applied with the reply when it is sent.
ctrl+n chooses how the reply goes out: among the channel's declared `reply_choices`
(Mastodon's visibility, which the note then shows), or one of its approved templates (WhatsApp's),
which is also offered when the channel refuses a free-form reply (the 24-hour window).

Drafts are saved a moment after each pause in typing (omnidesk/store/drafts.py),
so quitting or a crash loses nothing; reopening the composer restores them.
The composer never talks to the store from a handler: saves and sends run in
workers, results come back as messages.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Label, Static, TextArea

from adapters.base import Capabilities
from omnidesk.customers.identity import can_copy
from omnidesk.errors import UserError
from omnidesk.macros.definition import Actions
from omnidesk.registry import capabilities, reply_choices, reply_note, reply_parts
from omnidesk.textsafe import one_line
from omnidesk.tui import actions
from omnidesk.tui.textfmt import inert
from omnidesk.tui.widgets.picker import Choice, PickerScreen

#: Seconds of typing pause after which the draft is written.
SAVE_DELAY = 0.4


@dataclass(frozen=True, slots=True)
class Route:
    """Where a reply would go: a channel and the customer's address on it."""

    channel: str
    kind: str
    to: str
    address_kind: str = ""  # the identity kind of `to`
    cc: tuple[str, ...] = ()  # for reply-all: who else gets a copy, as `Name <address>`
    # The stored meta of the message a reply on this route answers (visibility, chat): for reply_note.
    context: Mapping[str, Any] = dataclasses.field(default_factory=dict, compare=False, hash=False)
    templates: tuple[str, ...] = ()  # the channel's approved templates (services.reply_templates)

    @property
    def capabilities(self) -> Capabilities:
        return capabilities(self.kind)


class Composer(Vertical):
    context = "composer"
    BINDINGS = actions.bindings("composer")

    class DraftLoaded(Message):
        def __init__(self, body: str | None) -> None:
            super().__init__()
            self.body = body

    class Saved(Message):
        def __init__(self, ok: bool, error: str = "") -> None:
            super().__init__()
            self.ok = ok
            self.error = error

    class Closed(Message):
        pass

    class SendRequested(Message):
        def __init__(self, mode: str, text: str, route: Route | None, *, to: str | None = None,
                     cc: tuple[str, ...] = (), bcc: tuple[str, ...] = (),
                     actions: Actions = Actions(), macro: str = "",
                     choices: Mapping[str, str] | None = None, template: str = "",
                     template_variables: Mapping[str, str] | None = None) -> None:
            super().__init__()
            self.mode = mode
            self.text = text
            self.route = route
            self.to = to  # as typed in the To field (None: the route's)
            self.cc = cc
            self.bcc = bcc
            self.actions = actions  # a macro's, applied with the reply
            self.macro = macro  # its name
            self.choices = dict(choices or {})  # among the channel's reply_choices (visibility)
            self.template = template  # an approved template sent instead of the text
            self.template_variables = dict(template_variables or {})

    def __init__(self, conversation_id: int, *, mode: str, routes: list[Route], quote: str = "",
                 language: str | None = None, id: str = "composer") -> None:
        super().__init__(id=id)
        self.conversation_id = conversation_id
        self.mode = mode  # reply | reply-all | note
        self.routes = routes
        self.quote = quote  # what will be quoted under the reply ("" when nothing is)
        self.language = language  # the customer's: the signature's language follows it
        self.macro_name = ""
        self.macro_actions = Actions()
        self.route_index = 0
        self.chosen: dict[str, str] = {}  # the agent's reply_choices for this reply (visibility)
        self._save_timer: Any = None
        self._unsaved: str | None = None  # the text typed since the last draft write started
        self._loading_draft = True
        self.saved_body: str | None = None

    def compose(self) -> ComposeResult:
        yield Label("", id="composer-via")
        for field in ("to", "cc", "bcc"):
            with Horizontal(id=f"composer-{field}-row", classes="composer-field"):
                yield Label(f"{field.title():<4}", classes="composer-field-label")
                yield Input(id=f"composer-{field}", compact=True)
        yield TextArea("", id="composer-body", soft_wrap=True, tab_behavior="focus")
        yield Label("", id="composer-macro")
        yield Static("", id="composer-signature", markup=False)
        quote = Static(inert(self.quote), id="composer-quote", markup=False)
        quote.border_title = "quoted below your reply (read-only)"
        yield quote
        yield Label("", id="composer-parts")
        yield Label("", id="composer-note")
        yield Label("", id="composer-choices")
        yield Label("", id="composer-hint")

    def on_mount(self) -> None:
        self.query_one("#composer-macro").display = False
        self._fill_fields()
        self._render_via()
        self.query_one(TextArea).focus()
        if self.mode != "note":
            self.load_draft()
        else:
            self._loading_draft = False

    @property
    def route(self) -> Route | None:
        return self.routes[self.route_index] if self.routes else None

    @property
    def text(self) -> str:
        return self.query_one(TextArea).text

    def _fill_fields(self) -> None:
        """To from the route; Cc from reply-all; Cc and Bcc only to addresses that take copies (mail);
        the quote only on channels with subjects, which quote."""
        route = self.route
        email = route is not None and can_copy(route.address_kind)
        self.query_one("#composer-quote").display = (
            bool(self.quote) and self.mode != "note" and route is not None and route.capabilities.subject
        )
        self.query_one("#composer-to-row").display = self.mode != "note" and route is not None
        for field in ("cc", "bcc"):
            self.query_one(f"#composer-{field}-row").display = self.mode != "note" and email
        self._render_signature()
        if route is not None:
            self.query_one("#composer-to", Input).value = route.to
            cc = self.query_one("#composer-cc", Input)
            if not cc.value and email:
                cc.value = ", ".join(route.cc)

    def _render_signature(self) -> None:
        """The from name and the signature the route's channel adds, as they will be sent."""
        from omnidesk.services.replies import reply_sender

        route = self.route
        box = self.query_one("#composer-signature", Static)
        if self.mode == "note" or route is None:
            box.display = False
            return
        signer = reply_sender(self.app.desk, route.channel, route.kind, self.language)  # type: ignore[attr-defined]
        shown = Text("From: ", style="bold")
        shown.append_text(inert(signer.from_name))
        if signer.signature:
            shown.append("\n" + (signer.separator + "\n" if signer.separator else ""))
            shown.append_text(inert(signer.signature))
        if signer.signature_html:
            shown.append("\n(and the HTML signature in the HTML part)", style="italic")
        box.border_title = "sent as, signed below your reply (read-only)" if signer.signature else \
            "sent as (read-only)"
        box.update(shown)
        box.display = True

    def insert_macro(self, name: str, text: str, actions: Actions) -> None:
        """A macro's rendered text into the editor (replacing an empty one, else at the cursor), its
        actions kept for the send."""
        area = self.query_one(TextArea)
        if not area.text.strip():
            area.load_text(text.rstrip("\n"))
            area.move_cursor(area.document.end)
        else:
            area.insert(text.rstrip("\n"))
        self.macro_name, self.macro_actions = name, actions
        label = self.query_one("#composer-macro", Label)
        label.display = True
        what = ": " + ", ".join(actions.describe()) + " when sent" if actions else ""
        label.update(Text(f"macro {name}{what}", style="bold"))
        area.focus()
        self._schedule_save()

    def recipients(self) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
        """(To, Cc, Bcc) as typed, checked; UserError naming the field and the bad address."""
        from omnidesk.services.replies import copies

        route = self.route
        assert route is not None
        to = self.query_one("#composer-to", Input).value.strip()
        if not to:
            raise UserError("To: the reply needs a recipient")
        if not can_copy(route.address_kind):
            return to, (), ()
        (first, *others) = copies(route.address_kind, [to], "To", []) or [None]
        if first is None or others:
            raise UserError("To: one address (put the others in Cc)")
        cc_text = self.query_one("#composer-cc", Input).value
        bcc_text = self.query_one("#composer-bcc", Input).value
        cc = copies(route.address_kind, [cc_text], "Cc", [first.address])
        copies(route.address_kind, [bcc_text], "Bcc", [])  # checked here; the service drops repeats
        return first.address, (cc_text,) if cc else (), (bcc_text,) if bcc_text.strip() else ()

    def _render_via(self) -> None:
        via = Text()
        if self.mode == "note":
            via.append(" NOTE ", style="bold reverse yellow")
            via.append(" internal note on this conversation — the customer never sees it", style="italic")
        elif self.route is None:
            via.append("no channel can reach this customer", style="bold red")
        else:
            via.append("Reply all " if self.mode == "reply-all" else "Reply ", style="bold")
            via.append("via ")
            via.append(self.route.channel, style="bold")
            via.append(f" ({self.route.kind}) to ")
            via.append(one_line(self.route.to), style="bold")
            if len(self.routes) > 1:
                via.append("   ctrl+o switches channel · ctrl+g picks", style="dim")
        self.query_one("#composer-via", Label).update(via)
        self._render_parts()
        hint = Text("ctrl+j send · ctrl+e $EDITOR · ctrl+s save draft · esc close (draft kept)", style="dim")
        self.query_one("#composer-hint", Label).update(hint)

    def _render_parts(self) -> None:
        """The channel's own note on the reply (`reply_note`: visibility, characters or segments
        left, which knows the instance's or carrier's limits), else how many messages the reply goes
        out as where the route's channel splits long text."""
        route = self.route
        note = reply_note(route.kind, self.text, route.context, self.chosen) \
            if route is not None and self.mode != "note" else None
        shown = self.query_one("#composer-note", Label)
        shown.display = bool(note)
        shown.update(Text(one_line(note or ""), style="dim"))
        self._render_choices()
        parts = len(reply_parts(route.kind, self.text)) if route is not None and self.mode != "note" else 1
        limit = route.capabilities.max_length if route is not None else None
        label = self.query_one("#composer-parts", Label)
        label.display = parts > 1 and not note
        label.update(Text(f"sent as {parts} messages (at most {limit:,} characters each on {route.channel})"
                          if parts > 1 and route is not None and limit else f"sent as {parts} messages",
                          style="yellow"))

    def _offered(self) -> tuple[dict[str, tuple[str, ...]], tuple[str, ...]]:
        """What ctrl+n offers on this route: the channel's declared reply choices, its templates."""
        route = self.route
        if route is None or self.mode == "note":
            return {}, ()
        return dict(reply_choices(route.kind)), route.templates

    def _render_choices(self) -> None:
        """`visibility: public (your choice) · ctrl+n changes`, or what ctrl+n would choose."""
        choices, templates = self._offered()
        label = self.query_one("#composer-choices", Label)
        label.display = bool(choices or templates)
        offers = [*choices, *(["an approved template"] if templates else [])]
        text = Text()
        if self.chosen:
            text.append(", ".join(f"{k}: {v}" for k, v in self.chosen.items()), style="bold")
            text.append(" (your choice) · ")
        text.append(f"ctrl+n chooses {' or '.join(offers)}", style="dim")
        label.update(text)

    # -- registry dispatch --------------------------------------------------------------

    async def action_run(self, action_id: str) -> None:
        await self.app.dispatch(action_id, None, self.screen)  # type: ignore[attr-defined]

    # -- drafts ------------------------------------------------------------------------------

    @work(group="draft-load", exit_on_error=False)
    async def load_draft(self) -> None:
        desk = self.app.desk  # type: ignore[attr-defined]
        body = None
        if desk.agent is not None:
            from omnidesk.store.drafts import get_draft

            draft = await get_draft(desk.db, conversation_id=self.conversation_id, agent_id=desk.agent.id)
            body = draft.body if draft is not None else None
        self.post_message(self.DraftLoaded(body))

    def on_composer_draft_loaded(self, message: DraftLoaded) -> None:
        self._loading_draft = False
        if message.body and not self.text:
            area = self.query_one(TextArea)
            area.load_text(message.body)
            area.move_cursor(area.document.end)
            self.saved_body = message.body
        elif self.text:
            # Typed while the stored draft was still loading: those keys set no save timer.
            self._schedule_save()

    @on(TextArea.Changed, "#composer-body")
    def _typed(self, event: TextArea.Changed) -> None:
        self._render_parts()
        if self.mode == "note" or self._loading_draft or self.text == self.saved_body:
            return
        self._schedule_save()

    def _schedule_save(self) -> None:
        if self._save_timer is not None:
            self._save_timer.stop()
        self._unsaved = self.text
        self._save_timer = self.set_timer(SAVE_DELAY, self.save_draft)

    async def on_unmount(self) -> None:
        # Quitting within SAVE_DELAY of the last key cancels the timer with this widget:
        # write those keys now, awaited, so shutdown waits for them. (The text area is
        # already gone by now, hence the copy taken when the save was scheduled.)
        body, self._unsaved = self._unsaved, None
        if body is not None and not self._loading_draft and self.mode != "note":
            await self._save_coro(body)

    def save_draft(self, arg: str | None = None) -> None:
        if self.mode == "note":
            return
        self._write_draft(self.text)

    def _write_draft(self, body: str) -> None:
        self._unsaved = None
        # On the app, not this widget: closing the composer must not cancel the save.
        self.app.run_worker(self._save_coro(body), group="draft-save", exit_on_error=False)

    async def _save_coro(self, body: str) -> None:
        desk = self.app.desk  # type: ignore[attr-defined]
        if desk.agent is None:
            self.post_message(self.Saved(False, "no acting agent: drafts need one"))
            return
        from omnidesk.store.drafts import save_draft

        try:
            await save_draft(
                desk.db,
                conversation_id=self.conversation_id,
                agent_id=desk.agent.id,
                body=body,
                to_address=self.route.to if self.route else None,
            )
        except Exception as exc:
            self.post_message(self.Saved(False, str(exc)))
            return
        self.post_message(self.Saved(True))
        self.saved_body = body

    def on_composer_saved(self, message: Saved) -> None:
        label = self.query_one("#composer-hint", Label)
        if message.ok:
            label.update(Text("draft saved · ctrl+j send · ctrl+e $EDITOR · esc close", style="dim"))
        else:
            label.update(Text(f"draft not saved: {message.error}", style="bold red"))

    # -- actions ------------------------------------------------------------------------------

    def send(self, arg: str | None = None) -> None:
        if not self.text.strip():
            self.notify("nothing to send", severity="warning")
            return
        self._request(self.text)

    def _request(self, text: str, template: str = "", variables: Mapping[str, str] | None = None) -> None:
        """Ask the screen to send `text` (or `template` with `variables`) to the fields' recipients."""
        if self.mode != "note" and self.route is None:
            self.notify("no channel can reach this customer", severity="error")
            return
        to: str | None = None
        cc: tuple[str, ...] = ()
        bcc: tuple[str, ...] = ()
        if self.mode != "note":
            try:
                to, cc, bcc = self.recipients()
            except UserError as exc:
                self.query_one("#composer-hint", Label).update(Text(one_line(str(exc)), style="bold red"))
                return
        if self._save_timer is not None:
            # A save firing after the reply has deleted the draft would bring the sent text back.
            # If the send fails, the text is still written when the composer closes.
            self._save_timer.stop()
        self.post_message(self.SendRequested(self.mode, text, self.route, to=to, cc=cc, bcc=bcc,
                                             actions=self.macro_actions, macro=self.macro_name,
                                             choices=self.chosen, template=template,
                                             template_variables=variables))

    def pick_options(self, arg: str | None = None) -> None:
        """How the reply goes out: a value of each of the channel's reply choices, or a template."""
        choices, templates = self._offered()
        if not choices and not templates:
            self.notify("this channel offers no choices for a reply", severity="warning")
            return
        items = []
        for key, values in choices.items():
            items.append(Choice(f"choice:{key}=", f"{key}: the channel's default",
                                "" if key in self.chosen else "now"))
            items.extend(Choice(f"choice:{key}={v}", f"{key}: {v}",
                                "now" if self.chosen.get(key) == v else "") for v in values)
        items.extend(Choice(f"template:{t}", f"template: {t}", "sent instead of the text") for t in templates)
        self.app.push_screen(PickerScreen("How the reply goes out", items), self._option_picked)

    def _option_picked(self, value: str | None) -> None:
        if value is None:
            return
        what, _, rest = value.partition(":")
        if what == "template":
            self.ask_template_variables(rest)
            return
        key, _, chosen = rest.partition("=")
        if chosen:
            self.chosen[key] = chosen
        else:
            self.chosen.pop(key, None)
        self._render_parts()

    def offer_templates(self, reason: str, templates: tuple[str, ...]) -> None:
        """The channel refused a free-form reply (`reason`): offer its approved templates instead."""
        choices = [Choice(t, t, "approved template") for t in templates]
        self.app.push_screen(PickerScreen(f"{one_line(reason)}. Send an approved template instead?", choices),
                             lambda name: name and self.ask_template_variables(name))

    def ask_template_variables(self, template: str) -> None:
        """The template's variables as `1=Anna 2="Kovács Bence"` (enter on nothing sends none), then send."""
        skip = [Choice("-", "no variables", "send the template as it is")]

        def given(typed: str | None) -> None:
            import shlex

            from omnidesk.services.replies import template_variables

            if typed is None:
                self.notify(f"template {template} not sent", severity="warning", markup=False)
                return
            try:
                variables = {} if typed == "-" else template_variables(shlex.split(typed))
            except (UserError, ValueError) as exc:
                self.notify(one_line(str(exc)), severity="error", markup=False)
                return
            self._request("", template, variables)

        self.app.push_screen(PickerScreen(f"Variables of template {one_line(template)} (KEY=VALUE ...)", skip,
                                          free_text=True, placeholder="1=Anna 2=A-12345"), given)

    def edit_in_editor(self, arg: str | None = None) -> None:
        edited = self.app.edit_externally(self.text, suffix=".md")  # type: ignore[attr-defined]
        if edited is not None:
            area = self.query_one(TextArea)
            area.load_text(edited.rstrip("\n"))
            area.move_cursor(area.document.end)
            self.save_draft()

    def switch_channel(self, arg: str | None = None) -> None:
        if arg:
            names = [r.channel for r in self.routes]
            if arg in names:
                self._use_route(names.index(arg))
        elif len(self.routes) > 1:
            self._use_route((self.route_index + 1) % len(self.routes))

    def pick_route(self, arg: str | None = None) -> None:
        """Every route the service offers, as `via <channel> to <address>`; enter takes one."""
        if self.mode == "note" or not self.routes:
            self.notify("no channel can reach this customer" if self.mode != "note" else "a note is not sent",
                        severity="warning")
            return
        choices = [Choice(str(i), f"via {r.channel} to {one_line(r.to)}", f"{r.kind} · {r.address_kind}")
                   for i, r in enumerate(self.routes)]
        self.app.push_screen(PickerScreen("Reply via", choices), self._route_picked)

    def _route_picked(self, value: str | None) -> None:
        if value is not None:
            self._use_route(int(value))

    def pick_macro(self, arg: str | None = None) -> None:
        """ctrl+t: the conversation's macro picker, for this composer's route."""
        self.screen.pick_macro(arg)  # type: ignore[attr-defined]

    def _use_route(self, index: int) -> None:
        self.route_index = index
        allowed = reply_choices(self.routes[index].kind)  # a choice the new channel has not is dropped
        self.chosen = {k: v for k, v in self.chosen.items() if v in allowed.get(k, ())}
        self._fill_fields()
        self._render_via()
        self.save_draft()
        if self.macro_name and self.route is not None:
            # The text was chosen for the other channel's style: say how to get this one's.
            self.query_one("#composer-hint", Label).update(Text(
                f"the macro's text was chosen for another channel; ctrl+t picks the {self.route.channel} one",
                style="yellow"))

    def insert_kb_link(self, arg: str | None = None) -> None:
        self.screen.choose_suggestion("link", lambda s: self.insert_text(s.link_text()))  # type: ignore[attr-defined]

    def insert_kb_excerpt(self, arg: str | None = None) -> None:
        self.screen.choose_suggestion("excerpt",  # type: ignore[attr-defined]
                                      lambda s: self.insert_text(s.excerpt_text(), block=True))

    def insert_text(self, text: str, *, block: bool = False) -> None:
        """Put `text` at the cursor: a block as a paragraph of its own, a phrase after a space."""
        area = self.query_one(TextArea)
        row, column = area.cursor_location
        before = area.document.get_text_range((0, 0), (row, column))
        if before and block:
            text = ("" if before.endswith("\n\n") else "\n" if before.endswith("\n") else "\n\n") + text
        elif before and not before[-1].isspace():
            text = " " + text
        area.insert(text)
        area.focus()

    def close(self, arg: str | None = None) -> None:
        if self.mode != "note" and self.text and self.text != self.saved_body:
            self._write_draft(self.text)
        self.post_message(self.Closed())
