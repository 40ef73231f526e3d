"""SLA due times kept current: the one function the services call after a change that moves them.

    await recompute(desk, [12, 13])      # after a reply, a status, priority or tag change, ingest
    await recompute_all(desk)            # every open conversation (a calendar or policy changed)
    await ensure_current(desk)           # recompute_all once when the config differs from last time

Every action that can move a clock (a new customer message, a reply, a status change
(pending and snoozed stop the clock), a priority or tag change, merges) calls
`recompute` with the conversations it changed, after its own transaction. The clock
itself is omnidesk/sla/clock.py; the SQL omnidesk/store/sla.py.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from typing import Any, NamedTuple, ParamSpec, TypeVar

from omnidesk.desk import Desk
from omnidesk.settings import Settings
from omnidesk.sla.hours import BusinessCalendar
from omnidesk.sla.policy import calendar_named
from omnidesk.store import sla as store
from omnidesk.timeutil import now_ms

#: Conversations recomputed per write transaction, so other writers get turns.
BATCH = 5_000

P = ParamSpec("P")
R = TypeVar("R")


def calendar_of(settings: Settings) -> Callable[[str], BusinessCalendar]:
    """Name -> built calendar (cached per spec), for the config's calendars and the always-open one."""
    return functools.partial(calendar_named, settings.calendars)


async def recompute(desk: Desk, conversation_ids: Sequence[int]) -> list[int]:
    """Recompute the SLA clocks of these conversations; returns those whose shown due time changed."""
    if not desk.settings.sla:
        return []  # a desk without policies has no clocks (ensure_current cleared any old ones)
    return await _in_batches(desk, sorted(set(conversation_ids)))


async def _in_batches(desk: Desk, ids: Sequence[int]) -> list[int]:
    """BATCH conversations per write transaction (one, inside a unit of work: it joins the unit)."""
    changed: list[int] = []
    for start in range(0, len(ids), BATCH):
        async with desk.db.write() as conn:
            changed += await store.recompute(conn, ids[start:start + BATCH], desk.settings.sla,
                                             calendar_of(desk.settings))
    return changed


class Recomputed(NamedTuple):
    conversations: int  # looked at
    changed: int  # whose shown due time changed


async def recompute_all(desk: Desk) -> Recomputed:
    """Every conversation that may have a clock, BATCH per transaction, and the config's fingerprint."""
    # Without policies, only clocks left from an earlier configuration need clearing.
    ids = await store.open_ids(desk.db, showing_only=not desk.settings.sla)
    changed = await _in_batches(desk, ids)
    async with desk.db.write() as conn:
        await store.set_fingerprint(conn, fingerprint(desk.settings), now_ms())
    return Recomputed(len(ids), len(changed))


async def ensure_current(desk: Desk) -> Recomputed | None:
    """Recompute everything when the calendars or policies changed since the last time; None if not."""
    if await store.fingerprint(desk.db) == fingerprint(desk.settings):
        return None
    return await recompute_all(desk)


def fingerprint(settings: Settings) -> str:
    """A digest of the calendars and policies, the same across processes for the same config."""

    def plain(value: Any) -> Any:
        if isinstance(value, frozenset | set):
            return sorted(value)
        if isinstance(value, date):
            return value.isoformat()
        raise TypeError(type(value).__name__)  # pragma: no cover - every spec field is one of these

    text = json.dumps([settings.calendars, settings.sla], default=plain, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def recomputes_sla(action: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Decorate a service action (desk first, returning an ActionResult): recompute what it changed,
    in the action's transaction (its own write joins this one), so the two commit together."""

    @functools.wraps(action)
    async def run(*args: P.args, **kwargs: P.kwargs) -> R:
        desk = args[0]
        assert isinstance(desk, Desk)
        if not desk.settings.sla:
            return await action(*args, **kwargs)
        async with desk.db.write():
            result = await action(*args, **kwargs)
            await recompute(desk, getattr(result, "conversation_ids", ()))
        return result

    return run
