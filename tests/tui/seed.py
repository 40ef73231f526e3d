"""A small, deterministic desk for the TUI tests: multilingual and hostile text, fixed times."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from omnidesk.desk import Desk
from omnidesk.settings import DeskSettings, SavedView, Settings, TuiSettings
from omnidesk.store.db import Database
from tests.unit import factories

#: 2026-11-20 12:00 UTC: every seeded time is relative to it, and the app's clock is frozen there.
NOW = 1_795_176_000_000
HOUR = 3_600_000

HOSTILE_SUBJECT = "[bold red]FREE[/] \x1b[31mred\x1b[0m \x1b]52;c;ZXZpbA==\x07 exe\u202etxt.exe"

THREADS = [
    (
        "Refund for order 48213",
        "Ann Lee",
        "ann@example.com",
        ("Hello, I want a refund for order 48213.\n\n> On Monday you wrote:\n> we shipped it",),
        1,
    ),
    ("退款问题", "王芳", "wang@example.cn", ("我想申请退款，订单号 99120。",), 2),
    ("درخواست بازپرداخت", "سارا احمدی", "sara@example.ir", ("سلام، من می‌خواهم پولم را پس بگیرم.",), 3),
    ("Számla hiányzik", "Kovács Ádám", "adam@example.hu", ("Jó napot, az ügyfélszolgálat nem válaszol.",), 4),
    (
        HOSTILE_SUBJECT,
        "Mallory \x1b[2J",
        "mallory@example.com",
        ("[link=http://x]click[/link] \x1b]52;c;aGk=\x07",),
        5,
    ),
    ("Login broken", "Bob Stone", "bob@example.org", ("I cannot log in since Tuesday.",), 6),
    ("Invoice copy", "Cy Twombly", "cy@example.org", ("Please send the invoice again.",), 7),
]


def settings(**tui: object) -> Settings:
    return Settings(
        desk=DeskSettings(name="acme", timezone="Europe/Budapest", undo_seconds=5.0),
        views=(SavedView("Billing", "tag:billing", key="9"),),
        tui=TuiSettings(**tui),  # type: ignore[arg-type]
    )


async def seed(path: Path, *, settings_: Settings | None = None, extra: int = 0) -> Desk:
    """Create and fill a desk at `path` (a data dir); returns it open, acting as alice."""
    db = await Database.open(path / "omnidesk.db")
    desk = Desk(db=db, settings=settings_ or settings(), data_dir=path)
    alice = await factories.agent(desk, "alice", teams=("billing",))
    await factories.agent(desk, "bob")
    channel = await factories.email_channel(desk)
    for subject, name, address, texts, age in THREADS:
        await factories.thread(
            desk, channel, subject=subject, name=name, address=address, texts=texts, start=NOW - age * HOUR
        )
    for i in range(extra):
        await factories.thread(
            desk,
            channel,
            subject=f"Bulk question {i}",
            name=f"Person {i}",
            address=f"p{i}@example.net",
            texts=(f"Question number {i}",),
            start=NOW - (10 + i) * HOUR,
        )
    return replace(desk, agent=alice)
