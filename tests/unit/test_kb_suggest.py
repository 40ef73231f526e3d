"""Knowledge-base ranking on the example articles (config/kb/: en, hu, zh, fa, uz)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from omnidesk.desk import Desk
from omnidesk.kb import library, suggest
from omnidesk.settings import KbSettings

EXAMPLES = Path(__file__).resolve().parents[2] / "config" / "kb"


@pytest.fixture
async def kb_desk(desk: Desk) -> Desk:
    desk = replace(desk, settings=replace(desk.settings, kb=KbSettings(EXAMPLES, "https://help.example")))
    await library.refresh(desk)
    return desk


CASES = [
    # (message, customer language, expected top (id, language))
    ("Elfelejtettem a jelszavamat, és nem tudok belépni a fiókomba.", "hu", ("reset-password", "hu")),
    ("Lemondtam a rendelést, mikor kapom vissza a pénzt? Visszatérítés?", "hu", ("refund", "hu")),
    ("Napok óta késik a csomagom, a futár nem jött.", "hu", ("shipping-delay", "hu")),
    ("我忘记密码了，无法登录", "zh", ("reset-password", "zh")),
    ("我取消了订单，什么时候退款？", "zh", ("refund", "zh")),
    ("گذرواژه‌ام را فراموش کرده‌ام و نمی‌توانم وارد حساب شوم", "fa", ("reset-password", "fa")),
    ("سفارش را لغو کردم، بازپرداخت کی انجام می‌شود؟", "fa", ("refund", "fa")),
    ("Parolimni unutdim, hisobimga kira olmayapman", "uz", ("reset-password", "uz")),
    ("Buyurtmani bekor qildim, pulni qachon qaytarasiz?", "uz", ("refund", "uz")),
    ("I forgot my password and cannot log in", "en", ("reset-password", "en")),
    ("I cancelled my order, when do I get the refund?", "en", ("refund", "en")),
    ("Your emails never arrive, not even in spam", None, ("missing-emails", "en")),
]


@pytest.mark.parametrize(("text", "language", "expected"), CASES, ids=[c[2][0] + "-" + (c[1] or "none")
                                                                      for c in CASES])
async def test_the_expected_article_comes_first(kb_desk: Desk, text: str, language: str | None,
                                                expected: tuple[str, str]) -> None:
    found = await suggest.suggest(kb_desk, text, language)
    assert found, "no suggestion"
    assert (found[0].article_id, found[0].language) == expected
    assert len({s.article_id for s in found}) == len(found)  # translations are one suggestion


async def test_the_customer_language_picks_the_translation_shown(kb_desk: Desk) -> None:
    # An English message from a customer whose language is Hungarian: the Hungarian translation.
    found = await suggest.suggest(kb_desk, "reset password", "hu")
    assert (found[0].article_id, found[0].language, found[0].in_language) == ("reset-password", "hu", True)
    assert found[0].url == "https://help.example/hu/reset-password.html"
    assert set(found[0].languages) == {"en", "hu", "zh", "fa", "uz"}


async def test_articles_in_the_customer_language_come_before_others(kb_desk: Desk) -> None:
    # missing-emails exists only in English; a Hungarian customer still sees it, after Hungarian ones.
    found = await suggest.suggest(kb_desk, "password spam email", "hu")
    ids = [(s.article_id, s.language) for s in found]
    assert ("reset-password", "hu") in ids and ("missing-emails", "en") in ids
    assert ids.index(("reset-password", "hu")) < ids.index(("missing-emails", "en"))
    assert [s.in_language for s in found] == sorted((s.in_language for s in found), reverse=True)


async def test_a_regional_tag_finds_the_primary_language(kb_desk: Desk) -> None:
    found = await suggest.suggest(kb_desk, "jelszó", "hu-HU")
    assert (found[0].article_id, found[0].language) == ("reset-password", "hu")


async def test_accents_are_not_needed(kb_desk: Desk) -> None:
    found = await suggest.suggest(kb_desk, "jelszo fiok belepes", None)
    assert (found[0].article_id, found[0].language) == ("reset-password", "hu")


async def test_text_without_words_suggests_nothing(kb_desk: Desk) -> None:
    assert await suggest.suggest(kb_desk, "", "hu") == []
    assert await suggest.suggest(kb_desk, "!!! ??? --", None) == []
    assert await suggest.suggest(kb_desk, '" * ( ) : ^', None) == []
    # FTS5 syntax in a message is only words: no error, and "or" matches the word or.
    assert suggest.match_expression('NEAR( OR "x') == '"near" OR "or"'
    await suggest.suggest(kb_desk, 'spam NEAR( OR "x* AND', None)


async def test_a_huge_message_is_cut_to_its_longest_words(kb_desk: Desk) -> None:
    text = "the a of " * 20_000 + "jelszavamat elfelejtettem"
    expr = suggest.match_expression(text)
    assert expr is not None and expr.count(" OR ") < 2 * suggest.MAX_TERMS
    found = await suggest.suggest(kb_desk, text, "hu")
    assert found[0].article_id == "reset-password"


async def test_a_desk_without_a_knowledge_base_suggests_nothing(desk: Desk, tmp_path: Path) -> None:
    desk = replace(desk, settings=replace(desk.settings, kb=KbSettings(tmp_path / "none")))
    assert await suggest.suggest(desk, "password", "en") == []


def test_words_split_like_the_index() -> None:
    assert suggest.words("Ügyfél FIÓK fiók") == ["ugyfel", "fiok"]
    assert suggest.words("退款申请") == ["退款", "款申", "申请"]
    assert suggest.words("گذرواژه‌ام") == ["گذرواژه", "ام"]  # ZWNJ separates, as in unicode61


async def test_a_regional_translation_is_preferred_for_its_region(desk: Desk, tmp_path: Path) -> None:
    root = tmp_path / "kb"
    root.mkdir()
    for tag, title in (("pt", "Senha (pt)"), ("pt-BR", "Senha (pt-BR)")):
        (root / f"{tag}.md").write_text(f'+++\nid = "senha"\ntitle = "{title}"\nlanguage = "{tag}"\n+++\n'
                                        "Esqueci a senha.\n", "utf-8")
    desk = replace(desk, settings=replace(desk.settings, kb=KbSettings(root)))
    assert (await suggest.suggest(desk, "senha", "pt_BR"))[0].title == "Senha (pt-BR)"
    assert (await suggest.suggest(desk, "senha", "pt"))[0].title == "Senha (pt)"
    assert (await suggest.suggest(desk, "senha", "pt-PT"))[0].language.startswith("pt")
