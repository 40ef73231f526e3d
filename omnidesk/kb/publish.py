"""`omnidesk kb publish DIR`: the knowledge base as a static help centre.

```
DIR/index.html            every article, by language
DIR/<language>/<id>.html  one page per article and language, linking its translations
DIR/search.html           search in the browser: search-index.js (the index as JSON data
DIR/search-index.js       in a script, so it also loads from file://, where fetch() may not)
DIR/search.js, style.css  and search.js; no server needed
```

The index is written with `suggest.tokens`, the split search.js makes of what is typed:
accents folded (`fiok` finds `fiók`), CJK runs as bigrams. Every text is HTML-escaped
here, raw HTML in articles is shown as text (markup.to_html), and search.js puts results
in with textContent. The directory is replaced whole, and only when it is empty, missing,
or a help centre written before (it holds MARKER): a stale page never outlives its article.
"""

from __future__ import annotations

import html
import json
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import NamedTuple

from omnidesk.errors import UserError
from omnidesk.kb import markup
from omnidesk.kb.article import ID_PATTERN, LANGUAGE_PATTERN, Article, primary
from omnidesk.kb.suggest import tokens

MARKER = ".omnidesk-help-centre"
#: Languages written right to left: their pages get dir="rtl".
RTL = frozenset({"ar", "fa", "he", "ur", "ps", "yi", "dv", "ckb", "sd", "ug"})
#: How much a word counts in the search index by where it stands.
WEIGHTS = (("title", 4), ("tags", 2), ("body", 1))


class Published(NamedTuple):
    pages: int
    languages: tuple[str, ...]
    skipped: tuple[str, ...]  # one line per article left out, and why


def publishable(articles: Iterable[Article]) -> tuple[list[Article], list[str]]:
    """The articles that can have a page (first file wins an id and language), and the rest, with why."""
    kept: dict[tuple[str, str], Article] = {}
    skipped = []
    for a in sorted(articles, key=lambda a: a.path):
        if not (ID_PATTERN.match(a.id) and LANGUAGE_PATTERN.match(a.language) and a.title and a.body.strip()):
            skipped.append(f"{a.path}: not published: {'; '.join(a.problems) or 'incomplete'}")
        elif (a.id, a.language) in kept:
            first = kept[a.id, a.language].path
            skipped.append(f"{a.path}: not published: {first} has the same id and language")
        else:
            kept[a.id, a.language] = a
    return list(kept.values()), skipped


def page_path(article_id: str, language: str) -> str:
    return f"{language}/{article_id}.html"


def _dir(language: str) -> str:
    return "rtl" if primary(language) in RTL else "ltr"


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _page(title: str, body: str, *, language: str = "", depth: int = 0, site: str) -> str:
    up = "../" * depth
    lang = f' lang="{_e(language)}" dir="{_dir(language)}"' if language else ""
    return (f'<!DOCTYPE html>\n<html{lang}>\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{_e(title)} · {_e(site)}</title>\n"
            f'<link rel="stylesheet" href="{up}style.css">\n</head>\n<body>\n'
            f'<header><a href="{up}index.html">{_e(site)}</a><a href="{up}search.html">Search</a></header>\n'
            f"<main>\n{body}\n</main>\n</body>\n</html>\n")


def _article_page(a: Article, siblings: list[Article], by_id: dict[str, dict[str, Article]],
                  site: str) -> str:
    def resolve(target: str) -> str | None:
        versions = by_id.get(target)
        if not versions:
            return None
        chosen = versions.get(a.language) or versions[sorted(versions)[0]]
        return "../" + page_path(chosen.id, chosen.language)

    others = [s for s in siblings if s.language != a.language]
    also = ""
    if others:
        links = ", ".join(f'<a href="../{_e(page_path(s.id, s.language))}" lang="{_e(s.language)}"'
                          f' hreflang="{_e(s.language)}">{_e(s.title)} ({_e(s.language)})</a>'
                          for s in others)
        also = f'\n<p class="translations">Also in: {links}</p>'
    tags = "".join(f' <span class="language">{_e(t)}</span>' for t in a.tags)
    body = f"<article>\n<h1>{_e(a.title)}</h1>{tags}\n{markup.to_html(a.body, resolve)}</article>{also}"
    return _page(a.title, body, language=a.language, depth=1, site=site)


