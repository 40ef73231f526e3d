"""Which of several texts by language a customer gets: one fallback order for signatures and macros.

The order is the customer's language tag as stored (`pt-br`), its primary subtag
(`pt`), the desk's language (`[desk] language`) and its primary subtag, then a text
for any language (`""`), and last the first text written. Tags compare in lower case.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TypeVar

T = TypeVar("T")

#: A BCP 47-like tag as config and macros write it: `en`, `hu`, `pt-BR`, `zh-Hant`.
LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")


def normal_tag(tag: str | None) -> str:
    """`pt_BR`, ` PT-br ` -> `pt-br`; None -> ``."""
    return (tag or "").strip().replace("_", "-").lower()


def language_order(wanted: str | None, default: str) -> tuple[str, ...]:
    """The tags to try, best first, without repeats, ending with `""` (any language)."""
    tags: list[str] = []
    for tag in (normal_tag(wanted), normal_tag(default)):
        if tag:
            tags += [tag, tag.split("-", 1)[0]]
    return (*dict.fromkeys(tags), "")


def pick(
    texts: Mapping[str, T] | Iterable[tuple[str, T]], wanted: str | None, default: str
) -> tuple[str, T] | None:
    """The (tag, text) the fallback order finds among `texts` (tags in lower case); None when empty."""
    items = list(texts.items() if isinstance(texts, Mapping) else texts)
    by_tag = {normal_tag(tag): (tag, text) for tag, text in reversed(items)}
    for tag in language_order(wanted, default):
        if tag in by_tag:
            return by_tag[tag]
    return items[0] if items else None
