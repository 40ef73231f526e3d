"""Quote and signature folding (display_text) on ../shared/corpora/email-bodies, in several languages."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.email import bodytext, mime

LOREM_START = "Fusce bibendum, quam hendrerit sagittis tempor"
LOREM_END = "Fusce sed odio id arcu varius aliquet nec nec nibh."

# (file, what the folded text must start with, end with, and must not contain)
CASES = [
    ("crisp-email-reply-parser/email_german.txt", LOREM_START, LOREM_END, "schrieb"),
    ("crisp-email-reply-parser/email_german_outlook.txt", LOREM_START, LOREM_END, "Ursprüngliche Nachricht"),
    ("crisp-email-reply-parser/email_french_2.txt", LOREM_START, LOREM_END, "a écrit"),
    ("crisp-email-reply-parser/email_fr_multiline.txt", LOREM_START, LOREM_END, "Etiam non sagittis"),
    ("crisp-email-reply-parser/email_italian.txt", LOREM_START, "lectus urna,", "ha scritto"),
    ("crisp-email-reply-parser/email_portuguese.txt", LOREM_START, LOREM_END, "escreveu"),
    ("crisp-email-reply-parser/email_finnish.txt", LOREM_START, LOREM_END, "kirjoitti"),
    ("crisp-email-reply-parser/email_russian.txt", LOREM_START, "lectus urna,", "привет"),
    ("mail-parser-reply/email_pl_1_2.txt", "Czesc Anno,", "Jak się masz?", "Pozdrawiam"),
    ("mail-parser-reply/email_ja_1_2.txt", "", "よろしくお願いいたします", "Original"),
    ("mail-parser-reply/email_nl_1_2.txt", "Outlook met een antwoord", "Outlook met een antwoord", "Van:"),
    ("crisp-email-reply-parser/email_1.txt", "Hi folks", "Java HTTP API.", "wrote:"),
    ("mail-parser-reply/email_sent_from_iPhone.txt", "Here is another", "another email", "iPhone"),
    ("crisp-email-reply-parser/email_with_regards.txt", "Hi,", "Can you help?", "Regards"),
]


@pytest.mark.parametrize(("rel", "start", "end", "absent"), CASES, ids=[c[0].split("/")[-1] for c in CASES])
def test_fold_reply_bodies(corpora: Path, rel: str, start: str, end: str, absent: str) -> None:
    text = (corpora / "email-bodies" / rel).read_text("utf-8")
    folded = bodytext.fold(text)
    assert folded is not None
    assert folded.strip().startswith(start)
    assert folded.strip().endswith(end)
    assert absent not in folded
    assert len(folded) < len(text)


@pytest.mark.parametrize("rel", [
    "crisp-email-reply-parser/email_tricky_1_on_false_positive.txt",
    "crisp-email-reply-parser/email_tricky_3_code_block.txt",
    "crisp-email-reply-parser/email_tricky_6_regards_in_sentence.txt",
    "crisp-email-reply-parser/email_tricky_8_sent_from_in_content.txt",
    "crisp-email-reply-parser/email_not_a_signature.txt",
])
def test_text_that_only_looks_like_a_quote_is_left_alone(corpora: Path, rel: str) -> None:
    assert bodytext.fold((corpora / "email-bodies" / rel).read_text("utf-8")) is None


def test_plain_text_without_quotes_is_not_folded() -> None:
    assert bodytext.fold("Take a look at the invoice.\nThe total is wrong.\n") is None
    assert bodytext.fold("") is None


@pytest.mark.parametrize(("text", "may"), [
    ("Szia!\nA csomag még nem érkezett meg.\nKöszönöm\n", False),  # plain: the library is skipped
    ("我的订单还没到。\n请帮忙查一下。\n", False),
    ("Hello,\nsee below:   \nthanks\n", True),  # a line ending in a colon, spaces after it
    ("Hi\n\nAm 2. Nov. 2026 schrieb Ann:\n> alt\n", True),
    ("Hi\nFrom: Ann\nSent: Monday\n", True),  # an Outlook header block
    ("Hi\n-- \nAnn\n", True),  # a signature separator
    ("Hi\n  > quoted - Bob\n", False),
    ("Thanks\n\nBest regards\nAnn\n", True),  # a signature opener from the library's list
    ("Hi\n\nSent from my iPhone\n", True),
])
def test_the_prefilter_lets_through_what_the_library_could_fold(text: str, may: bool) -> None:
    assert bodytext._may_fold(text) is may


def test_a_trailing_separator_is_dropped_after_the_quote() -> None:
    text = "Thanks, that worked.\n\n-----Original Message-----\n"
    assert bodytext.fold(text) == "Thanks, that worked.\n"


def test_trailing_quote_without_header_is_folded() -> None:
    text = "Még mindig várok a csomagra.\n\n> Your parcel left the warehouse.\n> Support\n"
    assert bodytext.fold(text) == "Még mindig várok a csomagra.\n"


def test_chinese_reply_header() -> None:
    text = "请尽快退款。\n\n2026年11月2日 10:00 客服 <support@example.com> 写道：\n> 您的包裹已发出。\n"
    assert bodytext.fold(text) == "请尽快退款。\n"


def test_huge_body_is_not_folded_but_kept() -> None:
    text = ("word " * 20 + "\n") * 5000 + "\nOn Mon, Ann <a@x.com> wrote:\n> old\n"
    assert bodytext.fold(text) is None


def test_talon_whole_messages_fold(corpora: Path) -> None:
    """Real replies from mail clients, as whole messages: display text drops the quoted original."""
    folded = 0
    for path in sorted((corpora / "email/talon/standard_replies").glob("*.eml")):
        record = mime.parse(path.read_bytes())
        assert record.text
        if record.display_text is not None:
            folded += 1
            assert len(record.display_text) < len(record.text)
            assert record.display_text.strip()
    assert folded >= 8
