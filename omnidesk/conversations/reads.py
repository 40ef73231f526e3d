"""Read side shared by the CLI and the TUI: lists, timelines, search, counts.

Lists are keyset-paginated (`after` is the opaque `Page.next_after`), so the
TUI's virtual list and `omnidesk list --limit` read only what they show.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from omnidesk.desk import Desk
from omnidesk.errors import NotFound, UserError
from omnidesk.model import (
    Agent,
    Channel,
    Conversation,
    ConversationSummary,
    Customer,
    OutboxItem,
    SearchHit,
    TimelinePage,
)


@dataclass(slots=True)
class Page:
    items: tuple[ConversationSummary, ...]
    next_after: str | None  # pass back as `after` for the next page; None at the end
    total: int | None = None  # only when asked for (count is not free)


async def list_conversations(desk: Desk, query: str = "", *, limit: int = 50, after: str | None = None,
                             with_total: bool = False) -> Page:
    """Conversations matching a query (omnidesk/query.py), newest activity first.

    A bad query raises omnidesk.query.QueryError naming the token and position.
    Without a status term, spam and merged-away conversations are left out.
    """
    from omnidesk.query import parse
    from omnidesk.store import search

    parsed, ctx = parse(query), search.context(desk)
    items, next_after = await search.list_page(desk.db, parsed, ctx, limit=limit, after=after)
    total = await search.count(desk.db, parsed, ctx) if with_total else None
    return Page(tuple(items), next_after, total)


async def count_conversations(desk: Desk, queries: Sequence[str]) -> list[int]:
    """How many conversations each query matches (sidebar counts)."""
    from omnidesk.query import parse
    from omnidesk.store import search

    ctx = search.context(desk)
    parsed = [parse(q) for q in queries]  # all parsed first: a bad one fails before any SQL runs
    return [await search.count(desk.db, q, ctx) for q in parsed]


async def conversation_ids(desk: Desk, query: str) -> list[int]:
    """Every id a query matches (for `--query` bulk actions and `*` mark-all)."""
    from omnidesk.query import parse
    from omnidesk.store import search

    return await search.all_ids(desk.db, parse(query), search.context(desk))


async def search_messages(desk: Desk, query: str, *, limit: int = 50) -> list[SearchHit]:
    """Message hits for free text (plus conversation filters), ranked, with snippets."""
    from omnidesk.conversations.highlight import highlight_terms, local_rank, make_snippet
    from omnidesk.query import parse
    from omnidesk.store import search

    found = await search.matching_messages(desk.db, parse(query), search.context(desk), limit=limit)
    terms = highlight_terms(found.words)
    rows = found.rows if found.ranked else local_rank(found.rows, terms)[:limit]
    out = []
    for r in rows:
        # The folded text first; the full text when the words are only in quotes; else the subject.
        snippet, spans = "", []
        for body in (r["display_text"], r["text"], r["subject"]):
            if body and body.strip():
                snippet, spans = make_snippet(body, terms)
                if spans or not terms:
                    break
        out.append(SearchHit(
            message_id=r["id"], conversation_id=r["conversation_id"], subject=r["subject"],
            author=r["author_name"] or r["author_address"], sent_at=r["sent_at"], snippet=snippet,
            highlights=tuple(spans), rank=-float(r["score"]),
        ))
    return out


async def get_conversation(desk: Desk, conversation_id: int) -> Conversation:
    """The whole timeline: messages of every channel, notes and events. NotFound if missing."""
    from omnidesk.store import reads as store_reads

    agent_id = desk.agent.id if desk.agent is not None else None
    conversation = await store_reads.timeline(desk.db, conversation_id, agent_id)
    if conversation is None:
        raise NotFound(f"no such conversation: #{conversation_id}")
    return conversation


async def get_customer(desk: Desk, customer_id: int) -> Customer:
    """A customer with its identities (a merged-away customer too: `merged_into` says where)."""
    from omnidesk.store.customers import get_customer as load_customer

    customer = await load_customer(desk.db, customer_id)
    if customer is None:
        raise NotFound(f"no such customer: {customer_id}")
    return customer


async def find_customers(desk: Desk, text: str = "", *, limit: int = 50) -> list[Customer]:
    """Customers whose name or an address contains `text` (all when empty), recently changed first.

    Merged-away customers are left out.
    """
    from omnidesk.store.customers import find_customers as search_customers

    return await search_customers(desk.db, text.strip(), limit=limit)


async def customer_conversations(desk: Desk, customer_id: int) -> list[ConversationSummary]:
    """Every conversation of a customer (any status, merged-away ones too), newest activity first."""
    from omnidesk.store import reads as store_reads

    await get_customer(desk, customer_id)
    ids = await store_reads.customer_conversation_ids(desk.db, customer_id)
    return await store_reads.summaries(desk.db, ids, desk.agent.id if desk.agent is not None else None)


async def customer_timeline(desk: Desk, customer_id: int, *, limit: int = 50, before: str | None = None,
                            after: str | None = None) -> TimelinePage:
    """One page of the customer's whole story (every message, note, call and event of all their
    conversations and channels), oldest first: the newest `limit` entries, or those before or
    after a page's `older`/`newer` token (`TIMELINE_START` as `after`: from the very first)."""
    from omnidesk.conversations.eventtext import MESSAGE_EVENTS
    from omnidesk.store import customer_timeline as store_timeline

    await get_customer(desk, customer_id)
    keys = [None if t is None else store_timeline.parse_key(t) for t in (before, after)]
    for token, key in zip((before, after), keys, strict=True):
        if token is not None and key is None:
            raise UserError(f"not a timeline page token: {token!r}")
    return await store_timeline.page(desk.db, customer_id, limit=limit, before=keys[0], after=keys[1],
                                    hidden=tuple(sorted(MESSAGE_EVENTS)))


#: Pass as `after` to read a customer's timeline from its first entry.
TIMELINE_START = "-9223372036854775808:0:0"  # store.customer_timeline.START


async def list_agents(desk: Desk) -> list[Agent]:
    from omnidesk.store.agents import list_agents as load_agents

    return await load_agents(desk.db)


async def list_channels(desk: Desk) -> list[Channel]:
    from omnidesk.store.channels import list_channels as load_channels

    return await load_channels(desk.db)


async def list_outbox(desk: Desk, *, states: Sequence[str] = ()) -> list[OutboxItem]:
    """Outbox rows, newest first; `states` filters (queued, sending, sent, failed, cancelled)."""
    from omnidesk.store import reads as store_reads

    known = ("queued", "sending", "sent", "failed", "cancelled")
    bad = [s for s in states if s not in known]
    if bad:
        raise UserError(f"unknown outbox state {bad[0]!r}: use one of {', '.join(known)}")
    return await store_reads.outbox(desk.db, list(states))
