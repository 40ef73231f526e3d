"""The `:` command line: type an action id (and its argument), with completion showing descriptions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

from omnidesk.tui import actions


class CommandLineScreen(ModalScreen[str | None]):
    """`:tag +billing`, `:assign bob`, `:filter status:open` — enter runs, tab completes."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", show=False),
        Binding("tab", "complete", show=False, priority=True),
        Binding("down", "move(1)", show=False),
        Binding("up", "move(-1)", show=False),
    ]

    def __init__(
        self,
        contexts: Sequence[str],
        argument_help: Callable[[str, str], list[tuple[str, str]]] | None = None,
    ) -> None:
        super().__init__(id="command-line")
        self.contexts = list(contexts)
        self.argument_help = argument_help
        self.shown: list[tuple[str, str]] = []  # (completion text, description)

    def compose(self) -> ComposeResult:
        with Vertical(id="command-box"):
            yield OptionList(id="command-options")
            yield Input(placeholder="action [argument]   (tab completes, esc cancels)", id="command-input")

    def on_mount(self) -> None:
        self._update("")
        self.query_one(Input).focus()

    @on(Input.Changed, "#command-input")
    def _changed(self, event: Input.Changed) -> None:
        self._update(event.value)

    def _update(self, typed: str) -> None:
        word, space, rest = typed.partition(" ")
        if space and word in actions.BY_ID:
            action = actions.BY_ID[word]
            extra = self.argument_help(word, rest) if self.argument_help else []
            self.shown = [(f"{word} {value}", desc) for value, desc in extra]
            if not self.shown and action.takes_arg:
                self.shown = [(typed, f"{action.id} {action.takes_arg}: {action.description}")]
        else:
            self.shown = [
                (a.id, f"{a.description}  [{actions.display_keys(a.keys)}]")
                for a in actions.complete(word, self.contexts)
            ]
        options = self.query_one(OptionList)
        options.clear_options()
        for value, description in self.shown[:50]:
            label = Text(value, style="bold")
            label.append(f"  {description}", style="dim")
            options.add_option(Option(label))
        if self.shown:
            options.highlighted = 0

    def action_move(self, delta: int) -> None:
        options = self.query_one(OptionList)
        if options.option_count:
            options.highlighted = ((options.highlighted or 0) + delta) % options.option_count

    def action_complete(self) -> None:
        options = self.query_one(OptionList)
        if options.highlighted is None or not self.shown:
            return
        field = self.query_one(Input)
        value = self.shown[options.highlighted][0]
        field.value = value if value.endswith(" ") else value + " "
        field.cursor_position = len(field.value)

    @on(Input.Submitted, "#command-input")
    def _submitted(self, event: Input.Submitted) -> None:
        typed = event.value.strip()
        if not typed:
            self.dismiss(None)
            return
        word = typed.split(" ", 1)[0]
        if word not in actions.BY_ID and self.shown:
            options = self.query_one(OptionList)
            typed = self.shown[options.highlighted or 0][0]
        self.dismiss(typed)

    def action_cancel(self) -> None:
        self.dismiss(None)
