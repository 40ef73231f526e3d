"""One article file: TOML front matter between `+++` lines, then Markdown.

```
+++
id = "reset-password"        # shared by the article's translations (default: the file name)
title = "Reset your password"
language = "en"
tags = ["account", "login"]
translation_of = "en"        # optional, on a translation: the language it was translated from
+++
Markdown body ...
```

TOML rather than YAML: tomllib is in the standard library, the config and the macros are
TOML too, and a TOML string stays a string (YAML 1.1 reads Norwegian's `language: no` as
false). Reading never raises: what is wrong is kept in `problems`, which `omnidesk kb lint`
reports and the index skips over (an article with problems is still indexed when it has a
body, so one typo does not hide it from the agents).
"""

from __future__ import annotations

import re
import tomllib
from typing import Any, NamedTuple

from omnidesk.langpick import normal_tag

FENCE = "+++"
KEYS = ("id", "title", "language", "tags", "translation_of")
#: An article id is part of the help centre's URLs: letters, digits, '-', '_' and '.'.
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
#: A BCP 47-like language tag: `en`, `hu`, `zh`, `pt-BR`, `zh-Hant`.
LANGUAGE_PATTERN = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")


class Article(NamedTuple):
    path: str  # relative to the knowledge-base folder, with / separators
    id: str
    language: str  # lower case, "" when missing
    title: str
    tags: tuple[str, ...]
    body: str
    translation_of: str = ""
    problems: tuple[str, ...] = ()


def primary(tag: str) -> str:
    """`pt-br` -> `pt`."""
    return normal_tag(tag).split("-", 1)[0]


def split_front_matter(text: str) -> tuple[str | None, str, int]:
    """(front matter or None, body, the body's first line number)."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != FENCE:
        return None, text, 1
    for i, line in enumerate(lines[1:], start=1):
        if line.strip() == FENCE:
            return "\n".join(lines[1:i]), "\n".join(lines[i + 1 :]), i + 2
    return "\n".join(lines[1:]), "", len(lines) + 1


def parse(path: str, text: str) -> Article:
    """An article from a file's text; what is wrong with it goes into `problems`."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n")
    stem = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    problems: list[str] = []
    front, body, _ = split_front_matter(text)
    meta: dict[str, Any] = {}
    if front is None:
        if text.lstrip().startswith("---"):
            problems.append("YAML front matter (---) is not read: use TOML between +++ lines")
        else:
            problems.append("no front matter: the file must start with a +++ line")
    else:
        try:
            meta = tomllib.loads(front)
        except tomllib.TOMLDecodeError as exc:
            problems.append(f"front matter is not valid TOML: {exc}")
    for key in meta:
        if key not in KEYS:
            problems.append(f"unknown front matter key {key!r}; expected one of {', '.join(KEYS)}")
    values = {k: _text(meta, k, problems) for k in ("id", "title", "language", "translation_of")}
    tags = meta.get("tags", [])
    if isinstance(tags, str):
        tags = [tags]
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        problems.append("tags: expected a list of strings")
        tags = []
    article_id = values["id"] or stem
    if not ID_PATTERN.match(article_id):
        problems.append(f"id {article_id!r}: use letters, digits, '-', '_' and '.' (it is part of URLs)")
    language = normal_tag(values["language"])
    if not language:
        problems.append("missing language")
    elif not LANGUAGE_PATTERN.match(language):
        problems.append(f"language {values['language']!r}: expected a tag such as en, hu or zh")
    if not values["title"].strip():
        problems.append("missing title")
    if not body.strip():
        problems.append("empty body")
    return Article(path=path, id=article_id, language=language, title=values["title"].strip(),
                   tags=tuple(t.strip() for t in tags if t.strip()), body=body.strip("\n"),
                   translation_of=normal_tag(values["translation_of"]), problems=tuple(problems))


def _text(meta: dict[str, Any], key: str, problems: list[str]) -> str:
    value = meta.get(key, "")
    if not isinstance(value, str):
        problems.append(f"{key}: expected a string")
        return ""
    return value
