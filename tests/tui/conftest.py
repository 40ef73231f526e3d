"""Fixtures for the console tests: a seeded desk and a way to wait for conditions."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from omnidesk.desk import Desk
from tests.tui.seed import NOW, seed


@pytest.fixture
async def seeded(tmp_path: Path) -> AsyncIterator[Desk]:
    desk = await seed(tmp_path / "data")
    try:
        yield desk
    finally:
        await desk.db.close()


def make_app(desk: Desk, **kwargs: Any) -> Any:
    from omnidesk.tui.app import OmnideskApp

    kwargs.setdefault("clock", lambda: NOW)
    kwargs.setdefault("poll_seconds", 0.1)
    return OmnideskApp(desk, **kwargs)


async def until(
    pilot: Any, predicate: Callable[[], Any], what: str = "condition", timeout: float = 10.0
) -> Any:
    """Poll `predicate` (letting the app run) until it is truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


async def until_async(
    pilot: Any, probe: Callable[[], Any], what: str = "condition", timeout: float = 10.0
) -> Any:
    """Like `until`, for an async probe (a store read)."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.03)


def inbox_ready(app: Any) -> bool:
    screen = app.screen
    return getattr(screen, "context", "") == "inbox" and screen.conv_list.current() is not None


def screen_text(app: Any) -> str:
    """What the screen shows, as plain text (for asserting on rendering without a snapshot)."""
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(segment.text for segment in strip) for strip in strips)


async def open_conversation(pilot: Any, app: Any, cid: int) -> Any:
    """From a ready inbox, select conversation `cid`, press enter and wait until it is loaded."""
    await until(pilot, lambda: inbox_ready(app), "inbox")
    inbox = app.screen
    await until(pilot, lambda: inbox.conv_list.index_of(cid) is not None, "ingested row")
    inbox.conv_list.move_to(inbox.conv_list.index_of(cid))
    await pilot.press("enter")
    await until(pilot, lambda: getattr(app.screen, "conversation", None) is not None, "open")
    return app.screen


async def ingest_from_eva(desk: Desk, external_id: str, **fields: Any) -> int:
    """Ingest one email from Nagy Éva on the seeded `support` channel; returns its conversation id."""
    from datetime import UTC, datetime

    from adapters.base import Address, Inbound
    from omnidesk.inbound.ingest import ingest_records
    from omnidesk.store.channels import get_channel

    channel = await get_channel(desk.db, "support")
    record = Inbound(
        external_id=external_id,
        sender=Address("email", "eva@example.hu", "Nagy Éva"),
        sent_at=datetime(2026, 11, 20, 11, 30, tzinfo=UTC),
        **fields,
    )
    return (await ingest_records(desk, channel, [record])).conversation_ids[0]


async def other_process(desk: Desk, agent_name: str = "bob") -> Desk:
    """A second connection, as another agent's TUI or a CLI command would have."""
    from dataclasses import replace

    from omnidesk.conversations import reads
    from omnidesk.store.db import Database

    db = await Database.open(desk.db.path)
    agents = {a.name: a for a in await reads.list_agents(desk)}
    return replace(desk, db=db, agent=agents[agent_name])


async def ingest_quoted(desk: Desk) -> int:
    """Éva's message with a folded quote and a PDF receipt attached."""
    from adapters.base import Attachment

    return await ingest_from_eva(
        desk,
        "<quoted-1@example.hu>",
        subject="Szállítás késik",
        text="Még mindig várok a csomagra.\n\n> 2026-11-18, support wrote:\n> A csomag úton van.",
        display_text="Még mindig várok a csomagra.",
        attachments=(Attachment("nyugta.pdf", "application/pdf", b"%PDF-1.4 receipt"),),
    )
