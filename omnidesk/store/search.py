"""Compile a parsed query (omnidesk/query.py) into SQL + FTS5 MATCH, and run it.

Conversation lists are keyset pages on (last_activity_at DESC, id DESC), the
order of the `conversations_status_activity` and `conversations_activity`
indexes, so a page costs the same on the first screen and the thousandth.

Free text meets the index through omnidesk/store/ftsquery.py (MATCH expressions
split by omnidesk/textindex.py, which also prepared the indexed text, so index and
query split identically; the tokenizer folds case and accents on both sides).
Snippets and highlights are computed above the store (omnidesk/conversations/reads.py with
omnidesk/conversations/highlight.py), from the rows `matching_messages` returns.

Semantics worth knowing (also in docs/cli.md):
- words are ANDed within one message (`refund late` = a message with both);
  in conversation lists a negated word means no message of the conversation
  contains it; in message search it means this message does not;
- without a status term (`status:`, `is:open` ...) or `#N`, spam is hidden, and
  conversations merged away are hidden unless `is:merged` or `#N` is given;
- `after:`/`before:` compare a conversation's last activity (a message's send
  time in message search); `before:` is exclusive, `after:` inclusive.

Message search ranks with bm25 (subject weighted 3, body 1, sender 2). Ranking
every match of a common word over 500k messages costs hundreds of ms, so search
is two-phase: FTS5 walks the matches newest first (rowid order, which it does
without sorting) and stops after SEARCH_CANDIDATES; those are ranked and the
best `limit` returned. Rare words are therefore ranked exactly, and a common
word is ranked among its newest matches, which is what a support desk wants.
When the filters pin a few conversations (`#N`, `customer:`, `from:`), search
starts from their messages instead and leaves ranking the few matches to the
caller (highlight.local_rank).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, NamedTuple

from omnidesk.errors import UserError
from omnidesk.model import STATUSES, ConversationSummary
from omnidesk.query import And, Field, Node, Not, Or, Query, QueryError, Ticket, parse_date, sort_of, walk
from omnidesk.store import reads as store_reads
from omnidesk.timeutil import now_ms

if TYPE_CHECKING:
    from omnidesk.desk import Desk
    from omnidesk.store.db import Database

# Imported where used, not here: `omnidesk list` with no words or dates never needs the
# full-text modules (ftsquery, textindex, highlight) or zoneinfo, and it is started often.

SEARCH_CANDIDATES = 1000
BM25 = "bm25(message_fts, 3.0, 1.0, 2.0)"


class Context(NamedTuple):
    """What compiling needs besides the query: who asks, and when and where.

    This and `Compiled` are NamedTuples, cheaper than dataclasses to define at start-up.
    """

    agent_id: int | None = None
    now_ms: int = 0
    timezone: str = "UTC"

    @property
    def tz(self) -> tzinfo:
        from zoneinfo import ZoneInfo

        try:
            return ZoneInfo(self.timezone)
        except (KeyError, ValueError):  # pragma: no cover - config validates the name
            return ZoneInfo("UTC")


def context(desk: Desk) -> Context:
    """The compile context of a desk: its acting agent, now, and its time zone."""
    return Context(agent_id=desk.agent.id if desk.agent else None, now_ms=now_ms(),
                   timezone=desk.settings.desk.timezone)


class Compiled(NamedTuple):
    where: str
    params: list[object]
    exprs: list[str]


# -- SQL ----------------------------------------------------------------------------------------


def _like(value: str) -> str:
    return "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


Senders = dict[str, tuple[tuple[int, ...], tuple[int, ...]]]  # from: value -> (identity ids, customer ids)
MAX_SENDERS = 2_000  # `from:example.com` on a big desk: keep the id list inside SQLite's limits


async def resolve_senders(db: Database, query: Query) -> Senders:
    """Identities (and their customers) of every `from:` value in the query."""
    out: Senders = {}
    for node in walk(query.root):
        if not isinstance(node, Field) or node.name != "from" or node.value in out:
            continue
        value = node.value
        if "@" in value and not value.startswith("@"):
            where, params = "address = ?", [value.strip().lower()]
        else:
            like = _like(value)
            where, params = "(address LIKE ? ESCAPE '\\' OR display_name LIKE ? ESCAPE '\\')", [like, like]
        rows = await db.fetchall(f"SELECT id, customer_id FROM identities WHERE {where} LIMIT ?",
                                 [*params, MAX_SENDERS])
        out[value] = (tuple(r[0] for r in rows), tuple(sorted({r[1] for r in rows})))
    return out


async def compile_with_lookups(db: Database, query: Query, ctx: Context, *, message_level: bool = False,
                  choose: bool = False, counting: bool = False) -> Compiled:
    """Compile with the lookups done first: senders, and (for pages) the plan for each word."""
    senders = await resolve_senders(db, query)
    compiled = compile_query(query, ctx, message_level=message_level, senders=senders, counting=counting)
    if choose and compiled.exprs:
        plans = await choose_plans(db, compiled.exprs)
        compiled = compile_query(query, ctx, message_level=message_level, senders=senders, plans=plans)
    return compiled


class _Compiler:
    """Turns a tree into a WHERE clause over `c` (conversations) and, for message search, `m`."""

    def __init__(self, ctx: Context, *, message_level: bool, plans: dict[str, str] | None = None,
                 senders: Senders | None = None, counting: bool = False, one: bool = False) -> None:
        self.ctx = ctx
        self.message_level = message_level
        self.one = one  # for one conversation (c.id = ?): every lookup correlated, no list built
        self.counting = counting
        self.plans = plans or {}
        self.senders = senders or {}
        self.params: list[object] = []
        self.exprs: list[str] = []  # every MATCH expression used, for choosing plans

    def p(self, value: object) -> str:
        self.params.append(value)
        return "?"

    def node(self, node: Node) -> str:
        from omnidesk.store.ftsquery import is_text

        if is_text(node, message_level=self.message_level):
            return self.text(node)
        if isinstance(node, Not):
            return f"NOT ({self.node(node.node)})"
        if isinstance(node, Or):
            return "(" + " OR ".join(self.node(n) for n in node.nodes) + ")"
        if isinstance(node, And):
            return self.conjunction(node.nodes)
        if isinstance(node, Ticket):
            return f"c.id = {self.p(node.id)}"
        assert isinstance(node, Field)
        return self.field(node)

    def conjunction(self, nodes: tuple[Node, ...]) -> str:
        from omnidesk.store.ftsquery import partition

        text, rest = partition(nodes, message_level=self.message_level)
        parts = [self.node(n) for n in rest]
        if text is not None:
            parts.append(self.text(text))  # last: cheap column tests run first
        return "(" + " AND ".join(parts) + ")"

    def text(self, node: Node) -> str:
        from omnidesk.store.ftsquery import fts_expr

        expr = fts_expr(node)
        if expr is None:
            return "1"
        self.exprs.append(expr)
        if self.message_level:
            return f"m.id IN (SELECT rowid FROM message_fts WHERE message_fts MATCH {self.p(expr)})"
        plan = PLAN_SEEK if self.one else self.plans.get(expr, PLAN_CONVERSATIONS)
        if plan == PLAN_SEEK:
            return ("EXISTS (SELECT 1 FROM messages tm CROSS JOIN message_fts ON message_fts.rowid = tm.id"
                    f" WHERE tm.conversation_id = c.id AND message_fts MATCH {self.p(expr)})")
        if plan == PLAN_ROWIDS:
            return ("EXISTS (SELECT 1 FROM messages tm WHERE tm.conversation_id = c.id AND tm.id IN"
                    f" (SELECT rowid FROM message_fts WHERE message_fts MATCH {self.p(expr)}))")
        return ("c.id IN (SELECT m.conversation_id FROM message_fts"
                " JOIN messages m ON m.id = message_fts.rowid"
                f" WHERE message_fts MATCH {self.p(expr)})")

    def date(self, node: Field) -> int:
        now = datetime.fromtimestamp(self.ctx.now_ms / 1000, self.ctx.tz)
        try:
            return int(parse_date(node.value, now, self.ctx.tz).timestamp() * 1000)
        except ValueError as exc:  # pragma: no cover - validated by the parser
            raise QueryError(str(exc), f"{node.name}:{node.value}", node.position) from None

    def me(self, node: Field) -> int:
        if self.ctx.agent_id is None:
            raise QueryError("needs an acting agent (configure os_user or pass --as NAME)",
                             f"{node.name}:{node.value}", node.position)
        return self.ctx.agent_id

    def field(self, node: Field) -> str:
        name, value = node.name, node.value
        if name in ("status", "priority"):
            values = value.split(",")
            if "any" in values:
                return "1"
            return f"c.{name} IN ({','.join(self.p(v) for v in values)})"
        if name == "assignee":
            if value == "none":
                return "c.assignee_id IS NULL"
            if value == "me":
                return f"c.assignee_id = {self.p(self.me(node))}"
            return (f"c.assignee_id IN (SELECT id FROM agents WHERE name = {self.p(value)} COLLATE NOCASE"
                    f" OR display_name = {self.p(value)} COLLATE NOCASE)")
        if name == "team":
            return "c.team IS NULL" if value == "none" else f"c.team = {self.p(value)} COLLATE NOCASE"
        if name == "tag":
            if self.one:
                return self.has_tag(value)
            return (f"c.id IN (SELECT ct.conversation_id FROM conversation_tags ct JOIN tags t"
                    f" ON t.id = ct.tag_id WHERE t.name = {self.p(value)})")
        if name == "skill":
            return (f"(EXISTS (SELECT 1 FROM customers sc WHERE sc.id = c.customer_id"
                    f" AND sc.language = {self.p(value)} COLLATE NOCASE)"
                    " OR EXISTS (SELECT 1 FROM messages sm WHERE sm.conversation_id = c.id"
                    f" AND sm.direction = 'in' AND sm.language = {self.p(value)} COLLATE NOCASE)"
                    f" OR {self.has_tag(value)})")
        if name == "channel":
            return (f"c.channel_id IN (SELECT id FROM channels WHERE name = {self.p(value)}"
                    f" OR kind = {self.p(value)})")
        if name == "from":
            return self.one_sender(value) if self.one else self.sender(value)
        if name == "customer":
            if value.isascii() and value.isdigit():
                return f"c.customer_id = {self.p(int(value))}"
            like = _like(value)
            if self.one:
                return (f"(EXISTS (SELECT 1 FROM customers oc WHERE oc.id = c.customer_id AND oc.name LIKE"
                        f" {self.p(like)} ESCAPE '\\') OR EXISTS (SELECT 1 FROM identities oi WHERE"
                        f" oi.customer_id = c.customer_id AND (oi.address LIKE {self.p(like)} ESCAPE '\\'"
                        f" OR oi.display_name LIKE {self.p(like)} ESCAPE '\\')))")
            return (f"c.customer_id IN (SELECT id FROM customers WHERE name LIKE {self.p(like)} ESCAPE '\\'"
                    f" UNION SELECT customer_id FROM identities WHERE address LIKE {self.p(like)} ESCAPE '\\'"
                    f" OR display_name LIKE {self.p(like)} ESCAPE '\\')")
        if name == "lang":
            codes = [v for v in value.split(",") if v != "none"]
            tests = [f"language IN ({','.join(self.p(v) for v in codes)})"] if codes else []
            tests += ["language IS NULL"] if "none" in value.split(",") else []
            return f"c.customer_id IN (SELECT id FROM customers WHERE {' OR '.join(tests)})"
        if name == "is":
            return self.is_(node)
        if name == "has":
            if value == "attachment":
                return ("EXISTS (SELECT 1 FROM messages hm JOIN attachments ha ON ha.message_id = hm.id"
                        " WHERE hm.conversation_id = c.id)")
            return ("EXISTS (SELECT 1 FROM messages hm WHERE hm.conversation_id = c.id"
                    " AND hm.direction = 'note')")
        if name == "sort":
            return "1"  # an order, not a filter (page_ids)
        if name in ("after", "before"):
            column = "m.sent_at" if self.message_level else "c.last_activity_at"
            op = ">=" if name == "after" else "<"
            return f"{column} {op} {self.p(self.date(node))}"
        raise QueryError("field not supported here", f"{name}:{value}", node.position)  # pragma: no cover

    def has_tag(self, value: str) -> str:
        return ("EXISTS (SELECT 1 FROM conversation_tags ct JOIN tags t ON t.id = ct.tag_id"
                f" WHERE ct.conversation_id = c.id AND t.name = {self.p(value)})")

    def one_sender(self, value: str) -> str:
        """`from:` for one conversation: its customer's identities and its participants, probed."""
        exact = "@" in value and not value.startswith("@")

        def test() -> str:  # written twice: parameters are numbered in the order they are written
            if exact:
                return f"fi.address = {self.p(value.strip().lower())}"
            like = _like(value)
            return (f"(fi.address LIKE {self.p(like)} ESCAPE '\\' OR fi.display_name LIKE {self.p(like)}"
                    " ESCAPE '\\')")

        customer = f"EXISTS (SELECT 1 FROM identities fi WHERE fi.customer_id = c.customer_id AND {test()})"
        participant = ("EXISTS (SELECT 1 FROM participants p JOIN identities fi ON fi.id = p.identity_id"
                       f" WHERE p.conversation_id = c.id AND {test()})")
        return f"({customer} OR {participant})"

    def sender(self, value: str) -> str:
        """`from:` an exact address when it has an @ (and a local part), else part of an address or name.

        The identities were looked up beforehand (`resolve_senders`: one scan, not one per use).
        """
        identity_ids, customer_ids = self.senders.get(value, ((), ()))
        # Parameters are numbered in the order they are written: customers come first in the SQL.
        customers = ",".join(self.p(i) for i in customer_ids) or "NULL"
        ids = ",".join(self.p(i) for i in identity_ids) or "NULL"
        conversation = (f"(c.customer_id IN ({customers}) OR c.id IN (SELECT p.conversation_id"
                        f" FROM participants p WHERE p.identity_id IN ({ids})))")
        if self.message_level:  # the conversation test lets the planner start from those conversations
            ids = ",".join(self.p(i) for i in identity_ids) or "NULL"
            return f"{conversation} AND m.author_identity_id IN ({ids})"
        return conversation

    def is_(self, node: Field) -> str:
        value = node.value
        if value in STATUSES:
            return f"c.status = {self.p(value)}"
        if value == "unassigned":
            return "c.assignee_id IS NULL"
        if value == "assigned":
            return "c.assignee_id IS NOT NULL"
        if value == "mine":
            return f"c.assignee_id = {self.p(self.me(node))}"
        if value in ("unread", "read"):
            agent = self.p(self.me(node))
            if self.counting:
                # A count visits every conversation: one lookup of the read mark per row costs about
                # twice the rest of the count (bench/store.py), so the agent's up-to-date marks are
                # collected once and each row only probes that set.
                unread = ("(c.last_inbound_at IS NOT NULL AND c.id NOT IN (SELECT r.conversation_id"
                          " FROM conversation_reads r JOIN conversations rc ON rc.id = r.conversation_id"
                          f" WHERE r.agent_id = {agent} AND r.read_at >= rc.last_inbound_at))")
            else:  # a page stops after a few rows: a lookup per row is cheaper than the whole set
                unread = ("(c.last_inbound_at IS NOT NULL AND c.last_inbound_at > coalesce((SELECT r.read_at"
                          f" FROM conversation_reads r WHERE r.agent_id = {agent}"
                          " AND r.conversation_id = c.id), -1))")
            return unread if value == "unread" else f"NOT {unread}"
        if value == "breached":
            return (f"(c.sla_due_at IS NOT NULL AND c.sla_due_at <= {self.p(self.ctx.now_ms)}"
                    " AND c.status NOT IN ('resolved', 'spam'))")
        if value == "due-soon":
            now = self.ctx.now_ms
            # IS NOT NULL: a comparison with NULL is NULL, and its NOT would drop them from -is:due-soon
            return (f"(c.sla_due_at IS NOT NULL AND c.sla_warn_at IS NOT NULL"
                    f" AND c.sla_due_at > {self.p(now)} AND c.sla_warn_at <= {self.p(now)}"
                    " AND c.status NOT IN ('resolved', 'spam'))")
        if value == "quarantined":
            return "c.quarantined = 1"
        if value == "merged":
            return "c.merged_into IS NOT NULL"
        raise QueryError("unknown is: value", f"is:{value}", node.position)  # pragma: no cover


