"""The conversation's side pane: knowledge-base articles for its latest inbound message, best first."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, Static

from omnidesk.tui.textfmt import inert, inert_line

#: Characters of each excerpt the pane shows.
EXCERPT = 160
HINT = "B reads · in a reply: ctrl+l link, ctrl+b excerpt"


def suggestions_text(suggestions: Sequence[Any], *, wanted: str | None = None, loading: bool = False,
                     error: str = "") -> Text:
    """The pane's body: numbered titles with their language and excerpt, or why there are none."""
    if error:
        return inert_line(error, style="red")
    if not suggestions:
        return Text("Looking for articles…" if loading else "No article matches the customer's last message.",
                    style="dim italic")
    out = Text()
    for n, s in enumerate(suggestions, start=1):
        if n > 1:
            out.append("\n\n")
        out.append(f"{n}. ", style="bold")
        out.append_text(inert_line(s.title, style="bold"))
        out.append(f"  {s.language}", style="reverse" if s.in_language else "dim")
        out.append("\n")
        cut = s.excerpt if len(s.excerpt) <= EXCERPT else s.excerpt[:EXCERPT].rstrip() + "…"
        out.append_text(inert(cut, style="dim"))
    if wanted:
        out.append(f"\n\narticles in {wanted} first", style="dim italic")
    return out


class KbPane(Vertical):
    """Titles, languages and excerpts; the screen fills it (`show`) from a worker's result."""

    def __init__(self) -> None:
        super().__init__(id="kb-pane")

    def compose(self) -> ComposeResult:
        yield Label(Text("Knowledge base", style="bold"), id="kb-title")
        yield Static("", id="kb-list", markup=False)
        yield Label(Text(HINT, style="dim"), id="kb-hint")

    def show(self, suggestions: Sequence[Any], *, wanted: str | None = None, loading: bool = False,
             error: str = "") -> None:
        text = suggestions_text(suggestions, wanted=wanted, loading=loading, error=error)
        self.query_one("#kb-list", Static).update(text)
