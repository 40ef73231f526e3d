"""`?`: every key of the current screen (and the global ones), generated from the registry."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from omnidesk.tui import actions


def help_table(contexts: Sequence[str], keymap: Mapping[str, str]) -> Table:
    table = Table(box=None, show_header=True, header_style="bold", expand=True, pad_edge=False)
    table.add_column("Keys", no_wrap=True)
    table.add_column("Action", no_wrap=True)
    table.add_column("What it does")
    for context in contexts:
        table.add_row(Text(actions.CONTEXT_TITLES[context], style="bold underline"), "", "")
        for action in actions.for_context(context):
            keys = actions.display_keys(actions.keys_for(action, keymap))
            table.add_row(Text(keys, style="bold"), Text(action.id), Text(action.description))
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "Close", show=False),
    ]

    def __init__(self, contexts: Sequence[str], keymap: Mapping[str, str]) -> None:
        super().__init__(id="help")
        self.contexts = list(contexts)
        self.keymap = keymap

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Label("Keys — esc closes; ctrl+p searches every action; : types one", id="help-title")
            yield Static(help_table(self.contexts, self.keymap), id="help-table")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)
