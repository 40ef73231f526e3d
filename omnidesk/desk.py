"""The open desk: database, settings, acting agent and data directory, together.

Every service function takes a `Desk` as its first argument, so the CLI, the
TUI and the sync daemon call the same code with the same context.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from omnidesk.model import Agent
from omnidesk.settings import Settings

if TYPE_CHECKING:
    from omnidesk.store.db import Database


@dataclass(slots=True)
class Desk:
    """The open desk every service function works on."""

    db: Database  # or a ReadOnlyDatabase for one-shot reading commands (store/readonly.py)
    settings: Settings
    data_dir: Path
    agent: Agent | None = None  # who acts; None for the system (ingest, timers)

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    def as_agent(self, agent: Agent | None) -> Desk:
        return replace(self, agent=agent)
