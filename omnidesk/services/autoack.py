"""Automatic acknowledgement of a new conversation's first message, on channels that opt in.

    await acknowledge_new(desk)   # the sync daemon: when it starts, and after each batch that stored messages

A channel with `auto_ack = "MACRO"` answers the first inbound message of each new
conversation with that macro, rendered for the conversation's channel and the customer's
language (omnidesk/services/macro_replies.py), optionally with the top `auto_ack_kb`
knowledge-base suggestions as links, queued through the normal reply path and outbox
(`queue_reply(automatic=True)`: flagged auto-reply, no response for SLA and reports, and
mail says `Auto-Submitted: auto-replied`). An `auto_acknowledged` event records it.

Never answered: auto-replies (Auto-Submitted, X-Autoreply, Precedence auto_reply/bulk/junk,
which the email adapter flags), bounces, mailing lists, our own echoes, quarantined mail,
merged or spam conversations, opted-out addresses, messages written more than MAX_AGE_MS
before now (a first sync of an old mailbox is history), and a sender address that got
`auto_ack_limit` acknowledgements in the last hour on any channel (two robots answering
each other stop there).

Crash safety is an idempotent scan, not a queue: `auto_ack_scan` holds the id of the last
message decided. Each page of first messages above it is decided in one write transaction
with the acknowledgements it queues, their `auto_acks` marks (one per conversation: a
second is a constraint error) and the scan's new position, so a crash before the commit
leaves the messages undecided for the next scan and one after it leaves them done;
re-delivered mail is a duplicate that stores no message. The first scan ever starts at the
newest message: what was stored before is never acknowledged.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import aiosqlite

from adapters.base import FLAG_OWN_ECHO, FLAG_QUARANTINED, NO_AUTO_ANSWER, Address
from omnidesk.customers.consent import opted_out
from omnidesk.desk import Desk
from omnidesk.errors import UserError
from omnidesk.eventkinds import EventKind
from omnidesk.macros.definition import Macro, MacroError, load
from omnidesk.macros.library import macro_folder
from omnidesk.model import Channel
from omnidesk.services import macro_replies
from omnidesk.services.actionresult import record_event
from omnidesk.settings import ChannelSettings
from omnidesk.store import autoack as store
from omnidesk.store.channels import list_channels
from omnidesk.timeutil import now_ms

log = logging.getLogger(__name__)

#: A first message written longer ago than this is history being synced, not a customer waiting.
MAX_AGE_MS = 24 * 3600 * 1000
#: The rate limit's window per sender address.
WINDOW_MS = 3600 * 1000
#: First messages decided in one transaction.
PAGE = 100

_NEVER = NO_AUTO_ANSWER | {FLAG_OWN_ECHO, FLAG_QUARANTINED}


async def acknowledge_new(desk: Desk, *, now: int | None = None) -> list[int]:
    """Acknowledge every new conversation's first message not decided yet; the conversations acknowledged."""
    wanted = {c.name: c for c in desk.settings.channels if c.auto_ack}
    if not wanted:
        return []
    channels = {c.id: wanted[c.name] for c in await list_channels(desk.db) if c.name in wanted}
    if not channels:
        return []
    system = replace(desk, agent=None)  # written by the desk itself: no agent, the desk's name
    ours = _own_addresses(desk, await list_channels(desk.db))
    acknowledged: list[int] = []
    while True:
        async with desk.db.write() as conn:
            after = await store.scanned_to(conn)
            if after is None:  # the first scan: nothing stored before it is acknowledged
                await store.set_scanned_to(conn, await store.last_message_id(conn))
                return acknowledged
            firsts, covered = await store.first_messages(conn, after, list(channels), PAGE)
            at = now_ms() if now is None else now
            for first in firsts:
                settings = channels[first.channel_id]
                why_not = await _refusal(system, conn, first, settings, at, ours)
                if why_not is None:
                    why_not = await _acknowledge(system, first, settings, at)
                if why_not is None:
                    acknowledged.append(first.conversation_id)
                else:
                    log.info("#%d not acknowledged automatically: %s", first.conversation_id, why_not)
            await store.set_scanned_to(conn, covered)
        if len(firsts) < PAGE:
            return acknowledged


