"""A knowledge-base article over the conversation: Rich Markdown, links shown and never followed."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from omnidesk.kb.render import terminal_article


class ArticleScreen(ModalScreen[None]):
    """One suggestion's article (omnidesk/kb/render.py: `text (address)`, no OSC 8 links)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "dismiss", "Close", show=False)]

    def __init__(self, suggestion: Any) -> None:
        super().__init__(id="article")
        self.suggestion = suggestion

    def compose(self) -> ComposeResult:
        s = self.suggestion
        with VerticalScroll(id="article-box"):
            yield Label("esc closes · in a reply, ctrl+l inserts its link and ctrl+b its excerpt",
                        id="article-hint", markup=False)
            yield Static(terminal_article(s.title, s.body, language=s.language, languages=s.languages,
                                          url=s.url), id="article-body")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)
