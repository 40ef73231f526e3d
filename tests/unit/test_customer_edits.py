"""Identities added and removed by hand, and a customer's language, time zone and tier."""

from __future__ import annotations

import pytest

from omnidesk.conversations import reads
from omnidesk.conversations.eventtext import describe
from omnidesk.desk import Desk
from omnidesk.errors import NotFound, UserError
from omnidesk.services import customer_edits, services
from omnidesk.store.agents import insert_agent
from tests.unit import factories


@pytest.fixture
async def adesk(desk: Desk) -> Desk:
    return desk.as_agent(await factories.agent(desk, "alice"))


async def _sentences(desk: Desk, cid: int) -> list[str]:
    entries = (await reads.customer_timeline(desk, cid)).entries
    return [describe(e.event) for e in entries if e.event is not None]


@pytest.mark.parametrize(("kind", "typed", "stored"), [
    ("email", "  Ann.Lee@Example.COM ", "ann.lee@example.com"),
    ("phone", "+36 30 123 4567", "+36301234567"),
    ("phone", "whatsapp:+36301234567", "+36301234567"),
    ("slack", "u0123abc@t0team01", "U0123ABC@T0TEAM01"),
    ("telegram", "005550001", "5550001"),
    ("mastodon", "@Ann@Mastodon.Social", "ann@mastodon.social"),
])
async def test_an_identity_is_added_normalised_as_ingest_would(adesk: Desk, kind: str, typed: str,
                                                               stored: str) -> None:
    cid, _ = await factories.customer(adesk)
    result = await customer_edits.add_identity(adesk, cid, kind, typed)
    assert (kind, stored) in {(i.kind, i.address) for i in (await reads.get_customer(adesk, cid)).identities}
    assert result.event_ids and stored in result.description
    assert any(s.startswith("alice added the ") and stored in s for s in await _sentences(adesk, cid))


@pytest.mark.parametrize(("kind", "typed", "words"), [
    ("phone", "06301234567", r"add a \+country code"),
    ("phone", "+1 2", "not a"),
    ("slack", "U0123ABC", "expected USER@TEAM"),
    ("telegram", "@ann", "expected digits"),
    ("mastodon", "ann", "expected acct@instance"),
    ("email", "not an address", "not an email address"),
])
async def test_a_bad_address_is_one_clear_line(adesk: Desk, kind: str, typed: str, words: str) -> None:
    cid, _ = await factories.customer(adesk)
    with pytest.raises(UserError, match=words) as caught:
        await customer_edits.add_identity(adesk, cid, kind, typed)
    assert "\n" not in str(caught.value)


async def test_an_identity_of_another_customer_names_them_and_suggests_merge(adesk: Desk) -> None:
    ann, _ = await factories.customer(adesk)
    bob, _ = await factories.customer(adesk, name="Bob", address="bob@example.com")
    with pytest.raises(UserError, match=f"email 'bob@example.com' belongs to customer {bob}") as caught:
        await customer_edits.add_identity(adesk, ann, "email", "BOB@example.com")
    assert caught.value.hint == f"if they are one person: omnidesk customer merge {bob} --into {ann}"
    with pytest.raises(UserError, match="already has"):
        await customer_edits.add_identity(adesk, ann, "email", "ann@example.com")
    # merged away: the identity is the target's now, and the message says so
    carol, _ = await factories.customer(adesk, name="Carol", address="carol@example.com")
    await services.merge_customers(adesk, carol, bob)
    with pytest.raises(UserError, match=f"belongs to customer {bob}"):
        await customer_edits.add_identity(adesk, ann, "email", "carol@example.com")
    with pytest.raises(UserError, match=f"customer {carol} was merged into {bob}"):
        await customer_edits.add_identity(adesk, carol, "email", "new@example.com")


async def test_an_agents_identity_is_never_a_customers(adesk: Desk) -> None:
    cid, _ = await factories.customer(adesk)
    await insert_agent(adesk.db, name="bob", identities=[("telegram", "5550001")])
    with pytest.raises(UserError, match="is agent bob's"):
        await customer_edits.add_identity(adesk, cid, "telegram", "5550001")


async def test_remove_keeps_the_messages_and_refuses_the_last_identity(adesk: Desk) -> None:
    mail = await factories.email_channel(adesk)
    t = await factories.thread(adesk, mail, texts=("hello",))
    await customer_edits.add_identity(adesk, t.customer_id, "phone", "+36301234567")
    with pytest.raises(UserError, match="has no phone"):
        await customer_edits.remove_identity(adesk, t.customer_id, "phone", "+36309999999")
    await customer_edits.remove_identity(adesk, t.customer_id, "email", "Ann@example.com")
    customer = await reads.get_customer(adesk, t.customer_id)
    assert [(i.kind, i.address) for i in customer.identities] == [("phone", "+36301234567")]
    conv = await reads.get_conversation(adesk, t.conversation_id)
    assert conv.messages[0].author_address == "ann@example.com"  # the message keeps who wrote it
    with pytest.raises(UserError, match="only identity of customer") as caught:
        await customer_edits.remove_identity(adesk, t.customer_id, "phone", "+36 30 123 4567")
    assert caught.value.hint == "add the new one first"
    assert "alice removed the email address ann@example.com" in await _sentences(adesk, t.customer_id)
    with pytest.raises(NotFound):
        await customer_edits.remove_identity(adesk, 999, "phone", "+36301234567")


async def test_set_validates_each_value_before_changing_anything(adesk: Desk) -> None:
    cid, _ = await factories.customer(adesk)
    for kwargs, words in (
        ({"language": "klingon"}, "not a language code: 'klingon'"),
        ({"language": "hu", "timezone": "Mars/Olympus"}, "not a time zone: 'Mars/Olympus'"),
        ({"timezone": "../../etc/passwd"}, "not a time zone"),
        ({"tier": "gold\x1b[2J"}, "a tier is one line of plain text"),
        ({"tier": "x" * 65}, "a tier is at most 64 characters"),
        ({}, "nothing to set"),
    ):
        with pytest.raises(UserError, match=words) as caught:
            await customer_edits.set_customer(adesk, cid, **kwargs)
        assert "\n" not in str(caught.value)
    customer = await reads.get_customer(adesk, cid)
    assert (customer.language, customer.timezone, customer.tier) == (None, None, None)


async def test_set_writes_one_event_per_change_and_keeps_the_language_manual(adesk: Desk) -> None:
    cid, _ = await factories.customer(adesk)
    result = await customer_edits.set_customer(adesk, cid, language="HU", timezone="Europe/Budapest",
                                               tier="gold")
    assert len(result.event_ids) == 3
    customer = await reads.get_customer(adesk, cid)
    assert (customer.language, customer.timezone, customer.tier, customer.language_manual) == (
        "hu", "Europe/Budapest", "gold", True)
    again = await customer_edits.set_customer(adesk, cid, tier="gold")
    assert again.event_ids == () and "(unchanged)" in again.description
    await customer_edits.set_customer(adesk, cid, tier="platinum")
    sentences = await _sentences(adesk, cid)
    assert "alice set language hu" in sentences
    assert "alice set tier platinum (was gold)" in sentences
    await customer_edits.set_customer(adesk, cid, language="")
    customer = await reads.get_customer(adesk, cid)
    assert customer.language is None and not customer.language_manual
