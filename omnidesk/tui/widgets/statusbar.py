"""The bottom status line: each channel's last successful sync and last error (from the app)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $text-muted; padding: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__("", markup=False, classes="status-bar")

    def on_mount(self) -> None:
        self.watch(self.app, "health", self._health_changed, init=True)

    def _health_changed(self, health: Text) -> None:
        self.update(health)
