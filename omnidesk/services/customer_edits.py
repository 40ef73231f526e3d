"""Changes an agent makes to a customer by hand: identities added and removed, language, time zone, tier.

The same rules as automatic linking: an address is normalised as ingest normalises it
(customers/identity.py), one (kind, address) belongs to one customer, and an address
that is an agent's is the desk's own, never a customer's. Every change is an event on
the customer's timeline.
"""

from __future__ import annotations

import sqlite3

import aiosqlite

from omnidesk.desk import Desk
from omnidesk.errors import NotFound, UserError, shown
from omnidesk.services.actionresult import ActionResult, EventKind, record_event
from omnidesk.store import customers as store_customers
from omnidesk.timeutil import now_ms

#: The longest tier name kept (free text: "gold", "enterprise EU").
MAX_TIER = 64


async def _live_customer(conn: aiosqlite.Connection, customer_id: int) -> sqlite3.Row:
    row = await store_customers.customer_row(conn, customer_id)
    if row is None:
        raise NotFound(f"no such customer: {customer_id}")
    if row["merged_into"] is not None:
        raise UserError(f"customer {customer_id} was merged into {row['merged_into']}",
                        hint=f"change customer {row['merged_into']} instead")
    return row


def _typed(kind: str, address: str) -> str:
    from omnidesk.customers.identity import normalise_typed

    return normalise_typed(kind, address)


async def add_identity(desk: Desk, customer_id: int, kind: str, address: str) -> ActionResult:
    """Give a customer one more identity; one that is another customer's or an agent's is refused."""
    from omnidesk.store.agents import agent_by_identity

    value = _typed(kind, address)
    agent = await agent_by_identity(desk.db, kind, value)
    if agent is not None:
        raise UserError(f"{kind} {shown(value, 80)} is agent {agent.name}'s:"
                        " messages from it are the desk's own")
    now = now_ms()
    async with desk.db.write() as conn:
        await _live_customer(conn, customer_id)
        existing = await store_customers.identity_by_address(conn, kind, value)
        if existing is not None:
            from omnidesk.store.identities import call_sync, current_customer

            owner = await call_sync(conn, current_customer, existing.customer_id)
            if owner == customer_id:
                raise UserError(f"customer {customer_id} already has {kind} {shown(value, 80)}")
            raise UserError(f"{kind} {shown(value, 80)} belongs to customer {owner}",
                            hint=f"if they are one person: omnidesk customer merge {owner}"
                                 f" --into {customer_id}")
        await store_customers.add_identity(conn, customer_id=customer_id, kind=kind, address=value,
                                           display_name="", now=now)
        await store_customers.touch(conn, customer_id, now)
        event = await record_event(conn, desk, EventKind.IDENTITY_ADDED, now, customer_id=customer_id,
                                   after={"kind": kind, "address": value})
    return ActionResult("identity-add", (), (event,), f"Added {kind} {value} to customer {customer_id}")


async def remove_identity(desk: Desk, customer_id: int, kind: str, address: str) -> ActionResult:
    """Take an identity off a customer; their last one is refused (they could not be told apart)."""
    value = _typed(kind, address)
    now = now_ms()
    async with desk.db.write() as conn:
        await _live_customer(conn, customer_id)
        existing = await store_customers.identity_by_address(conn, kind, value)
        if existing is None or existing.customer_id != customer_id:
            raise UserError(f"customer {customer_id} has no {kind} {shown(value, 80)}")
        if await store_customers.identity_count(conn, customer_id) <= 1:
            raise UserError(f"{kind} {shown(value, 80)} is the only identity of customer {customer_id}:"
                            " a customer keeps at least one", hint="add the new one first")
        await store_customers.remove_identity(conn, existing.id)
        await store_customers.touch(conn, customer_id, now)
        before = {"kind": kind, "address": value, "display_name": existing.display_name}
        event = await record_event(conn, desk, EventKind.IDENTITY_REMOVED, now, customer_id=customer_id,
                                   before=before)
    return ActionResult("identity-remove", (), (event,),
                        f"Removed {kind} {value} from customer {customer_id}")


def _language(code: str) -> str:
    from omnidesk.customers.language import is_known

    value = code.strip().lower()
    if not is_known(value):
        raise UserError(f"not a language code: {shown(code)} (expected ISO 639-1, e.g. hu, en, zh, fa)")
    return value


def _timezone(name: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    value = name.strip()
    try:
        if not value or value.startswith(("/", ".")) or ".." in value:
            raise ValueError(value)
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise UserError(f"not a time zone: {shown(name)}"
                        " (expected an IANA name, e.g. Europe/Budapest)") from None
    return value


def _tier(text: str) -> str | None:
    from omnidesk.textsafe import one_line

    value = text.strip()
    if one_line(value) != value:
        raise UserError(f"a tier is one line of plain text, not {shown(text)}")
    if len(value) > MAX_TIER:
        raise UserError(f"a tier is at most {MAX_TIER} characters, not {len(value)}")
    return value or None


async def set_customer(desk: Desk, customer_id: int, *, language: str | None = None,
                       timezone: str | None = None, tier: str | None = None) -> ActionResult:
    """Set language (kept as set by hand: detection no longer changes it), time zone and tier.

    Each value is checked before anything changes; each change is one event. An empty
    language hands the language back to detection; an empty time zone or tier clears it.
    """
    wanted: dict[str, object] = {}
    if language is not None:
        wanted["language"] = _language(language) if language.strip() else None
        wanted["language_manual"] = int(bool(language.strip()))
    if timezone is not None:
        wanted["timezone"] = _timezone(timezone) if timezone.strip() else None
    if tier is not None:
        wanted["tier"] = _tier(tier)
    if not wanted:
        raise UserError("nothing to set: give --language, --timezone or --tier")
    now = now_ms()
    async with desk.db.write() as conn:
        row = await _live_customer(conn, customer_id)
        changed = {k: v for k, v in wanted.items() if row[k] != v}
        await store_customers.set_fields(conn, customer_id, changed, now)
        if "language_manual" in changed:  # by hand now, or back to detection: a change to say
            changed.setdefault("language", row["language"])
        events = [
            await record_event(conn, desk, EventKind.CUSTOMER_SET, now, customer_id=customer_id,
                               before={"field": field, "value": row[field]},
                               after={"field": field, "value": changed[field],
                                      **({"manual": bool(wanted["language_manual"])}
                                         if field == "language" else {})})
            for field in ("language", "timezone", "tier") if field in changed
        ]
    said = ", ".join(f"{k} {wanted[k] if wanted[k] is not None else '(none)'}"
                     for k in ("language", "timezone", "tier") if k in wanted)
    return ActionResult("customer-set", (), tuple(events),
                        f"Customer {customer_id}: {said}" + ("" if changed else " (unchanged)"))
