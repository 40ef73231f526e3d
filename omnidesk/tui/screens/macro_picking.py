"""Macros in the conversation screen: `M` (or `:macro NAME`) loads the desk's macros and the reply's
variables, the picker previews each macro rendered for this reply, and the picked text goes into the
composer (opened for it if need be) with the macro's actions, which go with the reply when it is sent.

A mixin of `ConversationScreen`, beside `Composing` (omnidesk/tui/screens/composing.py), whose
`open_composer`, `start_compose` and `pending_macro` it uses.
"""

from __future__ import annotations

import asyncio
from typing import Any

from rich.text import Text
from textual import work
from textual.message import Message

from omnidesk.errors import UserError
from omnidesk.macros.library import load_library
from omnidesk.services import macro_replies
from omnidesk.textsafe import one_line
from omnidesk.tui.textfmt import inert
from omnidesk.tui.widgets.macro_picker import MacroPickerScreen
from omnidesk.tui.widgets.picker import Choice


class MacrosLoaded(Message):
    """The desk's macros and what they render with for this conversation's reply (or why not)."""

    def __init__(self, conversation_id: int, library: Any, context: Any, *, name: str = "",
                 error: str = "") -> None:
        super().__init__()
        self.conversation_id = conversation_id
        self.library = library
        self.context = context
        self.name = name  # `:macro NAME`: that one, without the picker
        self.error = error


class MacroPicking:
    """`M` in a conversation (see the module docstring)."""

    def pick_macro(self, arg: str | None = None) -> None:
        """`M`: the macro picker with a live preview; the picked text goes into the composer."""
        composer = self.open_composer()
        if composer is not None and composer.mode == "note":
            self.notify("a macro is a reply; this is a note", severity="warning")
            return
        route = composer.route if composer is not None else None
        self.load_macros(route.channel if route is not None else None, arg)

    @work(group="macros", exclusive=True, exit_on_error=False)
    async def load_macros(self, channel: str | None, name: str | None) -> None:
        cid = self.conversation_id
        try:
            library = await asyncio.to_thread(load_library, self.desk.settings)  # files: off the loop
            context = await macro_replies.reply_context(self.desk, cid, channel=channel)
        except UserError as exc:
            self.post_message(MacrosLoaded(cid, None, None, error=str(exc)))
            return
        self.post_message(MacrosLoaded(cid, library, context, name=name or ""))

    def on_macros_loaded(self, message: MacrosLoaded) -> None:
        if message.conversation_id != self.conversation_id:
            return
        if message.library is None:
            self.notify(message.error, severity="error", markup=False)
            return
        library, context = message.library, message.context
        if not library.macros:
            self.notify(f"no macros in {library.folder} (see docs/macros.md)", severity="warning",
                        markup=False)
            return
        if message.name:
            self._macro_picked(library, context, message.name)
            return
        choices = [Choice(m.name, m.name, m.description) for m in library.macros.values()]
        title = f"Macro for #{context.conversation_id} via {context.route.channel}"
        picker = MacroPickerScreen(title, choices, lambda name: self._preview(library, context, name))
        self.app.push_screen(picker, lambda name: self._macro_picked(library, context, name))

    def _preview(self, library: Any, context: Any, name: str) -> Text:
        """The macro rendered for this reply, with its variant, language and actions; or its problem."""
        try:
            prepared = macro_replies.render_for(self.desk, library.get(name), context)
        except UserError as exc:
            return Text(one_line(str(exc)), style="bold red")
        shown = Text(f"{prepared.variant} · {prepared.language}", style="dim")
        actions = prepared.macro.actions.describe()
        if actions:
            shown.append("  ·  when sent: " + ", ".join(actions), style="dim")
        shown.append("\n")
        shown.append_text(inert(prepared.text.strip("\n")))
        return shown

    def _macro_picked(self, library: Any, context: Any, name: str | None) -> None:
        """The picked macro's text into the composer (opened for it if none is), or its problem."""
        if name is None:
            return
        try:
            prepared = macro_replies.render_for(self.desk, library.get(name), context)
        except UserError as exc:
            self.notify(one_line(str(exc)), severity="error", markup=False)
            return
        pending = (prepared.macro.name, prepared.text, prepared.macro.actions)
        composer = self.open_composer()
        if composer is not None:
            composer.insert_macro(*pending)
            return
        self.pending_macro = pending
        self.start_compose("reply")
