"""Property tests of the parser: it never fails with anything but QueryError, and it round-trips."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omnidesk.query import (
    FIELD_VALUES,
    FIELDS,
    KEYWORDS,
    And,
    Field,
    Node,
    Not,
    Or,
    QueryError,
    Ticket,
    Word,
    parse,
    unparse,
)

# Text built from the language's own pieces finds far more interesting cases than random unicode.
PIECES = st.sampled_from([
    " ", "  ", "(", ")", "-", '"', "\\", "*", "#", ":", ",", "OR", "AND", "NOT", "or", "status:",
    "status:open", "is:unread", "tag:", "tag:x", "after:", "after:-7d", "before:2026-11-01", "#12",
    "customer:", "refund", "退款", "ügyfél", "بازپرداخت", "x", "\t", "\n", "\u3000", "\u202e",
])
QUERY_TEXT = st.one_of(st.text(max_size=60), st.lists(PIECES, max_size=25).map("".join))


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow])
@given(QUERY_TEXT)
def test_parse_raises_only_query_errors_and_round_trips(text: str) -> None:
    try:
        q = parse(text)
    except QueryError as err:
        assert 0 <= err.position <= len(text)
        assert text[err.position:err.position + len(err.token)] == err.token
        assert str(err)
        return
    again = parse(unparse(q.root))
    assert again == q
    assert unparse(again.root) == unparse(q.root)  # the canonical text is a fixed point


# -- generated trees ------------------------------------------------------------------------------

_word_chars = st.characters(blacklist_categories=("Cs", "Zs", "Zl", "Zp", "Cc"), blacklist_characters='()"\\')


def _plain_word(s: str) -> bool:
    """What the lexer reads back as one Word (not a keyword, field, ticket or negation)."""
    try:
        node = parse(s).root
    except QueryError:
        return False
    return node == Word(s) or node == Word(s.rstrip("*"), prefix=True)


WORDS = st.one_of(
    st.text(_word_chars, min_size=1, max_size=12).filter(lambda s: _plain_word(s) and not s.endswith("*"))
    .map(Word),
    st.text(_word_chars, min_size=1, max_size=12)
    .filter(lambda s: _plain_word(s) and not s.endswith("*"))
    .map(lambda s: Word(s, prefix=True)),
    st.text(min_size=1, max_size=20).filter(lambda s: s.strip() != "").map(lambda s: Word(s, phrase=True)),
)
ENUM_FIELDS = st.one_of(*[
    st.sampled_from(sorted(FIELD_VALUES[name])).map(lambda v, name=name: Field(name, v))
    for name in ("status", "priority", "is", "has")
])
FREE_FIELDS = st.builds(
    Field,
    st.sampled_from(["tag", "channel", "from", "customer", "subject"]),
    st.text(min_size=1, max_size=15).filter(lambda s: s.strip() != ""),
)
DATES = st.builds(Field, st.sampled_from(["after", "before"]),
                  st.sampled_from(["2026-11-01", "today", "yesterday", "-7d", "3h", "2026-01-02T03:04"]))
LEAVES = st.one_of(WORDS, ENUM_FIELDS, FREE_FIELDS, DATES, st.integers(0, 10**12).map(Ticket))


def _normal(node: Node) -> Node:
    """What the parser produces for a tree: nested ANDs/ORs flattened, single children unwrapped."""
    if isinstance(node, Not):
        return Not(_normal(node.node))
    if isinstance(node, And | Or):
        kind = type(node)
        flat: list[Node] = []
        for child in (_normal(c) for c in node.nodes):
            flat.extend(child.nodes if isinstance(child, kind) else (child,))
        return flat[0] if len(flat) == 1 else kind(tuple(flat))
    return node


TREES = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        inner.map(Not),
        st.lists(inner, min_size=2, max_size=4).map(lambda xs: And(tuple(xs))),
        st.lists(inner, min_size=2, max_size=4).map(lambda xs: Or(tuple(xs))),
    ),
    max_leaves=12,
)


@settings(max_examples=800, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(TREES)
def test_any_tree_survives_unparse_then_parse(tree: Node) -> None:
    expected = _normal(tree)
    assert parse(unparse(expected)).root == expected


def test_keywords_and_fields_are_known_to_the_generator() -> None:
    assert set(KEYWORDS) == {"OR", "AND", "NOT"}
    assert {"status", "is", "after"} <= set(FIELDS)
