"""`omnidesk kb lint`: what is wrong in the knowledge-base folder, one finding per line.

Read from the files, not the index, so a mistake is found before anything is indexed:
front matter that is not TOML or has unknown keys, a missing title or language, an
empty body, two files with the same id and language, a `translation_of` naming a
language the article is not written in, and `kb:ID` links to no article.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from omnidesk.kb import markup
from omnidesk.kb.article import Article
from omnidesk.kb.library import article_files, read_article, relative_name


class Finding(NamedTuple):
    path: str
    message: str


def read_all(root: Path) -> tuple[list[Article], list[Finding]]:
    """Every article of the folder, and a finding for each file that cannot be read."""
    articles, unreadable = [], []
    for path in article_files(root):
        try:
            articles.append(read_article(root, path)[0])
        except UnicodeDecodeError:
            unreadable.append(Finding(relative_name(root, path), "not UTF-8 text"))
        except OSError as exc:
            unreadable.append(Finding(relative_name(root, path), f"cannot read: {exc.strerror or exc}"))
    return articles, unreadable


def check(articles: Iterable[Article]) -> list[Finding]:
    """The findings about a set of articles, by file, in file order."""
    articles = sorted(articles, key=lambda a: a.path)
    findings = [Finding(a.path, p) for a in articles for p in a.problems]
    first: dict[tuple[str, str], str] = {}
    for a in articles:
        key = (a.id, a.language)
        if a.language and key in first:
            findings.append(Finding(a.path, f"duplicate id {a.id!r} in language {a.language!r}"
                                    f" (also {first[key]})"))
        first.setdefault(key, a.path)
    languages: dict[str, set[str]] = {}
    for a in articles:
        languages.setdefault(a.id, set()).add(a.language)
    for a in articles:
        if a.translation_of and a.translation_of == a.language:
            findings.append(Finding(a.path, f"translation_of {a.translation_of!r} is its own language"))
        elif a.translation_of and a.translation_of not in languages[a.id]:
            findings.append(Finding(a.path, f"broken translation link: no {a.translation_of!r} article"
                                    f" with id {a.id!r}"))
        for target in markup.link_targets(a.body):
            if target.startswith(markup.KB_SCHEME) and target[len(markup.KB_SCHEME):] not in languages:
                findings.append(Finding(a.path, f"broken link {target}: no article has that id"))
    return sorted(findings, key=lambda f: f.path)


def lint(root: Path) -> list[Finding]:
    articles, unreadable = read_all(root)
    return sorted(unreadable + check(articles), key=lambda f: f.path)
