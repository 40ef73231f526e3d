"""The key hints on the bottom line: one widget, redrawn only when the bindings change.

Textual's Footer mounts and styles a widget per key, again on every bindings update
(focus moves, a conversation loads, the composer opens); on the conversation screen that
cost more than loading and laying out the timeline itself. This draws the same hints as
one line of text. A click on a hint presses its key.
"""

from __future__ import annotations

from typing import Any

from rich.style import Style
from rich.text import Text
from textual.widget import Widget


class KeyBar(Widget):
    """`key description` for every shown binding of the screen, the palette key on the right."""

    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
    }
    """

    def __init__(self) -> None:
        super().__init__()
        self._hints: tuple[tuple[str, str, str], ...] = ()  # (key, shown key, description)
        self._palette: tuple[str, str, str] | None = None
        self._pending = False

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._collect()

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Any) -> None:
        # Several updates arrive per user action; collect once, after they settle.
        if not self._pending:
            self._pending = True
            self.call_after_refresh(self._collect)

    def _collect(self) -> None:
        self._pending = False
        if not self.is_attached:
            return
        app = self.app
        hints: list[tuple[str, str, str]] = []
        seen: set[str] = set()
        palette = None
        for _, binding, enabled, _ in self.screen.active_bindings.values():
            if binding.key == app.COMMAND_PALETTE_BINDING and app.ENABLE_COMMAND_PALETTE:
                palette = (binding.key, app.get_key_display(binding), binding.description or "palette")
                continue
            if not binding.show or not enabled or binding.action in seen:
                continue
            seen.add(binding.action)
            hints.append((binding.key, app.get_key_display(binding), binding.description))
        if (tuple(hints), palette) != (self._hints, self._palette):
            self._hints, self._palette = tuple(hints), palette
            self.refresh()

    @property
    def hints(self) -> tuple[tuple[str, str, str], ...]:
        """What the bar offers now: (key, how the key is shown, description)."""
        return self._hints

    def render(self) -> Text:
        width = self.size.width
        right = Text()
        if self._palette is not None:
            key, shown, description = self._palette
            right = _hint(key, shown, description)
            right.append(" ")
        left = Text(no_wrap=True, overflow="ellipsis")
        for key, shown, description in self._hints:
            left.append_text(_hint(key, shown, description))
            left.append("  ")
        left.truncate(max(0, width - right.cell_len - 1), overflow="ellipsis")
        left.pad_right(max(0, width - left.cell_len - right.cell_len))
        left.append_text(right)
        return left


def _hint(key: str, shown: str, description: str) -> Text:
    click = Style(meta={"@click": f"app.simulate_key({key!r})"})
    text = Text(f" {shown} ", style=Style(bold=True, reverse=True) + click)
    text.append(f" {description}", style=click)
    return text
