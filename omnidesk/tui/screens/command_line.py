"""The `:` command line: type an action id (and its argument), with completion showing descriptions."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input

from omnidesk.tui import actions
from omnidesk.tui.widgets.picker import Choice, ChoiceList, ChoiceScreen


class CommandLineScreen(ChoiceScreen):
    """`:tag +billing`, `:assign bob`, `:filter status:open` — enter runs, tab completes."""

    def __init__(
        self,
        contexts: Sequence[str],
        argument_help: Callable[[str, str], list[tuple[str, str]]] | None = None,
    ) -> None:
        super().__init__(id="command-line")
        self.contexts = list(contexts)
        self.argument_help = argument_help

    def compose(self) -> ComposeResult:
        with Vertical(id="command-box"):
            yield ChoiceList(bold=True, limit=50, id="command-options")
            yield Input(placeholder="action [argument]   (tab completes, esc cancels)", id="command-input")

    def refilter(self, typed: str) -> None:
        word, space, rest = typed.partition(" ")
        if space and word in actions.BY_ID:
            action = actions.BY_ID[word]
            extra = self.argument_help(word, rest) if self.argument_help else []
            shown = [Choice(f"{word} {value}", f"{word} {value}", desc) for value, desc in extra]
            if not shown and action.takes_arg:
                shown = [Choice(typed, typed, f"{action.id} {action.takes_arg}: {action.description}")]
        else:
            shown = [
                Choice(a.id, a.id, f"{a.description}  [{actions.display_keys(a.keys)}]")
                for a in actions.complete(word, self.contexts)
            ]
        self.choice_list.show(shown)

    def action_complete(self) -> None:
        choice = self.choice_list.chosen
        if choice is None:
            return
        field = self.query_one(Input)
        field.value = choice.value if choice.value.endswith(" ") else choice.value + " "
        field.cursor_position = len(field.value)

    @on(Input.Submitted, "#command-input")
    def _submitted(self, event: Input.Submitted) -> None:
        typed = event.value.strip()
        if not typed:
            self.dismiss(None)
            return
        word = typed.split(" ", 1)[0]
        if word not in actions.BY_ID and self.shown:
            typed = self.shown[self.choice_list.highlighted or 0].value
        self.dismiss(typed)