def default_filter(query: Query) -> str:
    """The implicit filter of a query: hide spam and merged-away conversations unless asked for."""
    nodes = list(walk(query.root))
    asks_status = any(isinstance(n, Ticket) or (isinstance(n, Field) and (
        n.name == "status" or (n.name == "is" and n.value in STATUSES))) for n in nodes)
    asks_merged = any(isinstance(n, Ticket) or (isinstance(n, Field) and n.name == "is"
                                                 and n.value == "merged") for n in nodes)
    parts = []
    if not asks_status:
        parts.append("c.status != 'spam'")
    if not asks_merged:
        parts.append("c.merged_into IS NULL")
    return " AND ".join(parts)


def compile_one(query: Query, ctx: Context) -> Compiled:
    """A WHERE clause over `c` for ONE conversation (the caller adds `c.id = ?`): every lookup
    (tags, words, senders, customers) is a probe of that conversation's rows, never a list of
    all matches, so evaluating a routing rule's query costs the same on any size of desk."""
    compiler = _Compiler(ctx, message_level=False, one=True)
    parts = [compiler.node(query.root)] if query.root is not None else []
    default = default_filter(query)
    if default:
        parts.insert(0, default)
    return Compiled(" AND ".join(parts) or "1", compiler.params, compiler.exprs)


