"""Fixtures shared by every test: a fresh desk in a temp dir, and the corpora path."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from omnidesk.desk import Desk
from omnidesk.settings import Settings
from omnidesk.store.db import Database

CORPORA = Path(__file__).resolve().parents[1].parent / "shared" / "corpora"


@pytest.fixture
def corpora() -> Path:
    """../shared/corpora, or skip: the corpora live beside the checkout, not in it."""
    if not CORPORA.is_dir():
        pytest.skip(f"test corpora not found at {CORPORA} (expected ../shared/corpora beside the checkout)")
    return CORPORA


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Desk]:
    """A migrated, empty desk with default settings and no acting agent."""
    db = await Database.open(tmp_path / "data" / "omnidesk.db")
    try:
        yield Desk(db=db, settings=Settings(), data_dir=tmp_path / "data")
    finally:
        await db.close()
