"""The ingest decision without a database: `place` asks its questions of a table of answers."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import cast

from adapters.base import FLAG_QUARANTINED, Address, Inbound
from omnidesk.inbound.ingest import prepare_records
from omnidesk.inbound.placement import place
from omnidesk.inbound.threading import Windows
from omnidesk.model import Candidate
from omnidesk.store.ingest import Lookups, NewCustomer, Placement, PreparedRecord
from omnidesk.timeutil import to_ms

T = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
W = Windows.from_settings(continuity_hours=24, reopen_days=7)
SUPPORT = "support@example.com"


class Answers:
    """What a store would answer; records every question so a test can see what was asked."""

    def __init__(self, identities: dict[tuple[str, str], tuple[int, int]] | None = None,
                 conversations: dict[int, Candidate] | None = None,
                 references: dict[str, int] | None = None) -> None:
        self.own: dict[tuple[str, str], int | None] = {("email", SUPPORT): None,
                                                       ("email", "agent@example.com"): 7}
        self.identities = identities or {}
        self.conversations = conversations or {}
        self.references = references or {}
        self.asked: list[str] = []

    def identity(self, kind: str, address: str) -> tuple[int, int] | None:
        self.asked.append(f"identity {address}")
        return self.identities.get((kind, address))

    def by_reference(self, refs: tuple[str, ...], scope: str = "") -> Candidate | None:
        self.asked.append("reference")
        found = [self.references[r] for r in refs if r in self.references]
        return self.conversations.get(found[-1]) if found else None

    def conversation(self, conversation_id: int) -> Candidate | None:
        self.asked.append(f"conversation {conversation_id}")
        return self.conversations.get(conversation_id)

    def latest(self, customer_id: int) -> Candidate | None:
        self.asked.append(f"latest {customer_id}")
        return None

    def survey(self, conversation_id: int, at: int) -> None:
        return None  # no survey waits: surveys are tested in test_surveys.py


def record(tmp_path: Path, sender: str, *, name: str = "Ann Lee", subject: str = "Help",
           to: tuple[str, ...] = (SUPPORT,), refs: tuple[str, ...] = (),
           flags: frozenset[str] = frozenset()) -> PreparedRecord:
    inbound = Inbound(external_id="<m@x>", sender=Address("email", sender, name), sent_at=T, text="hi",
                      subject=subject, recipients=tuple(Address("email", a, "Bob Kovács") for a in to),
                      thread_refs=refs, flags=flags)
    [prepared] = prepare_records([inbound], tmp_path, to_ms(T))
    return prepared


def placed(answers: Answers, rec: PreparedRecord) -> Placement:
    return place(cast(Lookups, answers), rec, W)


def test_a_new_sender_becomes_a_new_customer_and_a_new_conversation(tmp_path: Path) -> None:
    answers = Answers()
    placement = placed(answers, record(tmp_path, "Ann@Example.com"))
    assert placement.customer == NewCustomer("Ann Lee", "email", "ann@example.com")
    assert (placement.conversation_id, placement.rule, placement.ours) == (None, "new", False)
    assert answers.asked == ["identity ann@example.com"]


def test_a_known_sender_replying_joins_the_referenced_conversation(tmp_path: Path) -> None:
    answers = Answers(identities={("email", "ann@example.com"): (11, 3)},
                      conversations={5: Candidate(5, 3, "pending", to_ms(T) - 1000)},
                      references={"<first@x>": 5})
    placement = placed(answers, record(tmp_path, "ann@example.com", refs=("<first@x>",)))
    assert (placement.customer, placement.identity_id, placement.name) == (3, 11, "Ann Lee")
    assert (placement.conversation_id, placement.rule, placement.reopen) == (5, "reference", True)


def test_a_copy_of_our_own_reply_belongs_to_its_recipient(tmp_path: Path) -> None:
    answers = Answers()
    placement = placed(answers, record(tmp_path, "agent@example.com", to=(SUPPORT, "bob@example.hu")))
    assert placement.ours and placement.agent_id == 7 and placement.identity_id is None
    assert placement.customer == NewCustomer("Bob Kovács", "email", "bob@example.hu", is_author=False)
    assert answers.asked == ["identity bob@example.hu"]  # the sender (us) is never looked up


def test_our_address_writing_only_to_ourselves_is_an_ordinary_message(tmp_path: Path) -> None:
    placement = placed(Answers(), record(tmp_path, "agent@example.com", to=(SUPPORT,)))
    assert not placement.ours and placement.agent_id is None
    assert placement.customer == NewCustomer("Ann Lee", "email", "agent@example.com")


def test_a_strangers_token_starts_a_linked_conversation(tmp_path: Path) -> None:
    answers = Answers(conversations={9: Candidate(9, 3, "open", to_ms(T))})
    placement = placed(answers, record(tmp_path, "eve@example.com", subject="Re: [#9] refund"))
    assert (placement.conversation_id, placement.rule, placement.linked_to) == (None, "token-stranger", 9)


def test_a_quarantined_record_asks_nothing_about_threads(tmp_path: Path) -> None:
    answers = Answers(conversations={9: Candidate(9, 3, "open", to_ms(T))})
    rec = record(tmp_path, "ann@example.com", subject="[#9]", refs=("<a@x>",),
                 flags=frozenset({FLAG_QUARANTINED}))
    placement = placed(answers, rec)
    assert (placement.conversation_id, placement.rule) == (None, "quarantine")
    assert answers.asked == ["identity ann@example.com"]