def compile_query(query: Query, ctx: Context, *, message_level: bool = False,
                  plans: dict[str, str] | None = None, senders: Senders | None = None,
                  counting: bool = False) -> Compiled:
    """WHERE clause (over `c`, and `m` when message_level) and its parameters; `counting` for counts."""
    compiler = _Compiler(ctx, message_level=message_level, plans=plans, senders=senders, counting=counting)
    parts = [compiler.node(query.root)] if query.root is not None else []
    default = default_filter(query)
    if default:
        parts.insert(0, default)
    return Compiled(" AND ".join(parts) or "1", compiler.params, compiler.exprs)


# How a conversation list meets a word, by how many messages match it (counted up to a cap, which
# costs well under a millisecond). Measured on 100k conversations / 500k messages (bench/store.py):
# - few matches: collect their conversations, then sort those (cost grows with the matches);
# - many: walk conversations newest first and ask, per conversation, whether one of its messages
#   is in the set of matching message ids (built once; cheap to probe);
# - very many: ask FTS5 per message (a doclist seek); the walk stops after a page of hits, and
#   with that many matches it stops soon. Never used for counts, which must see every match.
PLAN_CONVERSATIONS, PLAN_ROWIDS, PLAN_SEEK = "conversations", "rowids", "seek"
FEW_MATCHES, MANY_MATCHES = 5_000, 100_000


