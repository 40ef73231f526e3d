"""The macro picker (`M` in a conversation): the fuzzy picker with a live preview of the rendered text.

The preview is the macro rendered for this conversation's reply (the variant for its
channel and the customer's language), or the one line saying why it cannot be; it is
plain `Text` through `textfmt.inert`, so a customer's name is never read as markup.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label, OptionList, Static

from omnidesk.tui.widgets.picker import Choice, ChoiceList, PickerScreen


class MacroPickerScreen(PickerScreen):
    """Type to narrow, up/down to choose (the preview follows), enter to put the text in the composer."""

    def __init__(self, title: str, choices: list[Choice], preview: Callable[[str], Text]) -> None:
        super().__init__(title, choices, placeholder="macro name or words of its description")
        self.add_class("macro-picker")
        self.preview_for = preview

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-box"):
            yield Label(self.title_text, id="picker-title", markup=False)
            yield Input(placeholder=self.placeholder, id="picker-input")
            yield ChoiceList(id="picker-options")
            preview = Static("", id="macro-preview", markup=False)
            preview.border_title = "preview"
            yield preview

    def refilter(self, typed: str) -> None:
        super().refilter(typed)
        self._show_preview()

    @on(OptionList.OptionHighlighted, "#picker-options")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._show_preview()

    def _show_preview(self) -> None:
        chosen = self.choice_list.chosen
        self.query_one("#macro-preview", Static).update(
            self.preview_for(chosen.value) if chosen is not None else Text("no macro matches", style="dim"))
