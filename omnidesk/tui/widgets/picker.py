"""Small modal dialogs: a list of choices under a text field (the fuzzy picker, with optional free
text; the `:` command line builds on it) and a yes/no confirmation."""

from __future__ import annotations

from collections.abc import Callable, Sequence
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


class ChoiceList(OptionList):
    """Choices shown as options (label, then the description dimmed), the first highlighted."""

    def __init__(self, *, bold: bool = False, limit: int | None = None, id: str | None = None) -> None:
        super().__init__(id=id)
        self.bold = bold
        self.limit = limit
        self.choices: list[Choice] = []

    def show(self, choices: Sequence[Choice]) -> None:
        self.choices = list(choices)[: self.limit]
        self.clear_options()
        for choice in self.choices:
            label = Text(choice.label, style="bold" if self.bold else "")
            if choice.description:
                label.append(f"  {choice.description}", style="dim")
            self.add_option(Option(label))
        if self.choices:
            self.highlighted = 0

    def move(self, delta: int) -> None:
        """Move the highlight, wrapping around at either end."""
        if self.option_count:
            self.highlighted = ((self.highlighted or 0) + delta) % self.option_count

    @property
    def chosen(self) -> Choice | None:
        if self.highlighted is None or not self.choices:
            return None
        return self.choices[self.highlighted]


class ChoiceScreen(ModalScreen[str | None]):
    """A text field over a `ChoiceList`: typing narrows it (`refilter`), up/down move, tab completes,
    esc cancels. The picker and the `:` command line are both one."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", show=False),
        Binding("down", "move(1)", show=False),
        Binding("up", "move(-1)", show=False),
        Binding("tab", "complete", show=False, priority=True),
    ]

    @property
    def choice_list(self) -> ChoiceList:
        return self.query_one(ChoiceList)

    @property
    def shown(self) -> list[Choice]:
        return self.choice_list.choices

    def on_mount(self) -> None:
        field = self.query_one(Input)
        self.refilter(field.value)
        field.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.refilter(event.value)

    def refilter(self, typed: str) -> None:
        """Show the choices for what is typed."""
        raise NotImplementedError

    def action_move(self, delta: int) -> None:
        self.choice_list.move(delta)

    def action_cancel(self) -> None:
        self.dismiss(None)


class PickerScreen(ChoiceScreen):
    """Type to narrow (fuzzy), up/down to choose, enter to pick, esc to cancel.

    With `free_text`, enter on a typed value that matches nothing returns the
    text itself (a typed date for snooze, `+tag -tag` for tags). `complete`,
    when given, turns the input into suggestions (the last word's completions).
    """

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

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-box"):
            yield Label(self.title_text, id="picker-title", markup=False)
            yield Input(value=self.initial, placeholder=self.placeholder, id="picker-input")
            yield ChoiceList(id="picker-options")

    def refilter(self, typed: str) -> None:
        if self.completer is not None:
            shown = self.completer(typed)
        elif typed.strip():
            matcher = Matcher(typed.strip())
            scored = [(matcher.match(f"{c.label} {c.description}"), c) for c in self.choices]
            shown = [c for score, c in sorted(scored, key=lambda x: -x[0]) if score > 0]
        else:
            shown = list(self.choices)
        self.choice_list.show(shown)

    def action_complete(self) -> None:
        """Tab: replace the word being typed by the highlighted suggestion."""
        choice = self.choice_list.chosen
        if choice is None:
            return
        field = self.query_one(Input)
        if self.completer is not None:
            head, _, _ = field.value.rpartition(" ")
            field.value = f"{head} {choice.value}".lstrip() + " "
        else:
            field.value = choice.value
        field.cursor_position = len(field.value)

    @on(Input.Submitted, "#picker-input")
    def _submitted(self, event: Input.Submitted) -> None:
        typed = event.value.strip()
        if self.free_text and (self.completer is not None or not self.shown):
            self.dismiss(typed or None)
            return
        choice = self.choice_list.chosen
        if choice is not None:
            self.dismiss(choice.value)
        elif self.free_text and typed:
            self.dismiss(typed)

    @on(OptionList.OptionSelected, "#picker-options")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.shown[event.option_index].value)


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
