# ruff: noqa: E501  (sample mail in four scripts)
"""Set-up for the sync daemon tests: Maildirs full of real RFC 5322 mail, desks that watch them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from omnidesk.demo.mailgen import customer_mail, deliver, ensure_maildir
from omnidesk.desk import Desk
from omnidesk.settings import ChannelSettings, DeskSettings, Settings
from omnidesk.store.db import Database
from tests.fakes.smtp_server import free_port

SAMPLES = (
    ("Kovács Bence", "kovacs.bence@posta.example", "Sérült csomag érkezett", "A vízforraló teteje megrepedt."),
    ("王伟", "wang.wei@qq.example", "订单退款问题", "我两周前退回了订单，但是还没有收到退款。"),
    ("مریم احمدی", "maryam@chmail.example", "بازپرداخت سفارش", "لطفاً پیگیری کنید."),
    ("Dilshod Karimov", "dilshod@pochta.example", "Tizimga kira olmayapman", "Parol noto‘g‘ri deb chiqyapti."),
    ("Ann Lee", "ann@mail.example", "Refund please", "Order A-12345 never arrived."),
)


def fill_maildir(path: Path, count: int, *, start: int = 0, prefix: str = "m") -> list[str]:
    """`count` distinct customer mails in `path/new`; their Message-IDs."""
    ensure_maildir(path)
    ids = []
    base = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    for n in range(start, start + count):
        name, address, subject, body = SAMPLES[n % len(SAMPLES)]
        local, domain = address.split("@")
        mid = f"<{prefix}{n}@{domain}>"
        data = customer_mail(sender_name=name, sender=f"{local}{n}@{domain}", to="support@desk.test",
                             subject=f"{subject} {n}", body=f"{body}\n\n#{n}", date=base + timedelta(minutes=n),
                             message_id=mid)
        deliver(path, data, f"{prefix}{n}")
        ids.append(mid)
    return ids


def maildir_channel(name: str, path: Path, *, smtp_port: int | None = None, **extra: Any) -> ChannelSettings:
    options: dict[str, Any] = {"address": "support@desk.test", "path": str(path), "poll_seconds": 0.2, **extra}
    if smtp_port is not None:
        options.update(smtp_host="127.0.0.1", smtp_port=smtp_port, smtp_tls="none")
    return ChannelSettings(name=name, kind="maildir", address="support@desk.test", options=options)


def broken_imap_channel(name: str = "imap") -> ChannelSettings:
    """An email channel whose IMAP server is a closed port: every poll fails."""
    options = {"address": "help@desk.test", "imap_host": "127.0.0.1", "imap_port": free_port(),
               "imap_tls": "none", "username": "help", "password": "x", "timeout_seconds": 2,
               "idle": False, "poll_seconds": 0.2}
    return ChannelSettings(name=name, kind="email", address="help@desk.test", options=options)


async def open_desk_with(path: Path, *channels: ChannelSettings, undo_seconds: float = 0.0) -> Desk:
    db = await Database.open(path / "data" / "omnidesk.db")
    settings = Settings(desk=DeskSettings(undo_seconds=undo_seconds), channels=channels)
    return Desk(db=db, settings=settings, data_dir=path / "data")


def config_toml(path: Path, maildir: Path, *, extra_channels: str = "") -> Path:
    """A config file for subprocess runs of `omnidesk sync`."""
    return desk_toml(path, f"""
[channels.support]
kind = "maildir"
address = "support@desk.test"
path = "{maildir}"
poll_seconds = 0.2
{extra_channels}
""")


def desk_toml(path: Path, channels: str) -> Path:
    """`path/omnidesk.toml`: a desk keeping its data under `path/data`, with the `channels` tables."""
    config = path / "omnidesk.toml"
    config.write_text(f"""
[desk]
name = "sync test"
data_dir = "{path / 'data'}"
{channels}""", "utf-8")
    return config
