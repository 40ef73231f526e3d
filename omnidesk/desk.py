"""The open desk: database, settings, acting agent and data directory, together.

Every service function takes a `Desk` as its first argument, so the CLI, the
TUI and the sync daemon call the same code with the same context.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from omnidesk.model import Agent
from omnidesk.settings import Settings

if TYPE_CHECKING:
    from omnidesk.store.db import Database


class Wakeups:
    """Callbacks to run when this process queued work for someone in the same process.

    The outbox dispatcher subscribes its `poke`, so a reply queued by the TUI or a
    command next to an in-process sync leaves at once, not at the next poll. The
    services only notify: they know nothing of who listens.
    """

    def __init__(self) -> None:
        self._callbacks: list[Callable[[], None]] = []

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Add `callback`; returns the function that removes it again."""
        self._callbacks.append(callback)
        return lambda: self._callbacks.remove(callback)

    def notify(self) -> None:
        for callback in list(self._callbacks):
            callback()


@dataclass(slots=True)
class Desk:
    """The open desk every service function works on."""

    db: Database  # or a ReadOnlyDatabase for one-shot reading commands (store/readonly.py)
    settings: Settings
    data_dir: Path
    agent: Agent | None = None  # who acts; None for the system (ingest, timers)
    #: Outbox rows became due in this process. Shared by the copies `replace()` makes.
    outbox_changed: Wakeups = field(default_factory=Wakeups)

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    def as_agent(self, agent: Agent | None) -> Desk:
        return replace(self, agent=agent)
