"""SMS segment counting (adapters/base.py `sms_segments`): GSM-7 septets and UCS-2 code units."""

from __future__ import annotations

import pytest

from adapters.base import SmsSegments, sms_segments


@pytest.mark.parametrize(("text", "expected"), [
    ("", SmsSegments(0, "GSM-7", 160)),
    ("a" * 160, SmsSegments(1, "GSM-7", 160)),
    ("a" * 161, SmsSegments(2, "GSM-7", 153)),
    ("a" * 306, SmsSegments(2, "GSM-7", 153)),
    ("a" * 307, SmsSegments(3, "GSM-7", 153)),
    # The euro sign and brackets are extension characters: two septets each.
    ("€" * 80, SmsSegments(1, "GSM-7", 160)),
    ("€" * 81, SmsSegments(2, "GSM-7", 153)),
    ("[x]" + "a" * 155, SmsSegments(1, "GSM-7", 160)),
    ("[x]" + "a" * 156, SmsSegments(2, "GSM-7", 153)),
    # An escape pair never straddles two segments: 152 septets, then a euro sign opens segment two.
    ("a" * 152 + "€" + "a" * 152, SmsSegments(3, "GSM-7", 153)),
    # é, ö and ü are in the basic set; the Hungarian ő and ű are not, nor are á, í and ó.
    ("Köszönöm, kérem küldje el még ma", SmsSegments(1, "GSM-7", 160)),
    ("Köszönöm, ez így jó", SmsSegments(1, "UCS-2", 70)),
    ("Köszönöm, a nővérem küldi", SmsSegments(1, "UCS-2", 70)),
    ("űrlap", SmsSegments(1, "UCS-2", 70)),
    ("中" * 70, SmsSegments(1, "UCS-2", 70)),
    ("中" * 71, SmsSegments(2, "UCS-2", 67)),
    ("سلام، سفارش من کجاست؟", SmsSegments(1, "UCS-2", 70)),
    ("س" * 135, SmsSegments(3, "UCS-2", 67)),
    # An emoji is two UTF-16 code units, and a pair is never split.
    ("😀" * 35, SmsSegments(1, "UCS-2", 70)),
    ("😀" * 36, SmsSegments(2, "UCS-2", 67)),
    ("a" * 66 + "😀" + "a" * 66, SmsSegments(3, "UCS-2", 67)),
])
def test_segments_by_encoding(text: str, expected: SmsSegments) -> None:
    assert sms_segments(text) == expected


def test_one_unicode_character_turns_a_whole_long_text_into_ucs2() -> None:
    ascii_only = sms_segments("x" * 150)
    mixed = sms_segments("x" * 149 + "ő")
    assert (ascii_only.count, ascii_only.encoding) == (1, "GSM-7")
    assert (mixed.count, mixed.encoding) == (3, "UCS-2")
