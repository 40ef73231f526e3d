"""Conversation lists and message search through omnidesk.conversations.reads: every term of the language.

Rows are written with direct SQL (the `Seed` helper below) so each test controls
timestamps and states exactly; the full-text row goes through the store's own
indexing helper when it exists (`omnidesk.store.ingest.index_message`), else
through `textindex.prepare`, which is what that helper feeds the index.
tests/unit/test_search_ingest.py repeats the key cases through the real ingest path.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from omnidesk import textindex
from omnidesk.conversations import reads
from omnidesk.desk import Desk
from omnidesk.errors import UserError
from omnidesk.model import Agent
from omnidesk.query import QueryError
from omnidesk.timeutil import now_ms

try:  # the real helper, once omnidesk/store/ingest.py lands
    from omnidesk.store.ingest import index_message as _index_message
except ImportError:  # pragma: no cover - depends on another helper's progress
    _index_message = None

BASE = 1_790_000_000_000  # epoch ms, mid-2026
MINUTE = 60_000
DAY = 86_400_000


class Seed:
    """Writes test rows where ingest and the services would write them."""

    def __init__(self, desk: Desk) -> None:
        self.db = desk.db
        self._tags: dict[str, int] = {}

    async def _insert(self, sql: str, params: Sequence[object]) -> int:
        async with self.db.write() as conn:
            cursor = await conn.execute(sql, params)
            return int(cursor.lastrowid or 0)

    async def agent(self, name: str) -> Agent:
        agent_id = await self._insert(
            "INSERT INTO agents (name, display_name, created_at) VALUES (?, ?, ?)",
            (name, name.title(), BASE))
        return Agent(id=agent_id, name=name, display_name=name.title())

    async def channel(self, name: str, kind: str = "email") -> int:
        return await self._insert("INSERT INTO channels (name, kind, created_at) VALUES (?, ?, ?)",
                                  (name, kind, BASE))

    async def customer(self, name: str, address: str, kind: str = "email") -> tuple[int, int]:
        """(customer id, identity id)."""
        customer_id = await self._insert(
            "INSERT INTO customers (name, created_at, updated_at) VALUES (?, ?, ?)", (name, BASE, BASE))
        return customer_id, await self.identity(customer_id, address, kind, name)

    async def identity(self, customer_id: int, address: str, kind: str = "email", name: str = "") -> int:
        return await self._insert(
            "INSERT INTO identities (customer_id, kind, address, display_name, created_at)"
            " VALUES (?, ?, ?, ?, ?)", (customer_id, kind, address, name, BASE))

    async def conversation(self, customer_id: int, subject: str = "", *, status: str = "open",
                           priority: str = "normal", assignee: Agent | None = None, team: str | None = None,
                           tags: Sequence[str] = (), channel_id: int | None = None, activity: int = BASE,
                           inbound: int | None = None, sla_due_at: int | None = None,
                           quarantined: bool = False, merged_into: int | None = None,
                           conversation_id: int | None = None) -> int:
        conv_id = await self._insert(
            "INSERT INTO conversations (id, customer_id, subject, status, priority, assignee_id, team,"
            " channel_id, merged_into, quarantined, created_at, last_activity_at, last_inbound_at,"
            " sla_due_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (conversation_id, customer_id, subject, status, priority, assignee.id if assignee else None,
             team, channel_id, merged_into, int(quarantined), activity - DAY, activity, inbound, sla_due_at))
        for tag in tags:
            await self.tag(conv_id, tag)
        return conv_id

    async def tag(self, conversation_id: int, name: str) -> None:
        if name not in self._tags:
            self._tags[name] = await self._insert("INSERT INTO tags (name) VALUES (?)", (name,))
        await self._insert("INSERT INTO conversation_tags (conversation_id, tag_id) VALUES (?, ?)",
                           (conversation_id, self._tags[name]))

    async def message(self, conversation_id: int, text: str, *, subject: str = "", direction: str = "in",
                      author_name: str = "", author_address: str = "", identity_id: int | None = None,
                      channel_id: int | None = None, sent_at: int = BASE, attachment: bool = False) -> int:
        async with self.db.write() as conn:
            cursor = await conn.execute(
                "INSERT INTO messages (conversation_id, channel_id, direction, author_identity_id,"
                " author_name, author_address, subject, text, display_text, sent_at, received_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (conversation_id, channel_id, direction, identity_id, author_name, author_address, subject,
                 text, text, sent_at, sent_at))
            message_id = int(cursor.lastrowid or 0)
            sender = f"{author_name} {author_address}".strip()
            if _index_message is not None:
                await _index_message(conn, message_id, subject, text, sender)
            else:
                await conn.execute(
                    "INSERT INTO message_fts (rowid, subject, body, sender) VALUES (?, ?, ?, ?)",
                    (message_id, textindex.prepare(subject), textindex.prepare(text),
                     textindex.prepare(sender)))
            if attachment:
                await conn.execute(
                    "INSERT INTO attachments (message_id, filename, content_type, size, sha256)"
                    " VALUES (?, 'a.pdf', 'application/pdf', 3, 'abc')", (message_id,))
            await conn.execute("UPDATE conversations SET message_count = message_count + 1 WHERE id = ?",
                               (conversation_id,))
        return message_id

    async def read(self, agent: Agent, conversation_id: int, at: int) -> None:
        await self._insert(
            "INSERT OR REPLACE INTO conversation_reads (agent_id, conversation_id, read_at) VALUES (?, ?, ?)",
            (agent.id, conversation_id, at))


async def ids(desk: Desk, query: str) -> list[int]:
    page = await reads.list_conversations(desk, query, limit=500)
    return [s.id for s in page.items]


async def hit_ids(desk: Desk, query: str) -> list[int]:
    return [h.message_id for h in await reads.search_messages(desk, query, limit=100)]


@pytest.fixture
async def world(desk: Desk):
    """A small desk: two agents, two channels, a handful of conversations in every state."""
    s = Seed(desk)
    w = type("World", (), {})()
    w.seed = s
    w.alice, w.bob = await s.agent("alice"), await s.agent("bob")
    w.email, w.phone = await s.channel("support", "email"), await s.channel("hotline", "phone")
    w.ann, w.ann_ident = await s.customer("Ann Lee", "ann@example.com")
    w.gabor, w.gabor_ident = await s.customer("Gábor Kovács", "gabor@example.hu")
    w.li, w.li_ident = await s.customer("李伟", "li@example.cn")
    t = BASE
    w.open_billing = await s.conversation(w.ann, "Invoice wrong", tags=["billing", "VIP"], assignee=w.alice,
                                          channel_id=w.email, activity=t + 9 * MINUTE, inbound=t + 9 * MINUTE,
                                          priority="high")
    w.pending = await s.conversation(w.gabor, "Csomag", status="pending", assignee=w.bob, channel_id=w.email,
                                     activity=t + 8 * MINUTE, inbound=t + 8 * MINUTE, team="hu")
    w.resolved = await s.conversation(w.li, "退款申请", status="resolved", channel_id=w.phone,
                                      activity=t + 7 * MINUTE, inbound=t + 7 * MINUTE, priority="urgent")
    w.spam = await s.conversation(w.ann, "WIN A PRIZE", status="spam", activity=t + 6 * MINUTE)
    w.merged = await s.conversation(w.ann, "dup", merged_into=w.open_billing, activity=t + 5 * MINUTE)
    w.unassigned = await s.conversation(w.gabor, "", tags=["billing"], activity=t + 4 * MINUTE,
                                        inbound=t + 4 * MINUTE, sla_due_at=t, quarantined=True)
    await s.message(w.open_billing, "My invoice shows the wrong amount, please refund the difference.",
                    subject="Invoice wrong", author_name="Ann Lee", author_address="ann@example.com",
                    identity_id=w.ann_ident, channel_id=w.email, sent_at=t + MINUTE, attachment=True)
    await s.message(w.open_billing, "We are looking into it.", direction="out", author_name="Alice",
                    sent_at=t + 2 * MINUTE, channel_id=w.email)
    await s.message(w.open_billing, "Customer is a VIP, be quick", direction="note", author_name="Alice",
                    sent_at=t + 3 * MINUTE)
    await s.message(w.pending, "Az ügyfélszolgálat nem válaszol, a csomag még mindig nem érkezett meg.",
                    subject="Csomag", author_name="Gábor Kovács", author_address="gabor@example.hu",
                    identity_id=w.gabor_ident, channel_id=w.email, sent_at=t + 4 * MINUTE)
    await s.message(w.resolved, "我想申请退款，订单号 12345。", subject="退款申请", author_name="李伟",
                    author_address="li@example.cn", identity_id=w.li_ident, channel_id=w.phone,
                    sent_at=t + 5 * MINUTE)
    await s.message(w.spam, "refund now click here", subject="WIN A PRIZE", sent_at=t + 6 * MINUTE)
    await s.message(w.unassigned, "=?bad?= unparsable garbage about a delivery", sent_at=t + 7 * MINUTE)
    return w


# -- conversation fields --------------------------------------------------------------------------


async def test_default_list_hides_spam_and_merged_newest_first(desk: Desk, world) -> None:
    assert await ids(desk, "") == [world.open_billing, world.pending, world.resolved, world.unassigned]


async def test_status_terms(desk: Desk, world) -> None:
    assert await ids(desk, "status:open") == [world.open_billing, world.unassigned]
    assert await ids(desk, "status:open,pending") == [world.open_billing, world.pending, world.unassigned]
    assert await ids(desk, "is:pending") == [world.pending]
    assert await ids(desk, "status:spam") == [world.spam]
    assert world.spam in await ids(desk, "status:any")
    assert world.spam in await ids(desk, "-status:open")  # a status term lifts the spam default
    assert world.merged in await ids(desk, "is:merged")
    assert await ids(desk, "-status:resolved -status:spam") == [world.open_billing, world.pending,
                                                                world.unassigned]


async def test_assignee_terms_and_me(desk: Desk, world) -> None:
    alice_desk = desk.as_agent(world.alice)
    assert await ids(alice_desk, "assignee:me") == [world.open_billing]
    assert await ids(alice_desk, "is:mine") == [world.open_billing]
    assert await ids(desk.as_agent(world.bob), "assignee:me") == [world.pending]
    assert await ids(desk, "assignee:bob") == [world.pending]
    assert await ids(desk, "assignee:BOB") == [world.pending]
    assert await ids(desk, "assignee:none") == [world.resolved, world.unassigned]
    assert await ids(desk, "is:unassigned") == [world.resolved, world.unassigned]
    assert await ids(desk, "is:assigned") == [world.open_billing, world.pending]
    assert await ids(desk, "assignee:nobody-by-that-name") == []


async def test_me_without_an_acting_agent_is_a_query_error_naming_the_token(desk: Desk, world) -> None:
    with pytest.raises(QueryError) as info:
        await reads.list_conversations(desk, "status:open assignee:me")
    assert info.value.token == "assignee:me" and info.value.position == 12
    assert "--as" in str(info.value)


async def test_is_unread_is_per_agent(desk: Desk, world) -> None:
    # alice read #open_billing after its last inbound; bob never read anything.
    await world.seed.read(world.alice, world.open_billing, BASE + 10 * MINUTE)
    await world.seed.read(world.alice, world.pending, BASE)  # read before the new inbound: unread again
    alice, bob = desk.as_agent(world.alice), desk.as_agent(world.bob)
    assert await ids(alice, "is:unread") == [world.pending, world.resolved, world.unassigned]
    assert await ids(bob, "is:unread") == [world.open_billing, world.pending, world.resolved,
                                           world.unassigned]
    assert await ids(alice, "is:read") == [world.open_billing]
    page = await reads.list_conversations(alice, "")
    assert {s.id: s.unread for s in page.items}[world.open_billing] is False
    page = await reads.list_conversations(bob, "")
    assert {s.id: s.unread for s in page.items}[world.open_billing] is True
    with pytest.raises(QueryError):
        await reads.list_conversations(desk, "is:unread")  # nobody to be unread for


async def test_tag_channel_team_priority(desk: Desk, world) -> None:
    assert await ids(desk, "tag:billing") == [world.open_billing, world.unassigned]
    assert await ids(desk, "tag:vip") == [world.open_billing]  # tag names are case-insensitive
    assert await ids(desk, "tag:billing -tag:vip") == [world.unassigned]
    assert await ids(desk, "channel:hotline") == [world.resolved]
    assert await ids(desk, "channel:phone") == [world.resolved]  # by kind too
    assert await ids(desk, "channel:email") == [world.open_billing, world.pending]
    assert await ids(desk, "team:hu") == [world.pending]
    assert await ids(desk, "priority:high,urgent") == [world.open_billing, world.resolved]


async def test_from_and_customer(desk: Desk, world) -> None:
    assert await ids(desk, "from:ann@example.com") == [world.open_billing]
    assert await ids(desk, "from:ANN@EXAMPLE.COM") == [world.open_billing]
    assert await ids(desk, "from:example.hu") == [world.pending, world.unassigned]
    assert await ids(desk, "from:nn@example.com") == []  # an address with @ matches exactly
    assert await ids(desk, f"customer:{world.li}") == [world.resolved]
    assert await ids(desk, 'customer:"Ann Lee"') == [world.open_billing]
    assert await ids(desk, "customer:Kovács") == [world.pending, world.unassigned]
    assert await ids(desk, "customer:gabor@") == [world.pending, world.unassigned]


async def test_from_matches_participants_too(desk: Desk, world) -> None:
    colleague = await world.seed.identity(world.ann, "boss@partner.example", name="Boss")
    async with desk.db.write() as conn:
        await conn.execute("INSERT INTO participants (conversation_id, identity_id) VALUES (?, ?)",
                           (world.pending, colleague))
    assert await ids(desk, "from:boss@partner.example") == [world.open_billing, world.pending]


async def test_ticket_number_finds_it_whatever_its_state(desk: Desk, world) -> None:
    assert await ids(desk, f"#{world.pending}") == [world.pending]
    assert await ids(desk, f"#{world.spam}") == [world.spam]
    assert await ids(desk, f"#{world.merged}") == [world.merged]
    assert await ids(desk, f"#{world.pending} OR #{world.resolved}") == [world.pending, world.resolved]
    assert await ids(desk, "#999999") == []


async def test_breached_quarantined_attachment_note(desk: Desk, world) -> None:
    assert await ids(desk, "is:breached") == [world.unassigned]
    assert await ids(desk, "is:quarantined") == [world.unassigned]
    assert await ids(desk, "has:attachment") == [world.open_billing]
    assert await ids(desk, "has:note") == [world.open_billing]


async def test_absolute_dates_compare_last_activity(desk: Desk, world) -> None:
    from datetime import UTC, datetime

    # after: is inclusive of its day, before: exclusive.
    day = datetime.fromtimestamp(BASE / 1000, UTC).strftime("%Y-%m-%d")
    assert len(await ids(desk, f"after:{day}")) == 4
    assert await ids(desk, f"before:{day}") == []
    assert await ids(desk, "before:2030-01-01") == await ids(desk, "")
    stamp = datetime.fromtimestamp((BASE + 8 * MINUTE) / 1000, UTC).strftime("%Y-%m-%dT%H:%M")
    assert await ids(desk, f"after:{stamp}") == [world.open_billing, world.pending]
    assert await ids(desk, f"before:{stamp}") == [world.resolved, world.unassigned]


async def test_relative_dates(desk: Desk) -> None:
    s = Seed(desk)
    cust, _ = await s.customer("Old", "old@example.com")
    now = now_ms()
    fresh = await s.conversation(cust, "fresh", activity=now - 2 * 3_600_000)
    week = await s.conversation(cust, "week", activity=now - 3 * DAY)
    old = await s.conversation(cust, "old", activity=now - 40 * DAY)
    assert await ids(desk, "after:-7d") == [fresh, week]
    assert await ids(desk, "before:-7d") == [old]
    assert await ids(desk, "after:-3h") == [fresh]
    assert await ids(desk, "after:-1d before:-1h") == [fresh]
    assert fresh in await ids(desk, "after:yesterday")


# -- free text --------------------------------------------------------------------------------------


async def test_two_character_chinese_word_is_found(desk: Desk, world) -> None:
    assert await ids(desk, "退款") == [world.resolved]
    hits = await reads.search_messages(desk, "退款")
    assert [h.conversation_id for h in hits] == [world.resolved]
    assert hits[0].snippet[hits[0].highlights[0][0]:hits[0].highlights[0][1]] == "退款"
    assert await ids(desk, "订单") == [world.resolved]
    assert await ids(desk, "退货") == []  # a different two-character word does not match
    assert await ids(desk, "申请退款") == [world.resolved]  # longer words match as a bigram phrase


async def test_accents_are_not_required(desk: Desk, world) -> None:
    assert await ids(desk, "ugyfelszolgalat") == [world.pending]
    assert await ids(desk, "ÜGYFÉLSZOLGÁLAT") == [world.pending]
    assert await ids(desk, "erkezett") == [world.pending]
    hits = await reads.search_messages(desk, "ugyfelszolgalat")
    start, end = hits[0].highlights[0]
    assert hits[0].snippet[start:end] == "ügyfélszolgálat"


async def test_search_by_sender_and_subject(desk: Desk, world) -> None:
    assert await ids(desk, "kovacs") == [world.pending]  # sender column
    assert await ids(desk, "subject:invoice") == [world.open_billing]
    assert await ids(desk, "subject:wrong refund") == [world.open_billing]
    assert await ids(desk, "subject:amount") == []  # only in the body


async def test_words_are_anded_within_a_message(desk: Desk, world) -> None:
    assert await ids(desk, "invoice refund") == [world.open_billing]
    assert await ids(desk, "invoice looking") == []  # in two different messages
    assert await ids(desk, "invoice OR csomag") == [world.open_billing, world.pending]
    assert await ids(desk, "(invoice looking) OR erkezett") == [world.pending]


async def test_quoted_phrases_need_the_words_in_order(desk: Desk, world) -> None:
    assert await ids(desk, '"wrong amount"') == [world.open_billing]
    assert await ids(desk, '"amount wrong"') == []
    assert await ids(desk, '"nem valaszol"') == [world.pending]


async def test_prefix_and_case(desk: Desk, world) -> None:
    assert await ids(desk, "INVOI*") == [world.open_billing]
    assert await ids(desk, "invoi") == []
    assert await ids(desk, "退") == [world.resolved]  # a lone CJK character: prefix of its bigrams


async def test_negated_words_in_lists_mean_no_message_of_the_conversation(desk: Desk, world) -> None:
    assert await ids(desk, "refund") == [world.open_billing]  # the spam one is hidden
    # "looking" is only in the agent's reply, yet it excludes the whole conversation.
    assert await ids(desk, "tag:billing -looking") == [world.unassigned]
    assert await ids(desk, "-refund -退款") == [world.pending, world.unassigned]


async def test_negated_words_in_search_mean_this_message(desk: Desk, world) -> None:
    looking = await hit_ids(desk, "looking")
    assert len(looking) == 1
    # The reply does not contain "invoice", so it is a hit of `looking -invoice` ...
    assert await hit_ids(desk, "looking -invoice") == looking
    # ... and the customer's message is excluded by its own words only.
    assert await hit_ids(desk, "invoice -refund") == []
    assert len(await hit_ids(desk, "-refund status:open")) == 3  # the reply, the note, the garbage


async def test_search_ranks_better_matches_first(desk: Desk) -> None:
    s = Seed(desk)
    cust, ident = await s.customer("Ranker", "r@example.com")
    conv = await s.conversation(cust, "x", activity=BASE)
    filler = " ".join(["lorem ipsum dolor sit amet"] * 40)
    weak = await s.message(conv, f"{filler} battery {filler}", sent_at=BASE + 3,  # newest, weakest
                           identity_id=ident)
    strong = await s.message(conv, "battery battery battery died", subject="Battery problem",
                             sent_at=BASE + 1, identity_id=ident)
    medium = await s.message(conv, "my battery is flat", sent_at=BASE + 2, identity_id=ident)
    hits = await reads.search_messages(desk, "battery")
    assert [h.message_id for h in hits] == [strong, medium, weak]
    assert hits[0].rank > hits[1].rank > hits[2].rank
    # Pinned to a few conversations, search probes those messages and ranks them itself: same order.
    for pinned in (f"battery #{conv}", f"battery customer:{cust}", "battery from:r@example.com"):
        hits = await reads.search_messages(desk, pinned)
        assert [h.message_id for h in hits] == [strong, medium, weak], pinned
        assert hits[0].rank > hits[1].rank > hits[2].rank


async def test_search_filters_by_conversation_terms_and_hides_spam(desk: Desk, world) -> None:
    hits = await reads.search_messages(desk, "refund")
    assert [h.conversation_id for h in hits] == [world.open_billing]
    spam = await reads.search_messages(desk, "refund status:spam")
    assert [h.conversation_id for h in spam] == [world.spam]
    assert await reads.search_messages(desk, "refund status:pending") == []
    assert {h.conversation_id for h in await reads.search_messages(desk, "looking OR csomag")} == {
        world.pending, world.open_billing}
    assert [h.conversation_id for h in await reads.search_messages(desk, "from:gabor@example.hu")] == [
        world.pending]


async def test_search_without_words_lists_newest_messages(desk: Desk, world) -> None:
    hits = await reads.search_messages(desk, f"#{world.open_billing}")
    assert [h.sent_at for h in hits] == sorted((h.sent_at for h in hits), reverse=True)
    assert len(hits) == 3 and all(h.highlights == () for h in hits)


async def test_search_hit_fields_and_snippet_window(desk: Desk) -> None:
    s = Seed(desk)
    cust, _ = await s.customer("Snip", "snip@example.com")
    conv = await s.conversation(cust, "Long one")
    long_text = ("word " * 200) + "needle\nin the\n\nhaystack " + ("tail " * 200)
    mid = await s.message(conv, long_text, subject="Long one", author_name="Snip", sent_at=BASE + 5)
    [hit] = await reads.search_messages(desk, "needle")
    assert (hit.message_id, hit.conversation_id, hit.subject, hit.author, hit.sent_at) == (
        mid, conv, "Long one", "Snip", BASE + 5)
    assert "\n" not in hit.snippet and len(hit.snippet) <= 170
    assert hit.snippet.startswith("…") and hit.snippet.endswith("…")
    (start, end), = hit.highlights
    assert hit.snippet[start:end] == "needle"


async def test_snippet_falls_back_to_quoted_text_then_subject(desk: Desk) -> None:
    s = Seed(desk)
    cust, _ = await s.customer("Q", "q@example.com")
    conv = await s.conversation(cust, "Quoted")
    mid = await s.message(conv, "Thanks!\n> my parcel is lost", subject="Where is it")
    async with desk.db.write() as conn:  # display_text folds the quote away; text keeps it
        await conn.execute("UPDATE messages SET display_text = 'Thanks!' WHERE id = ?", (mid,))
    [hit] = await reads.search_messages(desk, "parcel")
    start, end = hit.highlights[0]
    assert hit.snippet[start:end] == "parcel"
    [hit] = await reads.search_messages(desk, "subject:where")
    assert hit.snippet == "Where is it" and hit.snippet[slice(*hit.highlights[0])] == "Where"


async def test_punctuation_only_words_do_not_break_anything(desk: Desk, world) -> None:
    everything = await ids(desk, "")
    assert await ids(desk, "!!!") == everything
    assert await ids(desk, "refund !!!") == [world.open_billing]
    assert await ids(desk, '"..."') == everything
    assert await ids(desk, "!!! -refund") == [world.pending, world.resolved, world.unassigned]
    assert len(await reads.search_messages(desk, "!!!")) > 0
    assert await hit_ids(desk, "!!! -refund") == await hit_ids(desk, "-refund")


async def test_fts_syntax_in_user_text_is_just_text(desk: Desk, world) -> None:
    s = Seed(desk)
    cust, _ = await s.customer("Fts", "fts@example.com")
    conv = await s.conversation(cust, "x marks")
    await s.message(conv, "please come near: the subject body, x y a b", subject="x marks")
    for text in ['NEAR(a b)', 'subject:"x" body', "a'b", "x^y", "{subject}"]:
        assert await ids(desk, text) == [conv], text
        assert len(await hit_ids(desk, text)) == 1, text
    for text, problem in [("a AND", "AND needs a term"), ("col:", "unknown field")]:
        with pytest.raises(QueryError, match=problem):
            await reads.list_conversations(desk, text)
        with pytest.raises(QueryError, match=problem):
            await reads.search_messages(desk, text)


# -- summaries, counts, ids ---------------------------------------------------------------------


async def test_summaries_carry_what_the_list_shows(desk: Desk, world) -> None:
    page = await reads.list_conversations(desk, "tag:billing")
    first = page.items[0]
    assert first.id == world.open_billing
    assert first.tags == ("billing", "VIP")
    assert (first.assignee, first.customer_name, first.customer_address) == ("alice", "Ann Lee",
                                                                             "ann@example.com")
    assert (first.channel_kind, first.channel_name, first.priority) == ("email", "support", "high")
    assert first.message_count == 3 and first.last_activity_at == BASE + 9 * MINUTE
    no_subject = page.items[1]
    assert no_subject.subject == "" and "garbage" in no_subject.preview


async def test_counts_and_ids_agree_with_lists(desk: Desk, world) -> None:
    await world.seed.read(world.alice, world.open_billing, BASE + 10 * MINUTE)  # up to date
    await world.seed.read(world.alice, world.pending, BASE)  # read before the new inbound: unread again
    alice = desk.as_agent(world.alice)
    queries = ["", "status:open", "tag:billing", "refund", "is:unassigned", "status:any", "is:unread",
               "is:read", "-is:unread", "is:unread is:unassigned", "is:unread OR tag:billing",
               "is:unassigned status:open,pending", "status:spam is:unassigned"]
    counts = await reads.count_conversations(alice, queries)
    for query, count in zip(queries, counts, strict=True):
        listed = await ids(alice, query)
        assert count == len(listed), query
        assert await reads.conversation_ids(alice, query) == listed
    assert counts[queries.index("is:unread")] == 3 and counts[queries.index("is:read")] == 1
    page = await reads.list_conversations(desk, "status:open", with_total=True, limit=1)
    assert page.total == 2 and len(page.items) == 1


@pytest.mark.parametrize(("query", "index"), [
    ("is:unassigned", "conversations_unassigned"),
    ("is:unassigned status:open", "conversations_unassigned"),
    ("is:unread", "conversations_live"),
    ("status:open", "conversations_live"),
    ("", "conversations_live"),
])
async def test_sidebar_counts_read_a_covering_index_not_the_table(desk: Desk, world, query: str,
                                                                   index: str) -> None:
    from omnidesk.query import parse
    from omnidesk.store import search

    alice = desk.as_agent(world.alice)
    compiled = await search.compile_with_lookups(desk.db, parse(query), search.context(alice), counting=True)
    plan = [r[3] for r in await desk.db.fetchall(
        f"EXPLAIN QUERY PLAN SELECT count(*) FROM conversations c WHERE {compiled.where}", compiled.params)]
    assert any(f"COVERING INDEX {index}" in step for step in plan), plan
    assert "SCAN c" not in plan and not any("CORRELATED" in step for step in plan), plan


async def test_bad_queries_raise_query_error_before_any_sql(desk: Desk, world) -> None:
    with pytest.raises(QueryError) as info:
        await reads.count_conversations(desk, ["status:open", "status:nope"])
    assert info.value.token == "status:nope"
    with pytest.raises(QueryError):
        await reads.search_messages(desk, "refund (")
    with pytest.raises(QueryError):
        await reads.conversation_ids(desk, "tag:")


async def test_empty_desk(desk: Desk) -> None:
    page = await reads.list_conversations(desk, "")
    assert page.items == () and page.next_after is None
    assert await reads.search_messages(desk, "refund") == []
    assert await reads.count_conversations(desk, ["", "refund"]) == [0, 0]
    assert await reads.list_conversations(desk, "", limit=0) == reads.Page((), None)


async def test_bad_page_cursor_is_a_user_error(desk: Desk, world) -> None:
    with pytest.raises(UserError, match="bad page cursor"):
        await reads.list_conversations(desk, "", after="garbage")