async def choose_plans(db: Database, exprs: list[str]) -> dict[str, str]:
    plans = {}
    for expr in dict.fromkeys(exprs):
        row = await db.fetchone("SELECT count(*) FROM (SELECT 1 FROM message_fts WHERE message_fts MATCH ?"
                                " LIMIT ?)", [expr, MANY_MATCHES + 1])
        n = int(row[0]) if row else 0
        plans[expr] = (PLAN_CONVERSATIONS if n <= FEW_MATCHES else PLAN_ROWIDS if n <= MANY_MATCHES
                       else PLAN_SEEK)
    return plans


# -- conversation lists -------------------------------------------------------------------------


def encode_after(last_activity_at: int, conversation_id: int) -> str:
    return f"{last_activity_at}:{conversation_id}"


def decode_after(after: str) -> tuple[int, int]:
    try:
        activity, _, ident = after.partition(":")
        return int(activity), int(ident)
    except ValueError:
        raise _bad_cursor(after) from None


def _bad_cursor(after: str) -> UserError:
    return UserError(f"bad page cursor {after!r} (pass back Page.next_after unchanged)")


# `sort:due`: pages on (due time, id) with the conversations without one last, by id. Their cursor
# says so ("due:" + time or "-" + ":" + id), so a cursor of one order is never read as the other's.
_DUE_ORDER = " ORDER BY (c.sla_due_at IS NULL), c.sla_due_at, c.id LIMIT ?"


