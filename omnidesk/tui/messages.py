"""Messages workers post to widgets (workers never touch widgets themselves)."""

from __future__ import annotations

from typing import Any

from textual.message import Message

from omnidesk.conversations.reads import Page


class StoreChanged(Message, bubble=False):
    """Something in the store changed (another process, or our own action).

    A burst of them collapses into one: a queued StoreChanged replaces the
    next, so a sync importing 500 mails causes one refresh, not 500. It does
    not bubble: the app sends one to each screen, and it must not come back.
    `seek`: conversations the inbox cursor should go to when their rows come
    back (those an undo restored); a collapsed burst keeps them.
    """

    def __init__(self, local: bool = False, seek: frozenset[int] = frozenset()) -> None:
        super().__init__()
        self.local = local
        self.seek = seek

    def can_replace(self, message: Message) -> bool:
        if isinstance(message, StoreChanged):
            message.seek |= self.seek
            return True
        return False


class PageLoaded(Message):
    def __init__(self, generation: int, index: int, page: Page) -> None:
        super().__init__()
        self.generation = generation
        self.index = index
        self.page = page


class LoadFailed(Message):
    def __init__(self, generation: int, error: str) -> None:
        super().__init__()
        self.generation = generation
        self.error = error


class ActionDone(Message):
    """A service call finished: `result` is its ActionResult (or None)."""

    def __init__(self, result: Any, *, undoable: bool = True, advance: Any = None) -> None:
        super().__init__()
        self.result = result
        self.undoable = undoable
        self.advance = advance


class ActionFailed(Message):
    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class HealthLoaded(Message):
    def __init__(self, rows: list[Any]) -> None:
        super().__init__()
        self.rows = rows
