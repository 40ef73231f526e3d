"""Read side shared by the CLI and the TUI: lists, timelines, search, counts.

Lists are keyset-paginated (`after` is the opaque `Page.next_after`), so the
TUI's virtual list and `omnidesk list --limit` read only what they show.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from omnidesk.desk import Desk
from omnidesk.model import Agent, Channel, Conversation, ConversationSummary, Customer, OutboxItem, SearchHit


@dataclass(frozen=True, slots=True)
class Page:
    items: tuple[ConversationSummary, ...]
    next_after: str | None  # pass back as `after` for the next page; None at the end
    total: int | None = None  # only when asked for (count is not free)


async def list_conversations(desk: Desk, query: str = "", *, limit: int = 50, after: str | None = None,
                             with_total: bool = False) -> Page:
    """Conversations matching a query (omnidesk/query.py), newest activity first.

    A bad query raises omnidesk.query.QueryError naming the token and position.
    """
    raise NotImplementedError


async def count_conversations(desk: Desk, queries: Sequence[str]) -> list[int]:
    """How many conversations each query matches (sidebar counts)."""
    raise NotImplementedError


async def conversation_ids(desk: Desk, query: str) -> list[int]:
    """Every id a query matches (for `--query` bulk actions and `*` mark-all)."""
    raise NotImplementedError


async def search_messages(desk: Desk, query: str, *, limit: int = 50) -> list[SearchHit]:
    """Message hits for free text (plus conversation filters), ranked, with snippets."""
    raise NotImplementedError


async def get_conversation(desk: Desk, conversation_id: int) -> Conversation:
    """The whole timeline: messages of every channel, notes and events. NotFound if missing."""
    raise NotImplementedError


async def get_customer(desk: Desk, customer_id: int) -> Customer:
    raise NotImplementedError


async def find_customers(desk: Desk, text: str = "", *, limit: int = 50) -> list[Customer]:
    raise NotImplementedError


async def customer_conversations(desk: Desk, customer_id: int) -> list[ConversationSummary]:
    raise NotImplementedError


async def list_agents(desk: Desk) -> list[Agent]:
    raise NotImplementedError


async def list_channels(desk: Desk) -> list[Channel]:
    raise NotImplementedError


async def list_outbox(desk: Desk, *, states: Sequence[str] = ()) -> list[OutboxItem]:
    raise NotImplementedError