def _encode_due_after(due_at: int | None, conversation_id: int) -> str:
    return f"due:{'-' if due_at is None else due_at}:{conversation_id}"


def _due_keyset(after: str) -> tuple[str, list[object]]:
    kind, _, rest = after.partition(":")
    due, _, ident = rest.partition(":")
    try:
        if kind != "due":
            raise ValueError(kind)
        if due == "-":
            return "(c.sla_due_at IS NULL AND c.id > ?)", [int(ident)]
        at = int(due)
        return ("(c.sla_due_at IS NULL OR c.sla_due_at > ? OR (c.sla_due_at = ? AND c.id > ?))",
                [at, at, int(ident)])
    except ValueError:
        raise _bad_cursor(after) from None


async def _due_page(db: Database, query: Query, ctx: Context, *, limit: int,
                    after: str | None) -> list[tuple[int, int | None]]:
    """(id, sla_due_at) of one page in due order."""
    compiled = await compile_with_lookups(db, query, ctx, choose=True)
    keyset, keyset_params = _due_keyset(after) if after is not None else ("1", [])
    rows = await db.fetchall(f"SELECT c.id, c.sla_due_at FROM conversations c WHERE {keyset}"
                             f" AND {compiled.where}{_DUE_ORDER}", [*keyset_params, *compiled.params, limit])
    return [(r[0], r[1]) for r in rows]


