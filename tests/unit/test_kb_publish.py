"""`kb publish`: the static help centre's pages, escaping, search index and directory handling."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from omnidesk.errors import UserError
from omnidesk.kb import lint, publish
from omnidesk.kb.article import parse

EXAMPLES = Path(__file__).resolve().parents[2] / "config" / "kb"


def write_examples(out: Path) -> publish.Published:
    articles, unreadable = lint.read_all(EXAMPLES)
    assert unreadable == []
    return publish.publish(articles, out, site="Acme <help>")


def index_of(out: Path) -> dict:
    text = (out / "search-index.js").read_text("utf-8")
    assert text.startswith("window.KB_INDEX = ") and text.endswith(";\n")
    return json.loads(text.removeprefix("window.KB_INDEX = ").removesuffix(";\n"))


def test_one_page_per_article_and_language_an_index_and_a_search_page(tmp_path: Path) -> None:
    out = tmp_path / "site"
    result = write_examples(out)
    assert result.languages == ("en", "fa", "hu", "uz", "zh") and result.skipped == ()
    pages = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.html"))
    assert len(pages) == result.pages + 2 and "index.html" in pages and "search.html" in pages
    assert "hu/reset-password.html" in pages and "zh/refund.html" in pages
    hu = (out / "hu" / "reset-password.html").read_text("utf-8")
    assert '<html lang="hu" dir="ltr">' in hu and "<h1>Jelszó visszaállítása</h1>" in hu
    assert 'href="../en/reset-password.html"' in hu and 'hreflang="zh"' in hu  # its translations
    assert "Acme &lt;help&gt;" in hu and "<help>" not in hu
    assert '<html lang="fa" dir="rtl">' in (out / "fa" / "refund.html").read_text("utf-8")
    en = (out / "en" / "reset-password.html").read_text("utf-8")
    assert 'href="../en/missing-emails.html"' in en  # a kb: link points at the page
    index = (out / "index.html").read_text("utf-8")
    assert 'href="hu/reset-password.html"' in index and '<section lang="zh" dir="ltr">' in index


def test_everything_from_an_article_is_escaped(tmp_path: Path) -> None:
    hostile = parse("x.md", '+++\nid = "x"\ntitle = "<script>alert(1)</script> & \\"q\\""\n'
                            'language = "en"\ntags = ["<b>"]\n+++\n<script>alert(2)</script>\n\n'
                            "<img src=x onerror=alert(3)>\n\n"
                            "[click](javascript:alert(4)) [gone](kb:nowhere) ![i](data:text/html,x)\n")
    publish.publish([hostile], tmp_path / "site", site="s")
    page = (tmp_path / "site" / "en" / "x.html").read_text("utf-8")
    assert "<script>" not in page and "<img src=x" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot;" in page
    assert "javascript:" not in page.replace("[click](javascript:alert(4))", "")  # shown as text only
    assert 'href="kb:' not in page and '<span class="broken-link">gone</span>' in page
    search = (tmp_path / "site" / "search-index.js").read_text("utf-8")
    assert "<" not in search  # escaped inside its JSON strings
    assert json.loads(search.removeprefix("window.KB_INDEX = ").removesuffix(";\n"))["docs"][0][1] == \
        '<script>alert(1)</script> & "q"'


def test_the_search_index_folds_accents_and_splits_cjk(tmp_path: Path) -> None:
    write_examples(tmp_path / "site")
    terms = index_of(tmp_path / "site")["terms"]
    assert "fiok" in terms and "fiók" not in terms  # accents folded
    assert "退款" in terms and "订单" in terms  # CJK bigrams
    assert "گذرواژه" in terms


def test_incomplete_articles_and_duplicates_are_left_out_with_a_reason(tmp_path: Path) -> None:
    good = parse("a.md", '+++\nid = "a"\ntitle = "A"\nlanguage = "en"\n+++\nbody\n')
    twin = parse("b.md", '+++\nid = "a"\ntitle = "A2"\nlanguage = "en"\n+++\nbody\n')
    untitled = parse("c.md", '+++\nlanguage = "en"\n+++\nbody\n')
    result = publish.publish([twin, untitled, good], tmp_path / "site", site="s")
    assert result.pages == 1
    assert result.skipped == ("b.md: not published: a.md has the same id and language",
                              "c.md: not published: missing title")


def test_a_directory_that_is_not_a_help_centre_is_left_alone(tmp_path: Path) -> None:
    out = tmp_path / "home"
    out.mkdir()
    (out / "thesis.txt").write_text("precious", "utf-8")
    with pytest.raises(UserError, match="not empty and not a help centre"):
        write_examples(out)
    assert (out / "thesis.txt").read_text("utf-8") == "precious"
    (tmp_path / "file").write_text("x", "utf-8")
    with pytest.raises(UserError, match="not a directory"):
        write_examples(tmp_path / "file")


def test_publishing_again_replaces_the_old_site_whole(tmp_path: Path) -> None:
    out = tmp_path / "site"
    write_examples(out)
    (out / "en" / "stale.html").write_text("old", "utf-8")
    only = parse("a.md", '+++\nid = "a"\ntitle = "A"\nlanguage = "en"\n+++\nbody\n')
    publish.publish([only], out, site="s")
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.html")) == \
        ["en/a.html", "index.html", "search.html"]
    assert [p.name for p in tmp_path.iterdir()] == ["site"]  # no staging or old copy left
