"""Free-text parts of a query (omnidesk/query.py) as FTS5 MATCH expressions.

Query words are split by omnidesk/textindex.py exactly as indexed text was
(CJK bigrams), then quoted, so nothing a user types is read as FTS5 syntax.
Which parts of a tree can become one MATCH is decided here too: positive words
of one AND are matched within one message; in message search negated words
join that MATCH (`a NOT b`), in conversation lists they stay conversation-wide.
"""

from __future__ import annotations

from omnidesk import textindex
from omnidesk.query import And, Field, Node, Not, Or, Word


def _fts_string(tokens: list[str]) -> str:
    return '"' + " ".join(tokens).replace('"', '""') + '"'


def searchable(token: str) -> bool:
    # unicode61 keeps letters, digits and private-use characters; anything else separates.
    return any(ch.isalnum() for ch in token)


def word_fts(word: Word, column: str | None = None) -> str | None:
    """One Word as an FTS5 expression, or None when it has nothing the index can match."""
    tokens = [t for t in textindex.query_tokens(word.text) if searchable(t)]
    if not tokens:
        return None
    prefix = word.prefix or (len(tokens) == 1 and len(tokens[0]) == 1 and textindex.has_cjk(tokens[0]))
    # A lone CJK character is stored only inside bigrams: match it as their prefix.
    expr = _fts_string(tokens) + ("*" if prefix else "")
    return f"{column} : {expr}" if column else expr


def is_text(node: Node, *, message_level: bool) -> bool:
    """Can this subtree be one FTS5 expression? (Negation only inside an AND with a positive part,
    and in message search only: in conversation lists `-word` is conversation-wide.)"""
    if isinstance(node, Word):
        return True
    if isinstance(node, Field):
        return node.name == "subject"
    if isinstance(node, Or):
        return all(is_text(n, message_level=message_level) for n in node.nodes)
    if isinstance(node, And):
        positives = [n for n in node.nodes if not isinstance(n, Not)]
        negatives = [n.node for n in node.nodes if isinstance(n, Not)]
        if negatives and not message_level:
            return False
        if negatives and not any(_constrains(n) for n in positives):
            return False  # `!!! -late` would lose its negation: leave it to SQL
        parts = positives + negatives
        return bool(positives) and all(is_text(n, message_level=message_level) for n in parts)
    return False


def _constrains(node: Node) -> bool:
    """Does a text subtree give FTS5 something to match (not only punctuation)?"""
    return fts_expr(node) is not None


def partition(nodes: tuple[Node, ...], *, message_level: bool) -> tuple[Node | None, list[Node]]:
    """The children of an AND that become one FTS5 expression, and the rest.

    Positive words of one AND are matched within the same message: one MATCH for all.
    In message search the negated words join that MATCH too (`a NOT b`).
    """
    text = [n for n in nodes if is_text(n, message_level=message_level)]
    if message_level and any(_constrains(n) for n in text):
        text += [n for n in nodes if isinstance(n, Not) and is_text(n.node, message_level=True)]
    taken = {id(n) for n in text}
    rest = [n for n in nodes if id(n) not in taken]
    if not text:
        return None, rest
    return (text[0] if len(text) == 1 else And(tuple(text))), rest


def fts_expr(node: Node) -> str | None:
    """The FTS5 expression of a text subtree (see _is_text); None when it matches everything."""
    if isinstance(node, Word):
        return word_fts(node)
    if isinstance(node, Field):
        return word_fts(Word(node.value, phrase=True), column="subject")
    if isinstance(node, Or):
        parts = [fts_expr(n) for n in node.nodes]
        if any(p is None for p in parts):
            return None  # one side matches everything
        return "(" + " OR ".join(f"({p})" for p in parts) + ")"
    assert isinstance(node, And)
    positives = [p for p in (fts_expr(n) for n in node.nodes if not isinstance(n, Not)) if p is not None]
    negatives = [p for p in (fts_expr(n.node) for n in node.nodes if isinstance(n, Not)) if p is not None]
    if not positives:
        return None  # only punctuation left (_is_text keeps negations out of such groups)
    expr = "(" + " AND ".join(f"({p})" for p in positives) + ")"
    for neg in negatives:
        expr = f"{expr} NOT ({neg})"
    return expr