# Without statistics SQLite answers `tag:billing` or `is:unassigned status:open,pending` by
# collecting every match and sorting it (15-25 ms at 100k conversations). So a page first walks
# only the newest WINDOW conversations in activity order (a bounded few ms); if that fills the
# page, the page is exact (every row outside the window is older); if not, the filter is rare
# and collecting its matches is cheap.
WINDOW = 5_000


async def page_ids(db: Database, query: Query, ctx: Context, *, limit: int,
                   after: str | None = None) -> list[tuple[int, int]]:
    """(id, last_activity_at) of one keyset page, newest activity first."""
    compiled = await compile_with_lookups(db, query, ctx, choose=True)
    where, params = compiled.where, list(compiled.params)
    keyset, keyset_params = "1", []
    if after is not None:
        keyset, keyset_params = "(c.last_activity_at, c.id) < (?, ?)", list(decode_after(after))
    order = " ORDER BY c.last_activity_at DESC, c.id DESC LIMIT ?"
    if not compiled.exprs:  # word plans walk (or not) by themselves: see choose_plans
        edge = (f"coalesce((SELECT c.last_activity_at FROM conversations c INDEXED BY conversations_activity"
                f" WHERE {keyset}{order} OFFSET ?), -1)")
        rows = await db.fetchall(
            f"SELECT c.id, c.last_activity_at FROM conversations c INDEXED BY conversations_activity"
            f" WHERE {keyset} AND c.last_activity_at >= {edge} AND {where}{order}",
            [*keyset_params, *keyset_params, 1, WINDOW, *params, limit])
        if len(rows) >= limit:
            return [(r[0], r[1]) for r in rows]
    rows = await db.fetchall(f"SELECT c.id, c.last_activity_at FROM conversations c"
                             f" WHERE {keyset} AND {where}{order}", [*keyset_params, *params, limit])
    return [(r[0], r[1]) for r in rows]


async def list_page(db: Database, query: Query, ctx: Context, *, limit: int, after: str | None = None
                    ) -> tuple[list[ConversationSummary], str | None]:
    """One page of summaries and the cursor of the next page (None at the end)."""
    if limit <= 0:
        return [], None
    by_due = sort_of(query) == "due"
    if by_due:
        rows: list[tuple[int, int | None]] = await _due_page(db, query, ctx, limit=limit + 1, after=after)
    else:
        rows = list(await page_ids(db, query, ctx, limit=limit + 1, after=after))
    more = len(rows) > limit
    rows = rows[:limit]
    items = await store_reads.summaries(db, [r[0] for r in rows], ctx.agent_id)
    next_after = None
    if more and rows:
        last_id, key = rows[-1]
        next_after = _encode_due_after(key, last_id) if by_due else encode_after(key or 0, last_id)
    return items, next_after


async def count(db: Database, query: Query, ctx: Context) -> int:
    compiled = await compile_with_lookups(db, query, ctx, counting=True)
    row = await db.fetchone(f"SELECT count(*) FROM conversations c WHERE {compiled.where}", compiled.params)
    return int(row[0]) if row else 0


async def all_ids(db: Database, query: Query, ctx: Context) -> list[int]:
    compiled = await compile_with_lookups(db, query, ctx)
    rows = await db.fetchall(f"SELECT c.id FROM conversations c WHERE {compiled.where}"
                             " ORDER BY c.last_activity_at DESC, c.id DESC", compiled.params)
    return [r[0] for r in rows]


# -- message search -----------------------------------------------------------------------------


