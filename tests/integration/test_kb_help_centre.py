"""The published help centre in a real headless browser: the system's Chromium driven by Playwright.

Playwright's own browser download is not used: Chromium comes from the system packages
(.ci/run installs it) and is launched by `executable_path`. Without either, the tests skip
and say which is missing.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from omnidesk.kb import lint, publish, suggest

EXAMPLES = Path(__file__).resolve().parents[2] / "config" / "kb"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    articles, _ = lint.read_all(EXAMPLES)
    out = tmp_path_factory.mktemp("help") / "site"
    publish.publish(articles, out, site="Acme support")
    return out


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("no chromium on PATH (apt-get install chromium; .ci/run installs it)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium, headless=True,
                                     args=["--no-sandbox", "--disable-gpu"])
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    opened = browser.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield opened
    finally:
        opened.close()
    assert errors == [], errors


def results(page: Any) -> list[str]:
    return page.locator("#results li a").all_text_contents()


def test_a_hungarian_word_typed_without_accents_finds_the_article(site: Path, page: Any) -> None:
    page.goto((site / "search.html").as_uri())
    page.locator("#q").press_sequentially("fiok")  # fiók, typed as on a keyboard without ő and ó
    page.wait_for_function("document.querySelectorAll('#results li').length > 0", timeout=10_000)
    assert "Jelszó visszaállítása" in results(page)
    page.locator("#results li a", has_text="Jelszó visszaállítása").click()
    page.wait_for_url("**/hu/reset-password.html")
    assert page.locator("h1").text_content() == "Jelszó visszaállítása"


def test_two_chinese_characters_and_the_language_filter(site: Path, page: Any) -> None:
    page.goto((site / "search.html").as_uri() + "?q=退款")
    page.wait_for_function("document.querySelectorAll('#results li').length > 0", timeout=10_000)
    assert results(page)[0] == "取消订单的退款"
    page.locator("#q").fill("jelszo")
    first = "document.querySelector('#results li a')?.textContent"
    page.wait_for_function(f"{first} === 'Jelszó visszaállítása'", timeout=10_000)
    page.locator("#language").select_option("en")
    status = "document.getElementById('status').textContent"
    page.wait_for_function(f"{status} === 'Nothing found'", timeout=10_000)
    page.locator("#q").fill("password")
    page.wait_for_function("document.querySelectorAll('#results li').length > 0", timeout=10_000)
    assert results(page) == ["Reset your password"]


def test_the_browser_splits_text_exactly_as_the_index_was_written(site: Path, page: Any) -> None:
    page.goto((site / "search.html").as_uri())
    page.wait_for_function("window.kbSearch !== undefined", timeout=10_000)
    samples = ["Ügyfél FIÓK fiókomba", "退款申请 订单123", "گذرواژه‌ام را فراموش کرده‌ام", "Parolni o'rnatish",
               "한국어 텍스트", "ﬁnal Ǆ café naïve", "退"]
    for text in samples:
        assert page.evaluate("t => window.kbSearch.tokens(t)", text) == suggest.tokens(text), text


def test_hostile_titles_stay_text_in_the_results(tmp_path: Path, page: Any) -> None:
    from omnidesk.kb.article import parse

    evil = parse("x.md", '+++\nid = "x"\ntitle = "<img src=x onerror=window.pwned=1> kupon"\n'
                         'language = "en"\n+++\nkupon body\n')
    publish.publish([evil], tmp_path / "site", site="s")
    page.goto((tmp_path / "site" / "search.html").as_uri() + "?q=kupon")
    page.wait_for_function("document.querySelectorAll('#results li').length > 0", timeout=10_000)
    assert results(page) == ["<img src=x onerror=window.pwned=1> kupon"]
    assert page.evaluate("window.pwned") is None and page.locator("#results img").count() == 0
