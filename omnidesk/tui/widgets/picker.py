"""Small modal dialogs: a fuzzy picker (with optional free text) and a yes/no confirmation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.fuzzy import Matcher
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option


@dataclass(frozen=True, slots=True)
class Choice:
    value: str
    label: str
    description: str = ""


class PickerScreen(ModalScreen[str | None]):
    """Type to narrow (fuzzy), up/down to choose, enter to pick, esc to cancel.

    With `free_text`, enter on a typed value that matches nothing returns the
    text itself (a typed date for snooze, `+tag -tag` for tags). `complete`,
    when given, turns the input into suggestions (the last word's completions).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", show=False),
        Binding("down", "move(1)", show=False),
        Binding("up", "move(-1)", show=False),
        Binding("tab", "complete", show=False, priority=True),
    ]

    def __init__(
        self,
        title: str,
        choices: list[Choice],
        *,
        free_text: bool = False,
        placeholder: str = "",
        complete: Callable[[str], list[Choice]] | None = None,
        value: str = "",
    ) -> None:
        super().__init__(classes="picker")
        self.title_text = title
        self.choices = choices
        self.free_text = free_text
        self.placeholder = placeholder
        self.completer = complete
        self.initial = value
        self.shown: list[Choice] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-box"):
            yield Label(self.title_text, id="picker-title", markup=False)
            yield Input(value=self.initial, placeholder=self.placeholder, id="picker-input")
            yield OptionList(id="picker-options")

    def on_mount(self) -> None:
        self._refilter(self.initial)
        self.query_one(Input).focus()

    @on(Input.Changed, "#picker-input")
    def _changed(self, event: Input.Changed) -> None:
        self._refilter(event.value)

    def _refilter(self, typed: str) -> None:
        if self.completer is not None:
            self.shown = self.completer(typed)
        elif typed.strip():
            matcher = Matcher(typed.strip())
            scored = [(matcher.match(f"{c.label} {c.description}"), c) for c in self.choices]
            self.shown = [c for score, c in sorted(scored, key=lambda x: -x[0]) if score > 0]
        else:
            self.shown = list(self.choices)
        options = self.query_one(OptionList)
        options.clear_options()
        for choice in self.shown:
            label = Text(choice.label)
            if choice.description:
                label.append(f"  {choice.description}", style="dim")
            options.add_option(Option(label))
        if self.shown:
            options.highlighted = 0

    def action_move(self, delta: int) -> None:
        options = self.query_one(OptionList)
        if options.option_count:
            options.highlighted = ((options.highlighted or 0) + delta) % options.option_count

    def action_complete(self) -> None:
        """Tab: replace the word being typed by the highlighted suggestion."""
        options = self.query_one(OptionList)
        if options.highlighted is None or not self.shown:
            return
        choice = self.shown[options.highlighted]
        field = self.query_one(Input)
        if self.completer is not None:
            head, _, _ = field.value.rpartition(" ")
            field.value = f"{head} {choice.value}".lstrip() + " "
        else:
            field.value = choice.value
        field.cursor_position = len(field.value)

    @on(Input.Submitted, "#picker-input")
    def _submitted(self, event: Input.Submitted) -> None:
        options = self.query_one(OptionList)
        typed = event.value.strip()
        if self.free_text and (self.completer is not None or not self.shown):
            self.dismiss(typed or None)
            return
        if options.highlighted is not None and self.shown:
            self.dismiss(self.shown[options.highlighted].value)
        elif self.free_text and typed:
            self.dismiss(typed)

    @on(OptionList.OptionSelected, "#picker-options")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.shown[event.option_index].value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question; `y` or enter says yes, `n` or esc says no."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y,enter", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__(classes="picker")
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-box"):
            yield Label(self.question, id="picker-title", markup=False)
            yield Label("y: yes   n / esc: no", classes="hint")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)