def _driver(query: Query) -> tuple[Node | None, Query]:
    """Split off the top-level full-text part (matched by FTS5 directly) from the filters."""
    from omnidesk.store.ftsquery import is_text, partition

    root = query.root
    if root is None:
        return None, query
    if is_text(root, message_level=True):
        return root, Query(None, query.text)
    if isinstance(root, And):
        driver, rest = partition(root.nodes, message_level=True)
        if driver is not None:
            filters = And(tuple(rest)) if len(rest) > 1 else rest[0] if rest else None
            return driver, Query(filters, query.text)
    return None, query


def _selective(query: Query) -> bool:
    """Does the filter pin down a few conversations (so start from them rather than from the words)?"""
    root = query.root
    nodes = root.nodes if isinstance(root, And) else (root,) if root is not None else ()
    for node in nodes:
        if isinstance(node, Ticket) or (isinstance(node, Field) and node.name in ("customer", "from")):
            return True
        if isinstance(node, Or) and all(isinstance(n, Ticket) for n in node.nodes):
            return True
    return False


_MESSAGE_COLUMNS = ("m.id, m.conversation_id, m.subject, m.text, m.display_text, m.author_name,"
                    " m.author_address, m.sent_at")


class MessageMatches(NamedTuple):
    """Rows of `_MESSAGE_COLUMNS` plus `score` (lower is better) for a message search."""

    rows: list[sqlite3.Row]
    words: Node | None  # the query's free text, which ranks and highlights the rows
    ranked: bool  # False: the matches of a few conversations, for the caller to rank by `words`


async def matching_messages(db: Database, query: Query, ctx: Context, *, limit: int = 50,
                            candidates: int = SEARCH_CANDIDATES) -> MessageMatches:
    """Messages matching `query`, best first when `ranked` (see the module doc for the plan)."""
    from omnidesk.store.ftsquery import fts_expr

    if limit <= 0:
        return MessageMatches([], None, True)
    driver, filters = _driver(query)
    compiled = await compile_with_lookups(db, filters, ctx, message_level=True)
    expr = fts_expr(driver) if driver is not None else None
    selective = _selective(filters)
    if selective:
        # A few conversations (#N, customer:, from:): start from them, not from every match.
        source = "conversations c CROSS JOIN messages m ON m.conversation_id = c.id"
    else:
        source = "messages m JOIN conversations c ON c.id = m.conversation_id"
    if expr is None:
        # No words to rank by: newest matching messages first.
        hits = await db.fetchall(
            f"SELECT {_MESSAGE_COLUMNS}, 0.0 AS score FROM {source} WHERE {compiled.where}"
            " ORDER BY m.id DESC LIMIT ?", [*compiled.params, limit])
    elif not selective:
        # The newest `candidates` matches (FTS5 walks its doclist backwards: no sort), ranked in
        # SQL so only the best `limit` rows reach Python.
        hits = await db.fetchall(
            f"SELECT {_MESSAGE_COLUMNS}, best.score FROM (SELECT m.id AS id, {BM25} AS score"
            " FROM message_fts JOIN messages m ON m.id = message_fts.rowid"
            " JOIN conversations c ON c.id = m.conversation_id"
            f" WHERE message_fts MATCH ? AND {compiled.where}"
            " ORDER BY message_fts.rowid DESC LIMIT ?) best JOIN messages m ON m.id = best.id"
            " ORDER BY best.score, best.id DESC LIMIT ?", [expr, *compiled.params, candidates, limit])
    else:
        # Probe each message of those conversations (cheap without bm25, which recounts the word's
        # whole doclist on every probe), then rank the few matches here (see local_rank).
        found = await db.fetchall(
            f"SELECT m.id FROM {source} CROSS JOIN message_fts ON message_fts.rowid = m.id"
            f" WHERE message_fts MATCH ? AND {compiled.where} ORDER BY m.id DESC LIMIT ?",
            [expr, *compiled.params, candidates])
        if not found:
            return MessageMatches([], driver, True)
        marks = ",".join("?" * len(found))
        rows = await db.fetchall(f"SELECT {_MESSAGE_COLUMNS}, 0.0 AS score FROM messages m"
                                 f" WHERE m.id IN ({marks})", [r[0] for r in found])
        return MessageMatches(rows, driver, False)
    return MessageMatches(hits, driver, True)
