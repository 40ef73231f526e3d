"""How text is split for the full-text index, and how query words are split to match it.

FTS5's `unicode61` tokenizer keeps a run of Han (or kana, or Hangul) characters
as one token, so `退款` would only match a message whose whole run is exactly
`退款`. Like Lucene's CJKAnalyzer and Elasticsearch's `cjk_bigram`, we index
overlapping bigrams of every CJK run (`退款申请` -> `退款 款申 申请`) and split a
query word the same way, matching its bigrams as a phrase. Everything else is
left to the tokenizer (`remove_diacritics 2` folds accents, so `ugyfel` finds
`ügyfél`). Index and query must split identically, which is why both live here.
"""

from __future__ import annotations

import re

# Scripts written without spaces between words: Han (incl. extensions and
# compatibility ideographs), Hiragana, Katakana, Hangul syllables and jamo.
# Punctuation (U+3000-303F, full-width forms) is deliberately excluded: the
# tokenizer treats it as a separator already.
CJK_CLASS = (
    "\u1100-\u11ff"  # Hangul jamo
    "\u3040-\u309f"  # Hiragana
    "\u30a0-\u30ff"  # Katakana
    "\u3131-\u318e"  # Hangul compatibility jamo
    "\u31f0-\u31ff"  # Katakana phonetic extensions
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\uac00-\ud7af"  # Hangul syllables
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\uff66-\uff9f"  # half-width Katakana
    "\U00020000-\U0003134f"  # CJK extensions B-G
)
_CJK_RUN = re.compile(f"[{CJK_CLASS}]+")


def _bigrams(run: str) -> str:
    if len(run) == 1:
        return run
    return " ".join(map(str.__add__, run, run[1:]))  # run[i] + run[i+1], without slicing


def has_cjk(text: str) -> bool:
    return _CJK_RUN.search(text) is not None


def prepare(text: str) -> str:
    """Text as it goes into an FTS column: CJK runs become space-separated bigrams.

    A single CJK character stays itself; non-CJK text is returned unchanged (the
    common case costs one regex scan).
    """
    if not text or _CJK_RUN.search(text) is None:
        return text
    return _CJK_RUN.sub(lambda m: f" {_bigrams(m.group())} ", text)


def query_tokens(word: str) -> list[str]:
    """Split one query word exactly as `prepare` splits indexed text.

    `退款` -> ['退款']; `退款申请` -> ['退款', '款申', '申请'] (match them as a
    phrase); `订单123` -> ['订单', '123']; `ügyfél` -> ['ügyfél'] (the tokenizer
    folds the accent on both sides). A lone CJK character comes back as itself;
    since the index holds bigrams, callers match it as a prefix (`退*`).
    """
    return prepare(word).split()
