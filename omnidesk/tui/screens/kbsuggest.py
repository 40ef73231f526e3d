"""Knowledge-base suggestions in the conversation screen: the side pane, reading, inserting.

A mixin of `ConversationScreen` (which owns `desk`, `conversation`, `conversation_id`).
Suggestions are computed in a worker for the latest inbound message each time the
conversation is (re)loaded, so an edited article or a new message shows up without a key;
the worker only posts `KbSuggested`, and the handler drops results for a conversation no
longer shown (the screen is reused). The pane is shown when the desk has a knowledge-base
folder; `b` hides or shows it for the rest of the session (`app.kb_pane_shown`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import work
from textual.message import Message

from omnidesk.textsafe import one_line
from omnidesk.tui.widgets.kbpane import KbPane
from omnidesk.tui.widgets.picker import Choice, PickerScreen


class KbSuggested(Message):
    def __init__(self, conversation_id: int, suggestions: list[Any], wanted: str | None,
                 error: str = "") -> None:
        super().__init__()
        self.conversation_id = conversation_id
        self.suggestions = suggestions
        self.wanted = wanted
        self.error = error


class KbSuggesting:
    """The knowledge-base pane and keys of the conversation screen (see the module docstring)."""

    kb_available = False
    kb_suggestions: list[Any] = []  # noqa: RUF012 - replaced, never mutated

    def kb_setup(self) -> None:
        """Is there a knowledge base? (one stat; the folder may appear later: checked on each open)."""
        from omnidesk.kb import library

        self.kb_available = library.folder(self.desk) is not None
        self.query_one(KbPane).display = self._kb_shown()

    def _kb_shown(self) -> bool:
        return self.kb_available and getattr(self.app, "kb_pane_shown", True)

    def kb_reset(self) -> None:
        """A new conversation is being shown: forget the previous one's suggestions."""
        self.kb_suggestions = []
        self.query_one(KbPane).show([], loading=True)

    def suggest_articles(self) -> None:
        if self.kb_available and self.conversation is not None and self.conversation_id is not None:
            self._suggest(self.conversation_id, self.conversation)

    @work(group="kb", exclusive=True, exit_on_error=False)
    async def _suggest(self, conversation_id: int, conversation: Any) -> None:
        from omnidesk.kb import suggest

        message = suggest.latest_inbound(conversation)
        wanted = suggest.conversation_language(conversation, message)
        try:
            found = await suggest.for_conversation(self.desk, conversation)
        except Exception as exc:  # a broken folder or index must not take the screen down
            self.post_message(KbSuggested(conversation_id, [], wanted, f"suggestions failed: {exc}"))
            return
        self.post_message(KbSuggested(conversation_id, found, wanted))

    def on_kb_suggested(self, message: KbSuggested) -> None:
        if message.conversation_id != self.conversation_id:
            return
        self.kb_suggestions = message.suggestions
        self.query_one(KbPane).show(message.suggestions, wanted=message.wanted, error=message.error)
        self.refresh_bindings()

    # -- keys ------------------------------------------------------------------------------

    def toggle_kb_pane(self, arg: str | None = None) -> None:
        self.app.kb_pane_shown = not self._kb_shown()
        self.query_one(KbPane).display = self._kb_shown()

    def read_kb_article(self, arg: str | None = None) -> None:
        from omnidesk.tui.screens.article import ArticleScreen

        self.choose_suggestion("read", lambda s: self.app.push_screen(ArticleScreen(s)))

    def choose_suggestion(self, purpose: str, use: Callable[[Any], None]) -> None:
        """Pick one of the suggestions (the best is first, enter takes it) and hand it to `use`."""
        suggestions = list(self.kb_suggestions)
        if not suggestions:
            self.notify("no suggested article for this conversation", severity="warning")
            return
        if purpose == "link" and not suggestions[0].url:
            self.notify("no link to insert: set [kb] public_url in the config", severity="warning")
            return
        choices = [Choice(str(i), one_line(s.title), f"{s.language} · {one_line(s.excerpt)[:60]}")
                   for i, s in enumerate(suggestions)]
        title = {"read": "Read", "link": "Insert the link of", "excerpt": "Insert the excerpt of"}[purpose]
        self.app.push_screen(PickerScreen(title, choices),
                             lambda value: value is not None and use(suggestions[int(value)]))
