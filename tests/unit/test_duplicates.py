"""Likely duplicate customers: same name, or same email domain and a similar name; suggested only."""

from __future__ import annotations

from omnidesk.customers.duplicates import Suggestion, find, name_key, suggestions
from omnidesk.desk import Desk
from omnidesk.store.identities import call_sync, create_customer, create_identity
from omnidesk.timeutil import now_ms


def test_names_compare_without_case_accents_or_word_order() -> None:
    assert name_key("Kova\u0301cs Anna") == name_key("Kovács Anna")  # decomposed accents too
    assert name_key("Kovács Anna") == name_key("anna  KOVACS")
    assert name_key("زهرا احمدی") == name_key("احمدی زهرا")
    assert name_key("") == ""


def test_pairs_and_their_reasons() -> None:
    people = [
        (1, "Kovács Anna", ["anna@acme.hu"]),
        (2, "Anna Kovacs", ["a.kovacs@gmail.com"]),          # same name, another domain
        (3, "Zahra Ahmadi", ["zahra@acme.ir"]),
        (4, "Zahra Ahmady", ["z.ahmady@acme.ir"]),          # same domain, similar name
        (5, "Li Wei", ["li@acme.ir"]),                      # same domain, another name
        (6, "李伟", []),
        (7, "李伟", ["liwei@example.cn"]),                   # Chinese names are names too
        (8, "", ["x@acme.hu"]), (9, "", ["y@acme.hu"]),      # no name: nothing to compare
    ]
    assert find(people) == [
        Suggestion(1, "Kovács Anna", 2, "Anna Kovacs", "same name"),
        Suggestion(3, "Zahra Ahmadi", 4, "Zahra Ahmady", "same email domain (acme.ir) and a similar name"),
        Suggestion(6, "李伟", 7, "李伟", "same name"),
    ]
    assert find([]) == []


def test_a_big_domain_is_compared_only_within_shared_words() -> None:
    people = [(i, f"Person{i} Family{i}", [f"p{i}@gmail.com"]) for i in range(1, 3001)]
    people += [(5000, "Person7 Family7", ["other@gmail.com"])]
    assert find(people) == [Suggestion(7, "Person7 Family7", 5000, "Person7 Family7", "same name")]


async def _customer(desk: Desk, name: str, email: str | None) -> int:
    async with desk.db.write() as conn:
        cid = await call_sync(conn, create_customer, name, now_ms())
        if email:
            await call_sync(conn, create_identity, cid, "email", email, name, now_ms())
    return cid


async def test_one_customers_suggestions_put_it_first_and_skip_merged_ones(desk: Desk) -> None:
    a = await _customer(desk, "Nagy Éva", "eva@example.hu")
    b = await _customer(desk, "Éva Nagy", None)
    c = await _customer(desk, "Nagy Évi", "evi@example.hu")
    gone = await _customer(desk, "Nagy Éva", None)
    async with desk.db.write() as conn:
        await conn.execute("UPDATE customers SET merged_into = ? WHERE id = ?", (a, gone))
    assert await suggestions(desk, b) == [Suggestion(b, "Éva Nagy", a, "Nagy Éva", "same name")]
    assert [(s.other_id, s.reason) for s in await suggestions(desk, a)] == [
        (b, "same name"), (c, "same email domain (example.hu) and a similar name")]
    assert await suggestions(desk, 999) == []
    assert len(await suggestions(desk)) == 2
