"""Times in the store are integer milliseconds since the epoch, UTC."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def to_ms(dt: datetime) -> int:
    """Aware datetime -> epoch ms. A naive datetime is taken as UTC."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def from_ms(ms: int, tz_offset_minutes: int | None = None) -> datetime:
    """Epoch ms -> aware datetime, in the given UTC offset (UTC when None)."""
    tz = UTC if tz_offset_minutes is None else timezone(timedelta(minutes=tz_offset_minutes))
    return datetime.fromtimestamp(ms / 1000, tz)


def offset_minutes(dt: datetime) -> int | None:
    off = dt.utcoffset()
    return None if off is None else int(off.total_seconds() // 60)


def iso(ms: int | None) -> str | None:
    """Epoch ms -> ISO 8601 UTC with a Z, second precision: the machine-readable form."""
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
