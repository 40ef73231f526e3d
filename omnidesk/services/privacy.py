"""A customer's data as a whole: export (GDPR articles 15 and 20), each recorded in the audit log.

What is exported is what the reads show (`customer show`, `show` of each conversation), plus
the customers merged into this one, the customer's own events and the original bytes (raw
messages, attachment blobs). The faces turn it into records and an archive (omnidesk/cli/archive.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from omnidesk.conversations import reads
from omnidesk.desk import Desk
from omnidesk.eventkinds import EventKind
from omnidesk.model import Conversation, ConversationSummary, Customer, Event
from omnidesk.permissions import require
from omnidesk.services.actionresult import record_event
from omnidesk.store import privacy as store_privacy
from omnidesk.store import reads as store_reads
from omnidesk.store import surveys as store_surveys
from omnidesk.timeutil import now_ms


@dataclass(slots=True)
class CustomerData:
    """Everything held about one customer."""

    customer: Customer
    summaries: list[ConversationSummary]
    conversations: list[Conversation]
    merged: list[Customer] = field(default_factory=list)  # customers merged into this one
    events: list[Event] = field(default_factory=list)  # the customers' events outside conversations
    raw: Mapping[int, str] = field(default_factory=dict)  # message id -> raw_sha256
    surveys: list[store_surveys.Asked] = field(default_factory=list)  # CSAT/NPS asked, with answers


async def customer_data(desk: Desk, customer_id: int) -> CustomerData:
    """Read everything held about `customer_id` (leads and admins)."""
    require(desk.agent, "customer.export")
    customer = await reads.get_customer(desk, customer_id)
    summaries = await reads.customer_conversations(desk, customer_id)
    conversations = [await reads.get_conversation(desk, s.id) for s in summaries]
    closure = await store_privacy.merged_closure(desk.db, customer_id)
    merged = [await reads.get_customer(desk, cid) for cid in closure if cid != customer_id]
    events = [e for cid in closure for e in await store_reads.events(desk.db, customer_id=cid)
              if e.conversation_id is None]
    raw = await store_privacy.raw_refs(desk.db, [s.id for s in summaries])
    asked = await store_surveys.of_customers(desk.db, closure)
    return CustomerData(customer, summaries, conversations, merged, events, raw, asked)


async def raw_bytes(desk: Desk, sha: str) -> bytes | None:
    """The bytes of a raw message or an attachment blob; None when not held."""
    from omnidesk.store.rawmail import read_raw

    return await read_raw(desk.db, desk.blob_dir, sha)


async def record_export(desk: Desk, customer_id: int, facts: Mapping[str, object]) -> None:
    """The audit log's line for an export that was written (`facts`: what went out)."""
    require(desk.agent, "customer.export")
    async with desk.db.write() as conn:
        await record_event(conn, desk, EventKind.CUSTOMER_EXPORTED, now_ms(), customer_id=customer_id,
                           after=dict(facts))


async def erase_customer(desk: Desk, customer_id: int) -> store_privacy.ErasedCustomer:
    """Remove a customer's personal data everywhere (leads and admins; docs/privacy.md): the
    database, the full-text index and the blobs no one else refers to, then VACUUM and an
    emptied WAL. The customer stays as "erased customer #N" with anonymous message shells,
    and a `customer_erased` event says who erased them and when."""
    from omnidesk import blobs
    from omnidesk.errors import UserError

    require(desk.agent, "customer.erase")
    customer = await reads.get_customer(desk, customer_id)
    if customer.merged_into is not None:
        raise UserError(f"customer {customer_id} was merged into {customer.merged_into}",
                        hint=f"erase customer {customer.merged_into}: that erases both")
    closure = await store_privacy.merged_closure(desk.db, customer_id)
    async with desk.db.write() as conn:
        erased = await store_privacy.erase_in(conn, closure, customer_id)
        await record_event(conn, desk, EventKind.CUSTOMER_ERASED, now_ms(), customer_id=customer_id,
                           after={"conversations": erased.conversations, "messages": erased.messages})
    for sha in erased.blobs:
        blobs.remove(desk.blob_dir, sha)
    await store_privacy.compact_db(desk.db)
    return erased


async def audit_log(desk: Desk, *, agent: str | None = None, since: int | None = None,
                    kinds: tuple[str, ...] = (), system: bool = False, limit: int = 200) -> list[Event]:
    """Who did what, newest first (leads and admins). `agent` also finds what an admin did as
    another agent (`--as`). Events are only read here: no command changes or deletes one."""
    from omnidesk.errors import UserError
    from omnidesk.eventkinds import EVENT_KINDS
    from omnidesk.store.agents import agent_by_name

    require(desk.agent, "audit.read")
    unknown = sorted(set(kinds) - EVENT_KINDS)
    if unknown:
        raise UserError(f"unknown action {unknown[0]!r}", hint="kinds: " + ", ".join(sorted(EVENT_KINDS)))
    agent_id = None
    if agent is not None:
        found = await agent_by_name(desk.db, agent)
        if found is None:
            raise UserError(f"unknown agent {agent!r}", hint="see `omnidesk agent list`")
        agent_id = found.id
    return await store_reads.audit_events(desk.db, agent_id=agent_id, since=since, kinds=kinds, system=system,
                                          limit=limit)


def _cutoffs(desk: Desk, now: int) -> tuple[int | None, int | None]:
    day = 86_400_000
    r = desk.settings.retention
    return (now - r.raw_mail_days * day if r.raw_mail_days else None,
            now - r.resolved_conversation_days * day if r.resolved_conversation_days else None)


async def retention_plan(desk: Desk, now: int | None = None) -> store_privacy.RetentionPlan:
    """What the `[retention]` policy would remove now (admins, or the system)."""
    require(desk.agent, "retention.run")
    return await store_privacy.plan_retention(desk.db, *_cutoffs(desk, now_ms() if now is None else now))


async def apply_retention(desk: Desk, now: int | None = None) -> store_privacy.RetentionPlan:
    """Remove what the `[retention]` policy says (planned and applied in one transaction, so it is
    what `retention_plan` lists), the blobs no longer referenced, and write one event."""
    from omnidesk import blobs

    require(desk.agent, "retention.run")
    raw_before, resolved_before = _cutoffs(desk, now_ms() if now is None else now)
    if raw_before is None and resolved_before is None:
        return store_privacy.RetentionPlan((), ())
    async with desk.db.write() as conn:
        plan, gone = await store_privacy.retention_in(conn, raw_before, resolved_before)
        if plan.raw or plan.conversations:
            await record_event(conn, desk, EventKind.RETENTION_APPLIED, now_ms(),
                               after={"raw": len(plan.raw), "conversations": len(plan.conversations)})
    for sha in gone:
        blobs.remove(desk.blob_dir, sha)
    return plan
