"""Threading rules 1-4 and the [#N] safety rule, as pure decisions (no database)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from omnidesk.inbound.threading import Candidate, Facts, Windows, decide, strip_token, subject_token

HOUR = 3_600_000
DAY = 24 * HOUR
W = Windows.from_settings(continuity_hours=24, reopen_days=7)
T0 = 1_790_000_000_000


def conv(id: int = 7, customer: int = 1, status: str = "open", active: int = T0, resolved: int | None = None,
         participants: frozenset[int] = frozenset()) -> Candidate:
    return Candidate(id, customer, status, active, resolved, participants)


def facts(**kw: object) -> Facts:
    base: dict[str, object] = {"at": T0 + HOUR, "sender_customer_id": 1, "sender_identity_id": 11}
    base.update(kw)
    return Facts(**base)  # type: ignore[arg-type]


def test_windows_from_settings() -> None:
    assert W.continuity_ms == DAY
    assert W.reopen_ms == 7 * DAY


# -- rule 1 -------------------------------------------------------------------------------------


def test_rule1_reply_reference_joins_that_conversation() -> None:
    d = decide(facts(by_reference=conv(7), has_refs=True), W)
    assert (d.conversation_id, d.rule, d.reopen, d.sender_is_participant) == (7, "reference", False, False)


def test_rule1_beats_token_and_continuity() -> None:
    d = decide(facts(by_reference=conv(7), by_token=conv(8), latest=conv(9), chat_like=True), W)
    assert d.conversation_id == 7


def test_rule1_other_sender_joins_as_participant_and_never_replaces_customer() -> None:
    # A CC'd colleague or a list relay answering in the thread.
    d = decide(facts(sender_customer_id=2, sender_identity_id=22, by_reference=conv(7, customer=1)), W)
    assert d.conversation_id == 7
    assert d.sender_is_participant


def test_rule1_unknown_sender_is_participant() -> None:
    d = decide(facts(sender_customer_id=None, sender_identity_id=None, by_reference=conv(7)), W)
    assert d.conversation_id == 7 and d.sender_is_participant


# -- rule 2 and its safety rule ----------------------------------------------------------------------


def test_rule2_token_from_the_customer_joins() -> None:
    d = decide(facts(by_token=conv(123)), W)
    assert (d.conversation_id, d.rule) == (123, "token")


def test_rule2_token_from_a_participant_joins() -> None:
    d = decide(facts(sender_customer_id=5, sender_identity_id=55,
                     by_token=conv(123, participants=frozenset({55}))), W)
    assert (d.conversation_id, d.rule) == (123, "token")


@pytest.mark.parametrize("customer,identity", [(5, 55), (None, None)])
def test_rule2_stranger_with_copied_token_starts_a_linked_conversation(customer, identity) -> None:
    d = decide(facts(sender_customer_id=customer, sender_identity_id=identity, by_token=conv(123)), W)
    assert d.is_new
    assert (d.rule, d.linked_to) == ("token-stranger", 123)
    assert not d.sender_is_participant


def test_rule2_token_from_our_own_address_joins() -> None:
    d = decide(facts(sender_customer_id=None, sender_identity_id=None, ours=True, by_token=conv(123)), W)
    assert d.conversation_id == 123


def test_subject_token_parsing() -> None:
    assert subject_token("Re: Refund [#123]") == 123
    assert subject_token("Re: [#5] Fwd: [#123]") == 123  # the most recent reply's token
    assert subject_token("about #123 and [# 4]") is None
    assert subject_token("") is None
    assert strip_token("Re: Refund  [#123]") == "Re: Refund"
    assert strip_token("退款 [#9] 申请") == "退款 申请"


# -- rule 3 -------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["open", "pending", "snoozed"])
def test_rule3_chat_joins_latest_active_conversation(status: str) -> None:
    d = decide(facts(chat_like=True, latest=conv(9, status=status, active=T0)), W)
    assert (d.conversation_id, d.rule) == (9, "continuity")
    assert d.reopen == (status != "open")


def test_rule3_window_edge() -> None:
    inside = decide(facts(at=T0 + DAY, chat_like=True, latest=conv(9, active=T0)), W)
    outside = decide(facts(at=T0 + DAY + 1, chat_like=True, latest=conv(9, active=T0)), W)
    assert inside.conversation_id == 9
    assert outside.is_new and outside.rule == "new"


@pytest.mark.parametrize("status", ["resolved", "spam"])
def test_rule3_never_joins_resolved_or_spam(status: str) -> None:
    d = decide(facts(chat_like=True, latest=conv(9, status=status, resolved=T0)), W)
    assert d.is_new


def test_rule3_only_for_chat_like_without_refs() -> None:
    assert decide(facts(chat_like=False, latest=conv(9)), W).is_new
    # A chat message that replies to something unknown is not continuity material.
    assert decide(facts(chat_like=True, has_refs=True, latest=conv(9)), W).is_new


# -- rule 4 -------------------------------------------------------------------------------------


def test_rule4_nothing_matches_new_conversation() -> None:
    d = decide(facts(), W)
    assert d.is_new and d.rule == "new" and d.linked_to is None


def test_rule4_reply_to_resolved_within_window_reopens() -> None:
    d = decide(facts(at=T0 + 7 * DAY, by_reference=conv(7, status="resolved", resolved=T0)), W)
    assert (d.conversation_id, d.reopen) == (7, True)


def test_rule4_reply_to_resolved_after_window_starts_linked_conversation() -> None:
    d = decide(facts(at=T0 + 7 * DAY + 1, by_reference=conv(7, status="resolved", resolved=T0)), W)
    assert d.is_new and d.linked_to == 7 and d.rule == "reopen-expired"


def test_rule4_resolved_without_resolved_at_uses_last_activity() -> None:
    d = decide(facts(at=T0 + 8 * DAY, by_token=conv(7, status="resolved", active=T0)), W)
    assert d.is_new and d.linked_to == 7


@pytest.mark.parametrize("status,reopen",
                         [("pending", True), ("snoozed", True), ("open", False), ("spam", False)])
def test_inbound_reply_reopens_pending_and_snoozed(status: str, reopen: bool) -> None:
    d = decide(facts(by_reference=conv(7, status=status)), W)
    assert d.conversation_id == 7 and d.reopen is reopen


def test_our_own_copy_never_reopens_or_splits() -> None:
    d = decide(facts(ours=True, at=T0 + 30 * DAY, by_reference=conv(7, status="resolved", resolved=T0)), W)
    assert d.conversation_id == 7 and not d.reopen and not d.sender_is_participant


def test_quarantined_always_gets_its_own_conversation() -> None:
    d = decide(facts(quarantined=True, by_reference=conv(7), by_token=conv(8), chat_like=True,
                     latest=conv(9)), W)
    assert d.is_new and d.rule == "quarantine"


# -- invariants over arbitrary facts ---------------------------------------------------------------

_statuses = st.sampled_from(["open", "pending", "snoozed", "resolved", "spam"])
_candidates = st.builds(
    Candidate, id=st.integers(1, 5), customer_id=st.integers(1, 3), status=_statuses,
    last_activity_at=st.integers(T0 - 30 * DAY, T0), resolved_at=st.none() | st.integers(T0 - 30 * DAY, T0),
    participant_identity_ids=st.frozensets(st.integers(10, 14), max_size=3),
)
_facts = st.builds(
    Facts, at=st.integers(T0 - 30 * DAY, T0 + 30 * DAY), sender_customer_id=st.none() | st.integers(1, 3),
    sender_identity_id=st.none() | st.integers(10, 14), chat_like=st.booleans(), has_refs=st.booleans(),
    quarantined=st.booleans(), ours=st.booleans(), by_reference=st.none() | _candidates,
    by_token=st.none() | _candidates, latest=st.none() | _candidates,
)


@given(_facts)
def test_decision_invariants(f: Facts) -> None:
    d = decide(f, W)
    candidates = [c for c in (f.by_reference, f.by_token, f.latest) if c is not None]
    if f.quarantined:
        assert d.is_new and d.linked_to is None
    if d.is_new:
        assert not d.reopen and not d.sender_is_participant
        assert d.linked_to is None or d.linked_to in {c.id for c in candidates}
    else:
        assert d.conversation_id in {c.id for c in candidates}
        assert d.linked_to is None
    if d.rule == "token":
        # The safety rule: only the customer, a participant, or the desk itself enters by token.
        tok = f.by_token
        assert tok is not None
        assert f.ours or f.sender_customer_id == tok.customer_id or f.sender_identity_id in \
            tok.participant_identity_ids
    if d.rule == "continuity":
        assert f.chat_like and not f.has_refs
    if f.ours:
        assert not d.reopen and not d.sender_is_participant
    if d.sender_is_participant:
        joined = {"reference": f.by_reference, "token": f.by_token, "continuity": f.latest}[d.rule]
        assert joined is not None and joined.id == d.conversation_id
        assert f.sender_customer_id != joined.customer_id
