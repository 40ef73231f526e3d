"""Snippets, highlight spans and small-set ranking for message search, in plain Python.

The FTS table is contentless (it holds prepared text, not the message), so
FTS5's snippet() and highlight() cannot work: snippets come from the stored
text, matched the way the tokenizer folds (case and accents), one output
character per input character so offsets line up with the original.
"""

from __future__ import annotations

import re
import unicodedata

from omnidesk import textindex
from omnidesk.query import And, Field, Node, Or, Word
from omnidesk.store.ftsquery import searchable

SNIPPET_CHARS = 160


def local_rank(rows: list, terms: list[tuple[str, bool]]) -> list:
    """Rank a handful of messages in Python, BM25-style (same column weights, no IDF).

    Used when the messages come from a few conversations: FTS5's bm25() would recount each
    word's whole doclist for every probed message. Returns dicts whose "score" is the negated
    rank, as bm25() gives it.
    """
    k1, b = 1.2, 0.75
    docs = []
    for r in rows:
        columns = (r["subject"] or "", r["display_text"] or r["text"] or "",
                   f"{r['author_name']} {r['author_address']}")
        docs.append((dict(r), [len(_WORD.findall(c)) or 1 for c in columns], columns))
    if not docs:
        return []
    avg = [sum(d[1][i] for d in docs) / len(docs) for i in range(3)]
    ranked = []
    for row, lengths, columns in docs:
        score = 0.0
        for weight, length, average, text in zip((3.0, 1.0, 2.0), lengths, avg, columns, strict=True):
            tf = len(find_spans(text, terms))
            score += weight * tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / average)) if tf else 0.0
        row["score"] = -score  # bm25() convention: lower is better
        ranked.append(row)
    ranked.sort(key=lambda r: (r["score"], -r["id"]))
    return ranked


class _FoldTable(dict):
    """str.translate table, filled on first sight of each character: NFKD, drop marks, lower."""

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c)).lower()
        folded = base[:1] or ch  # exactly one character out, so offsets line up
        self[code] = folded
        return folded


_FOLD = _FoldTable()


def fold(text: str) -> str:
    """Case- and accent-folded, one output character per input character (offsets line up)."""
    return text.translate(_FOLD)


def highlight_terms(node: Node | None) -> list[tuple[str, bool]]:
    """(folded term, is_prefix) for every positive word of the full-text part."""
    if node is None:
        return []
    terms: list[tuple[str, bool]] = []
    for n in _positive_words(node):
        tokens = [t for t in textindex.query_tokens(n.text) if searchable(t)]
        if any(textindex.has_cjk(t) for t in tokens):
            terms.append((fold(n.text.strip()), False))  # CJK: the word as written, as a substring
            continue
        for t in tokens:
            for part in re.findall(r"\w+", fold(t)):
                terms.append((part, n.prefix))
    return terms


def _positive_words(node: Node):
    if isinstance(node, Word):
        yield node
    elif isinstance(node, Field) and node.name == "subject":
        yield Word(node.value, phrase=True)
    elif isinstance(node, And | Or):
        for child in node.nodes:
            yield from _positive_words(child)


_WORD = re.compile(r"\w+")


def find_spans(text: str, terms: list[tuple[str, bool]]) -> list[tuple[int, int]]:
    """Where the terms occur in text: whole words (or word starts for prefixes); CJK as substrings."""
    if not terms:
        return []
    folded = fold(text)
    spans: set[tuple[int, int]] = set()
    for term, prefix in terms:
        if not term:
            continue
        if textindex.has_cjk(term):
            start = folded.find(term)
            while start != -1:
                spans.add((start, start + len(term)))
                start = folded.find(term, start + 1)
            continue
        for m in _WORD.finditer(folded):
            word = m.group()
            if word == term or (prefix and word.startswith(term)):
                spans.add((m.start(), m.end()))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def make_snippet(text: str, terms: list[tuple[str, bool]], width: int = SNIPPET_CHARS
                 ) -> tuple[str, list[tuple[int, int]]]:
    """A one-line window of `text` around the first match, and the match spans within it."""
    flat = " ".join(text.split())  # one line: newlines and runs of spaces become one space
    spans = find_spans(flat, terms)
    start = 0
    if spans and spans[0][0] > width // 3:
        start = spans[0][0] - width // 3
        space = flat.rfind(" ", 0, start + 1)
        start = space + 1 if space != -1 and start - space < 20 else start
    end = min(len(flat), start + width)
    if end < len(flat):
        space = flat.rfind(" ", start, end)
        end = space if space > start + width // 2 else end
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(flat) else ""
    shift = len(prefix) - start
    inside = [(s + shift, e + shift) for s, e in spans if s >= start and e <= end]
    return prefix + flat[start:end] + suffix, inside
