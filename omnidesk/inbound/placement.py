"""Who wrote an inbound record and where it goes: the ingest decision, in one place above the store.

The store runs `place` once per record inside the batch's transaction
(omnidesk/store/ingest.py `write_batch`), handing it `Lookups` to ask what it
holds; `place` decides and returns a `Placement` the store writes as told:

- Mail from one of our own addresses (a channel's, an agent's) is a copy of a
  reply sent from elsewhere (a BCC to support@): it is stored as ours, and its
  customer is the first recipient who is not us, created if new. Our address
  writing only to ourselves is an ordinary inbound message.
- A message from an agent's identity of another kind (alice answering from the
  Slack app or Telegram) is stored as hers in the conversation it answers, with
  that conversation's customer; it neither reopens it nor counts as the
  customer's reply. One that answers nothing we hold, with no recipient who is
  not us, is an ordinary inbound message, as for mail.
- Any other sender is looked up; one we have never seen becomes a new customer
  (with no identity when the address was unparsable).
- Other identities the sender showed (`also_known_as`: a phone number shared on
  Telegram, a Slack profile's email) link the sender to the customer who has one
  (with an event saying why), or are added to the sender's customer.
- The conversation follows omnidesk/inbound/threading.py's rules.
- A customer's message that is only a rating ("4", "⭐⭐⭐⭐", 👍) in a conversation
  whose survey waits for one is that survey's answer: it joins the conversation and
  reopens nothing (omnidesk/services/surveys.py asks; docs/reports.md "Surveys").
"""

from __future__ import annotations

from omnidesk.inbound.threading import Facts, Windows, decide
from omnidesk.store.ingest import KnownAs, Lookups, NewCustomer, Placement, PreparedRecord
from omnidesk.store.surveys import Survey
from omnidesk.surveytext import parse_rating

#: The longest text read as a rating ("⭐⭐⭐⭐⭐" with variation selectors, " 10 / 10 ").
MAX_RATING_TEXT = 16


def place(ask: Lookups, rec: PreparedRecord, windows: Windows) -> Placement:
    """Decide the author, the customer and the conversation of one record."""
    address = rec.sender_address
    recipient = None
    answered = None  # the conversation an agent's chat message answers
    own_key = (rec.sender_kind, address or "")
    if address is not None and own_key in ask.own:
        if rec.sender_kind != "email" and rec.thread_refs and not rec.quarantined:
            answered = ask.by_reference(rec.thread_refs)
        if answered is None:
            recipient = _customer_recipient(rec, ask.own)
    ours = recipient is not None or answered is not None
    name = ""
    sender = None
    customer: int | NewCustomer
    if answered is not None:
        customer = answered.customer_id
    elif recipient is not None:
        found = ask.identity("email", recipient["address"])
        recipient_name = recipient.get("display_name", "")
        customer = NewCustomer(recipient_name, "email", recipient["address"], is_author=False)
        if found is not None:
            customer, name = found[1], recipient_name
    else:
        sender = ask.identity(rec.sender_kind, address) if address is not None else None
        if sender is not None:
            customer, name = sender[1], rec.sender_name
        elif address is not None:
            customer = NewCustomer(rec.sender_name, rec.sender_kind, address)
        else:  # unparsable sender: a customer of its own, named by what we were given
            customer = NewCustomer(rec.sender_name or rec.sender_raw[:200])
    known_as: tuple[KnownAs, ...] = ()
    moves_from = None
    if rec.also_known_as and not ours:
        customer, known_as, moves_from = _known_as(ask, rec, customer, sender)
        if moves_from is not None:
            name = rec.sender_name
    customer_id = customer if isinstance(customer, int) else None

    live = not rec.quarantined
    latest = ask.latest(customer_id) if customer_id and rec.chat_like and not rec.thread_refs else None
    decision = decide(Facts(
        at=rec.at,
        sender_customer_id=customer_id,
        sender_identity_id=sender[0] if sender else None,
        chat_like=rec.chat_like,
        has_refs=bool(rec.thread_refs),
        quarantined=rec.quarantined,
        ours=ours,
        automated=rec.automated,
        by_reference=ask.by_reference(rec.thread_refs, rec.scope) if live and rec.thread_refs else None,
        by_token=ask.conversation(rec.token) if live and rec.token else None,
        latest=latest,
    ), windows)
    # A chat rating after a resolve would start a new conversation (rule 3 joins only open ones):
    # it answers the survey of the conversation it would have joined, or of the customer's latest.
    target = decision.conversation_id
    if target is None and latest is not None:
        target = latest.id
    rating = _rating(ask, rec, target) if target is not None and live and not ours else None
    return Placement(
        conversation_id=target if rating is not None else decision.conversation_id,
        rule="survey" if rating is not None else decision.rule,
        customer=customer,
        identity_id=sender[0] if sender else None,
        ours=ours,
        agent_id=ask.own.get(own_key) if ours else None,
        linked_to=decision.linked_to if rating is None else None,
        reopen=decision.reopen and rating is None,
        add_participant=decision.sender_is_participant,
        name=name,
        known_as=known_as,
        identity_moves_from=moves_from,
        rating=rating,
    )


def _rating(ask: Lookups, rec: PreparedRecord, conversation_id: int) -> tuple[Survey, int] | None:
    """(survey, rating) when the record is only a rating and the conversation's survey waits for one."""
    if rec.automated or len(rec.text) > MAX_RATING_TEXT:  # the lookup is skipped for nearly every message
        return None
    survey = ask.survey(conversation_id, rec.at)
    value = parse_rating(rec.text, survey.kind) if survey is not None else None
    return (survey, value) if survey is not None and value is not None else None


def _known_as(ask: Lookups, rec: PreparedRecord, customer: int | NewCustomer,
              sender: tuple[int, int] | None) -> tuple[int | NewCustomer, tuple[KnownAs, ...], int | None]:
    """The sender's other identities (a phone shared on Telegram, a Slack profile's email).

    One that another customer has links the sender to that customer: the sender's identity
    moves there (or is created there), and the record is that customer's. Ones nobody has
    are added to the sender's customer. Returns (customer, identities, moved from: the old
    customer id, -1 for a new identity, None when nothing moved).
    """
    current = customer if isinstance(customer, int) else None
    target: int | None = None
    known: list[KnownAs] = []
    for kind, address, display in rec.also_known_as:
        found = ask.identity(kind, address)
        if found is None:
            known.append(KnownAs(kind, address, display))
        elif target is None and found[1] != current:
            target = found[1]
            known.append(KnownAs(kind, address, display, linked=True))
        # else: the sender's customer's already, or a second other customer's (left to an agent)
    if target is None:
        return customer, tuple(known), None
    return target, tuple(known), current if current is not None and sender is not None else -1


def _customer_recipient(rec: PreparedRecord,
                        own: dict[tuple[str, str], int | None]) -> dict[str, str] | None:
    """The first email recipient who is not the desk itself."""
    for r in rec.recipients:
        if r["kind"] == "email" and r["address"] and ("email", r["address"]) not in own:
            return r
    return None