async def _refusal(desk: Desk, conn: aiosqlite.Connection, first: store.FirstMessage,
                   settings: ChannelSettings, now: int, ours: frozenset[str]) -> str | None:
    """Why this first message gets no acknowledgement, or None when it gets one."""
    flagged = sorted(first.flags & _NEVER)
    if flagged:
        return "the message is flagged " + ", ".join(flagged)
    if not first.live:
        return "the conversation is merged, quarantined or spam"
    if not first.sender_address:
        return "the message has no sender address"
    if first.sender_address.casefold() in ours:  # our own mailbox or an agent: never answer ourselves
        return "the sender is one of the desk's own addresses"
    if now - first.sent_at > MAX_AGE_MS:
        return "the message was written more than a day ago"
    if await store.acknowledged(conn, first.conversation_id):
        return "acknowledged already"
    stopped = await opted_out(desk, [Address(first.sender_kind, first.sender_address)])
    if stopped is not None:
        return stopped
    sent = await store.sent_to(conn, first.sender_kind, first.sender_address, now - WINDOW_MS)
    if sent >= settings.auto_ack_limit:
        return f"{first.sender_address} got {sent} acknowledgement(s) in the last hour (auto_ack_limit)"
    return None


async def _acknowledge(desk: Desk, first: store.FirstMessage, settings: ChannelSettings,
                       now: int) -> str | None:
    """Queue the acknowledgement with its mark and event (a savepoint of the scan's transaction);
    None when queued, else why not (the savepoint is rolled back: nothing of it stays)."""
    from omnidesk.services.unit import unit_of_work

    try:
        macro = _macro(desk, settings.auto_ack)
        context = await macro_replies.reply_context(desk, first.conversation_id, channel=settings.name)
        prepared = macro_replies.render_for(desk, macro, context)
        links = await _kb_links(desk, first.conversation_id, settings.auto_ack_kb)
        text = prepared.text.rstrip("\n") + ("\n\n" + "\n".join(links) if links else "")
        async with unit_of_work(desk, reason="automatic acknowledgement"):
            result = await macro_replies.send(desk, first.conversation_id, text, macro.actions,
                                              macro=macro.name, channel=prepared.route.channel,
                                              to=prepared.route.to, automatic=True)
            assert result.message_id is not None
            async with desk.db.write() as conn:
                await store.mark(conn, first, result.message_id, now)
                await record_event(conn, desk, EventKind.AUTO_ACKNOWLEDGED, now,
                                   conversation_id=first.conversation_id,
                                   after={"macro": macro.name, "message_id": result.message_id,
                                          "variant": prepared.variant, "language": prepared.language,
                                          "articles": len(links)})
    except UserError as exc:  # MacroError included: a broken macro is reported, never half-sent
        return str(exc)
    return None


def _own_addresses(desk: Desk, channels: list[Channel]) -> frozenset[str]:
    """The desk's addresses (channels', agents' emails and identities), case-folded."""
    found = {c.address for c in channels if c.address}
    for agent in desk.settings.agents:
        found.update(a for a in (agent.email, *(address for _, address in agent.identities)) if a)
    return frozenset(a.casefold() for a in found)


def _macro(desk: Desk, name: str) -> Macro:
    path = macro_folder(desk.settings) / f"{name}.toml"
    if not path.is_file():
        raise MacroError(f"auto_ack: no macro called {name!r} in {path.parent}")
    return load(path)


async def _kb_links(desk: Desk, conversation_id: int, count: int) -> list[str]:
    """`Title: URL` of the top `count` knowledge-base suggestions (only those with a help-centre URL)."""
    if count <= 0:
        return []
    from omnidesk.conversations.reads import get_conversation
    from omnidesk.kb.suggest import for_conversation

    conversation = await get_conversation(desk, conversation_id)
    found = await for_conversation(desk, conversation, limit=count)
    return [link for link in (s.link_text() for s in found) if link]