def _index_page(by_language: dict[str, list[Article]], site: str) -> str:
    parts = ['<h1>Help centre</h1>\n<form action="search.html"><input id="q" name="q" type="search"'
             ' placeholder="Search"> <button>Search</button></form>']
    for language in sorted(by_language):
        items = "".join(f'<li><a href="{_e(page_path(a.id, a.language))}">{_e(a.title)}</a></li>\n'
                        for a in sorted(by_language[language], key=lambda a: a.title.casefold()))
        parts.append(f'<section lang="{_e(language)}" dir="{_dir(language)}">\n<h2>{_e(language)}</h2>\n'
                     f"<ul>\n{items}</ul>\n</section>")
    return _page("Help centre", "\n".join(parts), site=site)


def _search_page(languages: list[str], site: str) -> str:
    options = "".join(f'<option value="{_e(x)}">{_e(x)}</option>' for x in languages)
    body = ('<h1>Search</h1>\n<p><input id="q" type="search" autofocus placeholder="Type a few words"'
            ' autocomplete="off">\n<select id="language" aria-label="Language">'
            f'<option value="">all languages</option>{options}</select></p>\n'
            '<p id="status" role="status"></p>\n<ul id="results"></ul>\n'
            '<script src="search-index.js"></script>\n<script src="search.js"></script>')
    return _page("Search", body, site=site)


def search_index(articles: list[Article]) -> dict[str, object]:
    """{"docs": [[url, title, language, excerpt]], "terms": {token: [doc, weight, ...]}}, keys sorted."""
    docs, terms = [], {}
    for n, a in enumerate(sorted(articles, key=lambda a: (a.language, a.id))):
        docs.append([page_path(a.id, a.language), a.title, a.language, markup.excerpt(a.body, a.title)])
        counts: Counter[str] = Counter()
        texts = {"title": a.title, "tags": " ".join(a.tags), "body": markup.plain_text(a.body)}
        for field, weight in WEIGHTS:
            for token in tokens(texts[field]):
                counts[token] += weight
        for token, weight in counts.items():
            terms.setdefault(token, []).extend((n, weight))
    return {"docs": docs, "terms": dict(sorted(terms.items()))}


def _script(index: dict[str, object]) -> str:
    data = json.dumps(index, ensure_ascii=False, separators=(",", ":"))
    # JSON is a JavaScript expression. "<" only occurs inside strings: escaped, the data stays inert
    # even pasted into a page's <script>; U+2028/2029 were not valid in strings before ES2019.
    for raw, escaped in (("<", "\\u003c"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        data = data.replace(raw, escaped)
    return "window.KB_INDEX = " + data + ";\n"


def _check_target(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).exists():
        raise UserError(f"{out}: not empty and not a help centre written by omnidesk; "
                        "give an empty or new directory")


def publish(articles: Iterable[Article], out: Path, *, site: str) -> Published:
    """Write the help centre into `out` (replaced whole: see the module docstring)."""
    out = out.expanduser().absolute()
    _check_target(out)
    kept, skipped = publishable(articles)
    by_id: dict[str, dict[str, Article]] = {}
    by_language: dict[str, list[Article]] = {}
    for a in kept:
        by_id.setdefault(a.id, {})[a.language] = a
        by_language.setdefault(a.language, []).append(a)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for language in by_language:
            (staging / language).mkdir()
        for a in kept:
            siblings = sorted(by_id[a.id].values(), key=lambda s: s.language)
            page = _article_page(a, siblings, by_id, site)
            (staging / page_path(a.id, a.language)).write_text(page, "utf-8")
        (staging / "index.html").write_text(_index_page(by_language, site), "utf-8")
        (staging / "search.html").write_text(_search_page(sorted(by_language), site), "utf-8")
        (staging / "search-index.js").write_text(_script(search_index(kept)), "utf-8")
        static = resources.files("omnidesk.kb").joinpath("static")
        for name in ("search.js", "style.css"):
            (staging / name).write_text(static.joinpath(name).read_text("utf-8"), "utf-8")
        (staging / MARKER).write_text("Written by `omnidesk kb publish`; the next replaces it.\n", "utf-8")
        os.chmod(staging, 0o755)  # mkdtemp's 0700 would hide the site from a web server
        _swap(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Published(pages=len(kept), languages=tuple(sorted(by_language)), skipped=tuple(skipped))


def _swap(staging: Path, out: Path) -> None:
    """Put the new site where the old one was; the old one is removed only once the new is in place."""
    if not out.exists():
        staging.rename(out)
        return
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    out.rename(old)
    staging.rename(out)
    shutil.rmtree(old, ignore_errors=True)
