"""The command palette (ctrl+p): every action of the registry available on the current screen."""

from __future__ import annotations

from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

from omnidesk.tui import actions


class ActionCommands(Provider):
    """The command palette (ctrl+p): every action available on the current screen."""

    async def search(self, query: str) -> Hits:
        app: Any = self.app
        matcher = self.matcher(query)
        for action in app.available_actions(self.screen):
            label = f"{action.description} ({action.id})"
            score = matcher.match(label)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(label),
                    partial(app.dispatch, action.id, None, self.screen),
                    help=actions.display_keys(actions.keys_for(action, app.keymap)),
                )

    async def discover(self) -> Hits:
        app: Any = self.app
        for action in app.available_actions(self.screen):
            yield DiscoveryHit(
                f"{action.description} ({action.id})",
                partial(app.dispatch, action.id, None, self.screen),
                help=actions.display_keys(actions.keys_for(action, app.keymap)),
            )
