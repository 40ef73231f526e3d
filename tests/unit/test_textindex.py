"""Index and query split text identically; CJK bigrams and folded accents through real FTS5."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given
from hypothesis import strategies as st

from omnidesk import textindex


def test_non_cjk_text_unchanged() -> None:
    text = "Ügyfélszolgálat: a számla hibás! سلام دوست من"
    assert textindex.prepare(text) is text or textindex.prepare(text) == text
    assert textindex.prepare("") == ""


def test_cjk_runs_become_bigrams() -> None:
    assert textindex.prepare("退款申请").split() == ["退款", "款申", "申请"]
    assert textindex.prepare("我要退款, ok").split() == ["我要", "要退", "退款", ",", "ok"]
    assert textindex.prepare("单").split() == ["单"]
    assert textindex.prepare("订单123号").split() == ["订单", "123", "号"]


def test_japanese_and_korean_runs_too() -> None:
    assert textindex.prepare("カタカナ").split() == ["カタ", "タカ", "カナ"]
    assert textindex.prepare("환불").split() == ["환불"]


def test_query_tokens() -> None:
    assert textindex.query_tokens("退款") == ["退款"]
    assert textindex.query_tokens("退款申请") == ["退款", "款申", "申请"]
    assert textindex.query_tokens("ügyfél") == ["ügyfél"]
    assert textindex.query_tokens("退") == ["退"]


@given(st.text(alphabet=st.sampled_from("退款申请单ab ügyél,1"), max_size=40))
def test_query_split_matches_index_split(text: str) -> None:
    # Whatever a word is, its query tokens are exactly the tokens the index holds for it.
    for word in text.split():
        assert textindex.query_tokens(word) == textindex.prepare(word).split()


@pytest.fixture
def fts() -> sqlite3.Connection:
    c = sqlite3.connect(":memory:")
    c.execute("CREATE VIRTUAL TABLE t USING fts5(body, content='', tokenize='unicode61 remove_diacritics 2')")
    docs = {
        1: "我想申请退款，订单号 12345",
        2: "退货和换货政策",
        3: "Az ügyfélszolgálat válaszolt",
        4: "پشتیبانی مشتریان: بازپرداخت",
        5: "nothing relevant here",
    }
    for rowid, body in docs.items():
        c.execute("INSERT INTO t (rowid, body) VALUES (?, ?)", (rowid, textindex.prepare(body)))
    return c


def _match(c: sqlite3.Connection, word: str) -> list[int]:
    tokens = textindex.query_tokens(word)
    phrase = '"' + " ".join(t.replace('"', '""') for t in tokens) + '"'
    return [r[0] for r in c.execute("SELECT rowid FROM t WHERE t MATCH ? ORDER BY rowid", (phrase,))]


def test_two_character_chinese_word_found(fts: sqlite3.Connection) -> None:
    assert _match(fts, "退款") == [1]
    assert _match(fts, "申请退款") == [1]
    assert _match(fts, "退货") == [2]
    assert _match(fts, "款退") == []  # bigrams as a phrase: order matters


def test_accents_not_required(fts: sqlite3.Connection) -> None:
    assert _match(fts, "ugyfelszolgalat") == [3]
    assert _match(fts, "ÜGYFÉLSZOLGÁLAT") == [3]


def test_persian_word_found(fts: sqlite3.Connection) -> None:
    assert _match(fts, "بازپرداخت") == [4]


def test_huge_text_prepares_quickly() -> None:
    text = "退款申请" * 50_000 + " ügyfél" * 50_000
    out = textindex.prepare(text)
    assert out.count("退款") == 50_000
