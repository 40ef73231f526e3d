"""Status HTML as text a person reads, and characters counted the way Mastodon counts them.

A status's `content` is HTML the author's server wrote (ours sanitises it, a remote one may
not have): mentions are `<a class="mention">@<span>ann</span></a>`, links are shortened with
`<span class="invisible">` parts. The text keeps every word: a mention becomes the full
`@ann@host` (from the status's `mentions`), a link whose words differ from its target
becomes `words (https://...)`, scripts and styles are dropped (inscriptis, with its strict
CSS profile so inline spans add no spaces), and control characters and bidi overrides,
which no status means to show, are removed.

Mastodon counts a status as grapheme clusters after replacing each URL with 23
characters and each mention with its `@username` part; here code points are counted,
which is never less, so a text said to fit does fit.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Iterable, Mapping
from typing import Any

from adapters.base import valid_text

URL_CHARACTERS = 23
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_BLANKS = re.compile(r"\n{3,}")
#: Tags of the HTML Mastodon itself writes; content with others goes through inscriptis.
_SIMPLE_TAGS = frozenset({"p", "br", "span", "a", "b", "strong", "i", "em", "u", "del", "s", "code"})
_TAG_NAME = re.compile(r"<\s*/?\s*([a-zA-Z][\w-]*)")
_ANY_TAG = re.compile(r"<[^>]*>")
_LINK = re.compile(r"<a\b([^>]*)>(.*?)</a\s*>", re.IGNORECASE | re.DOTALL)
_PARAGRAPH = re.compile(r"\s*</p\s*>\s*(?:<p\b[^>]*>)?\s*|\s*<p\b[^>]*>\s*", re.IGNORECASE)
_BREAK = re.compile(r"\s*<br\b[^>]*>\s*", re.IGNORECASE)
_WHITESPACE = re.compile(r"[ \t\r\n\f]+")
_URL = re.compile(r"https?://[^\s<>\"]+", re.IGNORECASE)
_MENTION = re.compile(r"(?<![\w@/])@(\w+(?:[\w.-]*\w)?)(?:@[\w-]+(?:\.[\w-]+)+)?", re.UNICODE)


def clean(text: str) -> str:
    """`text` without control characters (newlines and tabs stay) and bidi embeddings or overrides."""
    return _CONTROLS.sub("", text)


def _rewrite_links(tree: Any, mentions: Mapping[str, str]) -> None:
    """Mentions as `@acct` (by their profile URL), links whose words are not their URL as `words (URL)`."""
    for anchor in tree.iter("a"):
        href = str(anchor.get("href") or "")
        replacement = _link_text(href, str(anchor.get("class") or "").split(), anchor.text_content().strip(),
                                 mentions)
        if replacement is None:
            continue
        tail = anchor.tail
        for child in list(anchor):
            anchor.remove(child)
        anchor.text = replacement
        anchor.tail = tail


@functools.lru_cache(maxsize=4096)  # the same people write again and again
def full_acct(acct: str, domain: str) -> str:
    """`ann` (an account of the instance) as `ann@domain`; `ann@host` as it is; lower case."""
    acct = valid_text(clean(acct)).strip().lstrip("@").lower()
    return acct if "@" in acct else f"{acct}@{domain.lower()}"


def _link_text(href: str, classes: list[str], words: str, mentions: Mapping[str, str]) -> str | None:
    """What a link reads as (see the module docstring); None: its own words."""
    if "mention" in classes and href in mentions:
        return "@" + mentions[href]
    if "mention" in classes or "hashtag" in classes or not href.startswith(("http://", "https://")):
        return None
    if not words or words.rstrip("/") in (href.rstrip("/"), href.split("://", 1)[-1].rstrip("/")):
        return words or href
    return f"{words} ({href})"


def _simple(content: str, mentions: Mapping[str, str]) -> str | None:
    """The text of HTML as Mastodon writes it (paragraphs, line breaks, links, spans, inline
    emphasis), read with a few patterns; None when it has anything else, for inscriptis."""
    if not all(tag.lower() in _SIMPLE_TAGS for tag in _TAG_NAME.findall(content)):
        return None

    def link(match: re.Match[str]) -> str:
        attrs = match.group(1)
        href = html.unescape(_attr(attrs, "href"))
        words = _unwrap(match.group(2))
        said = _link_text(href, html.unescape(_attr(attrs, "class")).split(), words, mentions)
        return html.escape(said if said is not None else words, quote=False)

    text = _WHITESPACE.sub(" ", _LINK.sub(link, content))
    text = _BREAK.sub("\n", _PARAGRAPH.sub("\n\n", text))
    return "\n".join(line.strip(" ") for line in _unwrap(text).split("\n"))


_ATTRS = {name: re.compile(rf"""\b{name}\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
          for name in ("href", "class")}


def _attr(attrs: str, name: str) -> str:
    found = _ATTRS[name].search(attrs)
    return next((g for g in found.groups() if g is not None), "") if found else ""


def _unwrap(fragment: str) -> str:
    """Text without tags, entities decoded."""
    return html.unescape(_ANY_TAG.sub("", fragment))


def html_to_text(content: str, mentions: Iterable[Mapping[str, Any]] = (), domain: str = "") -> str:
    """The words of a status's HTML `content`; `mentions` is the status's `mentions` list, whose
    accounts of the instance (`domain`) are shown as `@ann@domain`."""
    if not content.strip():
        return ""
    by_url = {str(m.get("url")): full_acct(str(m.get("acct")), domain) if domain else str(m.get("acct"))
              for m in mentions if m.get("url") and m.get("acct")}
    text = _simple(clean(content), by_url)
    if text is None:
        text = _inscriptis(content, by_url)
    lines = [line.rstrip() for line in clean(text).split("\n")]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip("\n")


def _inscriptis(content: str, by_url: Mapping[str, str]) -> str:
    """Any HTML as text with inscriptis (lists, quotes, code, tables; scripts dropped)."""
    from inscriptis.css_profiles import CSS_PROFILES
    from inscriptis.html_engine import Inscriptis
    from inscriptis.model.config import ParserConfig

    try:
        import lxml.html

        tree = lxml.html.fragment_fromstring(clean(content), create_parent="div")
        _rewrite_links(tree, by_url)
        text = Inscriptis(tree, ParserConfig(css=CSS_PROFILES["strict"])).get_text()
    except Exception:  # lxml refuses some garbage; the agent still gets the words
        text = html.unescape(re.sub(r"<[^>]*>", " ", content))
    return str(text)


def countable_length(text: str) -> int:
    """Characters of `text` as the instance's limit counts them (see the module docstring)."""
    text = _URL.sub("x" * URL_CHARACTERS, text)
    return len(_MENTION.sub(lambda m: "@" + m.group(1), text))


def mentions_handle(text: str, acct: str, local: bool) -> bool:
    """Whether `text` already mentions `acct` (`ann@host`); a local account also as plain `@ann`."""
    user, _, host = acct.partition("@")
    domain = rf"(?:@{re.escape(host)})?" if local else rf"@{re.escape(host)}"
    pattern = rf"(?<![\w@/])@{re.escape(user)}" + domain
    return re.search(pattern + r"(?![\w@-]|\.\w)", text, re.IGNORECASE) is not None
