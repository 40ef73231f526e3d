"""Untrusted text reaches a terminal inert: no escapes, no controls, no bidi overrides."""

from __future__ import annotations

import json
import re
import sys
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from omnidesk.textsafe import INVISIBLE_CANDIDATES, clean, escape_json, inert, is_invisible, one_line


@pytest.mark.parametrize(
    ("hostile", "shown"),
    [
        ("\x1b[1;31mred\x1b[0m", "␛[1;31mred␛[0m"),
        ("copy \x1b]52;c;ZXZpbA==\x07 me", "copy ␛]52;c;ZXZpbA==␇ me"),  # OSC 52 clipboard write
        ("title \x1b]0;pwned\x1b\\ x", "title ␛]0;pwned␛\\ x"),  # OSC with ST terminator
        ("8-bit \x9b31m csi", "8-bit \ufffd31m csi"),
        ("invoice\u202egnp.exe", "invoicegnp.exe"),  # right-to-left override
        ("isolate \u2066x\u2069", "isolate x"),
        ("bell\x07 backspace\x08 nul\x00", "bell␇ backspace␈ nul␀"),
        ("[bold red]not markup[/]", "[bold red]not markup[/]"),  # markup is the caller's job: kept as text
    ],
)
def test_clean_neutralises(hostile: str, shown: str) -> None:
    assert clean(hostile) == shown


def test_clean_keeps_real_text() -> None:
    text = "Ügyfélszolgálat: köszönöm!\n退款 請幫忙\nسلام، لطفا کمک کنید\n\tindented"
    assert clean(text) == text.replace("\t", "    ")


def test_line_ends_are_normalised() -> None:
    assert clean("a\r\nb\rc") == "a\nb\nc"


def test_one_line_folds_whitespace() -> None:
    assert one_line("  Re:\n  hello \t world\r\n") == "Re: hello world"


@given(st.text())
def test_no_control_survives(text: str) -> None:
    out = clean(text)
    assert not any(ord(c) < 0x20 and c != "\n" for c in out)
    assert not any(0x7F <= ord(c) <= 0x9F for c in out)
    assert not any(c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069" for c in out)


def test_inert_keeps_tabs_and_newlines_for_formats_that_quote_them() -> None:
    assert inert("a\tb\r\nc\rd\x1b[2J\u202e") == "a\tb\nc\nd\u241b[2J"


#: ZERO WIDTH NON-JOINER and JOINER (Cf), part of ordinary Persian text and of emoji.
JOINERS = {"\u200c", "\u200d"}


def test_invisible_is_every_control_and_format_character() -> None:
    """The hand-written set matches unicodedata: Cc, Cf, Zl, Zp but the joiners, and nothing else assigned."""
    candidate = re.compile(f"[{INVISIBLE_CANDIDATES}]")
    categories = {"Cc", "Cf", "Zl", "Zp"}
    for code in range(sys.maxunicode + 1):
        ch = chr(code)
        category = unicodedata.category(ch)
        invisible = bool(candidate.match(ch)) and is_invisible(ch)
        if ch in JOINERS:
            assert not invisible, f"U+{code:04X} joins letters of Persian words and emoji: it is text"
        elif category in categories:
            assert invisible, f"U+{code:04X} ({category}) missing from textsafe's invisible characters"
        elif category != "Cn":  # a newer Unicode may make an unassigned one a format character
            assert not invisible, f"U+{code:04X} ({category}) should not be among textsafe's invisible ones"


@given(st.text())
def test_escaped_json_parses_back_and_shows_nothing_invisible(text: str) -> None:
    out = escape_json(json.dumps({"t": text}, ensure_ascii=False))
    assert json.loads(out) == {"t": text}
    assert not any(is_invisible(m.group()) for m in re.finditer(f"[{INVISIBLE_CANDIDATES}]", out))
