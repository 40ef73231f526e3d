"""Which conversation an inbound message joins: pure decisions, no I/O.

omnidesk/inbound/placement.py asks the store for the facts (the conversation a reply
reference points to, the one a `[#N]` token names, the sender's customer's
latest conversation) and `decide` applies the design's rules to them:

1. A reply to a message we know joins that message's conversation.
2. A `[#N]` subject token joins #N only when the sender is an identity of #N's
   customer or a participant of #N (or us); anyone else starts a new
   conversation linked to #N, so a stranger who copies a token can neither read
   nor enter #N.
3. A chat-like message without reply references joins the customer's latest
   conversation, on any channel, when it is open, pending or snoozed and was
   active within the continuity window. (Snoozed is included beyond the
   design's "open/pending": a customer writing again should wake it.)
4. Otherwise a new conversation. A message joining a resolved conversation
   reopens it within the reopen window; later it starts a new one linked to
   the old. Pending and snoozed conversations reopen on any inbound message.
   Auto-replies and bounces (RFC 3834, RFC 3464) join without reopening.

Quarantined records (unparsable input) always get a conversation of their own:
nothing parsed from them can be trusted to thread.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from omnidesk.model import Candidate

#: `[#123]` as we put it in outgoing subjects (services.queue_reply).
_TOKEN = re.compile(r"\[#(\d{1,18})\]")

CONTINUITY_STATUSES = frozenset({"open", "pending", "snoozed"})
_REOPENS = frozenset({"pending", "snoozed"})


def subject_token(subject: str) -> int | None:
    """The conversation number in a `[#N]` token (the last one, the most recent reply's)."""
    found = _TOKEN.findall(subject or "")
    return int(found[-1]) if found else None


def strip_token(subject: str) -> str:
    """The subject without our `[#N]` tokens, for a new conversation's title."""
    return " ".join(_TOKEN.sub(" ", subject or "").split())


@dataclass(frozen=True, slots=True)
class Facts:
    """Everything `decide` needs about one message, looked up by the store."""

    at: int  # the message's time, epoch ms (clamped to "now" by the caller)
    sender_customer_id: int | None  # None: a sender we have never seen
    sender_identity_id: int | None
    chat_like: bool = False
    has_refs: bool = False
    quarantined: bool = False
    ours: bool = False  # sent by the desk itself (our address, an agent), e.g. a BCC copy
    automated: bool = False  # an auto-reply or a bounce: never reopens, never a participant
    by_reference: Candidate | None = None  # rule 1
    by_token: Candidate | None = None  # rule 2: the conversation named by [#N], if it exists
    latest: Candidate | None = None  # rule 3: the sender's customer's latest conversation


@dataclass(frozen=True, slots=True)
class Windows:
    continuity_ms: int
    reopen_ms: int

    @classmethod
    def from_settings(cls, continuity_hours: float, reopen_days: float) -> Windows:
        return cls(int(continuity_hours * 3_600_000), int(reopen_days * 86_400_000))


@dataclass(frozen=True, slots=True)
class Decision:
    """`conversation_id` None means: create a new conversation (linked to `linked_to`)."""

    conversation_id: int | None
    rule: str  # reference | token | continuity | new | quarantine | token-stranger | reopen-expired
    linked_to: int | None = None
    reopen: bool = False  # set status back to open
    sender_is_participant: bool = False  # joined someone else's conversation: add as participant

    @property
    def is_new(self) -> bool:
        return self.conversation_id is None


def _belongs(facts: Facts, c: Candidate) -> bool:
    return facts.ours or (
        facts.sender_customer_id is not None and facts.sender_customer_id == c.customer_id
    ) or (facts.sender_identity_id is not None and facts.sender_identity_id in c.participant_identity_ids)


def _join(facts: Facts, c: Candidate, rule: str, windows: Windows) -> Decision:
    participant = not facts.ours and facts.sender_customer_id != c.customer_id
    if facts.ours or facts.automated:
        return Decision(c.id, rule)  # our own copies and responders never reopen or split one
    if c.status == "resolved":
        resolved_at = c.resolved_at if c.resolved_at is not None else c.last_activity_at
        if facts.at - resolved_at > windows.reopen_ms:
            return Decision(None, "reopen-expired", linked_to=c.id)
        return Decision(c.id, rule, reopen=True, sender_is_participant=participant)
    return Decision(c.id, rule, reopen=c.status in _REOPENS, sender_is_participant=participant)


def decide(facts: Facts, windows: Windows) -> Decision:
    """Apply threading rules 1-4 (with the token safety rule) to one message's facts."""
    if facts.quarantined:
        return Decision(None, "quarantine")
    if facts.by_reference is not None:
        return _join(facts, facts.by_reference, "reference", windows)
    if facts.by_token is not None:
        if _belongs(facts, facts.by_token):
            return _join(facts, facts.by_token, "token", windows)
        return Decision(None, "token-stranger", linked_to=facts.by_token.id)
    latest = facts.latest
    if (
        facts.chat_like
        and not facts.has_refs
        and latest is not None
        and latest.status in CONTINUITY_STATUSES
        and facts.at - latest.last_activity_at <= windows.continuity_ms
    ):
        return _join(facts, latest, "continuity", windows)
    return Decision(None, "new")
