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

import re
from collections.abc import Iterable, Mapping
from typing import Any

URL_CHARACTERS = 23
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_BLANKS = re.compile(r"\n{3,}")
_URL = re.compile(r"https?://[^\s<>\"]+", re.IGNORECASE)
_MENTION = re.compile(r"(?<![\w@/])@(\w+(?:[\w.-]*\w)?)(?:@[\w-]+(?:\.[\w-]+)+)?", re.UNICODE)


def clean(text: str) -> str:
    """`text` without control characters (newlines and tabs stay) and bidi embeddings or overrides."""
    return _CONTROLS.sub("", text)


def _rewrite_links(tree: Any, mentions: Mapping[str, str]) -> None:
    """Mentions as `@acct` (by their profile URL), links whose words are not their URL as `words (URL)`."""
    for anchor in tree.iter("a"):
        href = str(anchor.get("href") or "")
        classes = str(anchor.get("class") or "").split()
        words = anchor.text_content().strip()
        if "mention" in classes and href in mentions:
            replacement = "@" + mentions[href]
        elif "mention" in classes or "hashtag" in classes or not href.startswith(("http://", "https://")):
            continue
        elif words.rstrip("/") in (href.rstrip("/"), href.split("://", 1)[-1].rstrip("/")) or not words:
            replacement = words or href
        else:
            replacement = f"{words} ({href})"
        tail = anchor.tail
        for child in list(anchor):
            anchor.remove(child)
        anchor.text = replacement
        anchor.tail = tail


def full_acct(acct: str, domain: str) -> str:
    """`ann` (an account of the instance) as `ann@domain`; `ann@host` as it is; lower case."""
    acct = acct.strip().lstrip("@").lower()
    return acct if "@" in acct else f"{acct}@{domain.lower()}"


def html_to_text(content: str, mentions: Iterable[Mapping[str, Any]] = (), domain: str = "") -> str:
    """The words of a status's HTML `content`; `mentions` is the status's `mentions` list, whose
    accounts of the instance (`domain`) are shown as `@ann@domain`."""
    if not content.strip():
        return ""
    from inscriptis.css_profiles import CSS_PROFILES
    from inscriptis.html_engine import Inscriptis
    from inscriptis.model.config import ParserConfig

    by_url = {str(m.get("url")): full_acct(str(m.get("acct")), domain) if domain else str(m.get("acct"))
              for m in mentions if m.get("url") and m.get("acct")}
    try:
        import lxml.html

        tree = lxml.html.fragment_fromstring(clean(content), create_parent="div")
        _rewrite_links(tree, by_url)
        text = Inscriptis(tree, ParserConfig(css=CSS_PROFILES["strict"])).get_text()
    except Exception:  # lxml refuses some garbage; the agent still gets the words
        import html

        text = html.unescape(re.sub(r"<[^>]*>", " ", content))
    lines = [line.rstrip() for line in clean(text).split("\n")]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip("\n")


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
