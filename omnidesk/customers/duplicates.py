"""Likely duplicate customers, suggested to an agent and never merged without one.

Two customers are likely one person when they have the same display name (ignoring
case, accents written either way, word order: `Kovács Anna` and `Anna Kovacs`), or an
email address in the same domain and a similar name (`Zahra Ahmadi` at acme.ir and
`Zahra Ahmady` at acme.ir). Each suggestion says which of the two it is; merging stays
`omnidesk customer merge` (or the console), done by a person.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from itertools import combinations

from omnidesk.customers.identity import display_name
from omnidesk.desk import Desk
from omnidesk.store import customers as store_customers

#: difflib's ratio from which two names (in `name_key` form) count as similar.
SIMILAR = 0.85
#: Customers compared pairwise within one email domain at most (a big free-mail domain is
#: compared only within names that share a word).
_GROUP_LIMIT = 200


@dataclass(frozen=True, slots=True)
class Suggestion:
    """`customer` and `other` are likely one person, for `reason`."""

    customer_id: int
    customer_name: str
    other_id: int
    other_name: str
    reason: str


def name_key(name: str) -> str:
    """`name` compared loosely: case-folded, accents dropped, words sorted."""
    plain = unicodedata.normalize("NFKD", display_name(name).casefold())
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch))
    return " ".join(sorted(plain.split()))


def _domain(address: str) -> str:
    return address.rpartition("@")[2]


Row = tuple[int, str, str, set[str]]  # id, name, name_key, email domains


def _rows(people: Iterable[tuple[int, str, Sequence[str]]]) -> list[Row]:
    return [(cid, name, name_key(name), {_domain(a) for a in emails}) for cid, name, emails in people]


def _reason(a: Row, b: Row) -> str | None:
    """Why `a` and `b` are likely one person, or None."""
    if a[2] and a[2] == b[2]:
        return "same name"
    shared = sorted(a[3] & b[3])
    if shared and _similar(a[2], b[2]):
        return f"same email domain ({shared[0]}) and a similar name"
    return None


def find(people: Iterable[tuple[int, str, Sequence[str]]]) -> list[Suggestion]:
    """Every likely duplicate pair among `people` ((id, name, email addresses)), lower id first.

    Only pairs that share a name or a domain are compared, so a desk of many customers
    is not compared all against all.
    """
    rows = _rows(people)
    by_id = {r[0]: r for r in rows}
    groups: dict[str, list[int]] = {}
    for cid, _, key, domains in rows:
        if key:
            groups.setdefault("name " + key, []).append(cid)
        for domain in domains:
            groups.setdefault("domain " + domain, []).append(cid)
    pairs = {pair for ids in groups.values() for pair in _pairs(ids, by_id)}
    found = []
    for a, b in sorted(pairs):
        reason = _reason(by_id[a], by_id[b])
        if reason is not None:
            found.append(Suggestion(a, by_id[a][1], b, by_id[b][1], reason))
    return found


def _pairs(ids: list[int], by_id: dict[int, Row]) -> Iterable[tuple[int, int]]:
    if len(ids) <= _GROUP_LIMIT:
        return combinations(ids, 2)
    words: dict[str, list[int]] = {}  # a shared word (a surname) is the least a similar name has
    for cid in ids:
        for word in set(by_id[cid][2].split()):
            words.setdefault(word, []).append(cid)
    return sorted({pair for group in words.values() for pair in combinations(group, 2)})


def _similar(a: str, b: str) -> bool:
    return bool(a and b) and SequenceMatcher(None, a, b).ratio() >= SIMILAR


async def suggestions(desk: Desk, customer_id: int | None = None) -> list[Suggestion]:
    """Likely duplicates: every pair on the desk, or one customer's (that customer first)."""
    people = await store_customers.people(desk.db)
    if customer_id is None:
        return find(people)
    rows = _rows(people)
    mine = next((r for r in rows if r[0] == customer_id), None)
    if mine is None:
        return []
    found = []
    for other in rows:
        if other[0] != customer_id and (reason := _reason(mine, other)) is not None:
            found.append(Suggestion(mine[0], mine[1], other[0], other[1], reason))
    return found
