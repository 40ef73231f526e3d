"""Which articles answer a conversation: its latest inbound message against the index.

A message is prose, not a query: its words are OR-ed, so bm25 (title 4, tags 2, body 1)
ranks the articles sharing the most, and rarest, of them. Words are split and folded as
the index splits them (omnidesk/textindex.py: CJK bigrams; accents and case folded).
There is no stemmer for five languages, so a word of six letters or more also matches
by its first five (`jelszavamat` finds `jelszó`, `parolimni` finds `parol`): Hungarian
and Uzbek inflect by suffixes, and the exact form still ranks higher.

Translations share an article id and are one suggestion: the translation in the
customer's language when there is one (the customer's language, else the message's,
else none), otherwise the best-matching one; suggestions in that language come first.
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING, NamedTuple

from omnidesk import textindex
from omnidesk.kb import library, markup
from omnidesk.kb.article import primary
from omnidesk.langpick import normal_tag
from omnidesk.store import kb as store_kb

if TYPE_CHECKING:
    from omnidesk.desk import Desk
    from omnidesk.model import Conversation, Message

#: At most this many words of a message make the query (the longest, when there are more).
MAX_TERMS = 32
#: Words this long or longer also match by their first PREFIX letters.
STEM_FROM = 6
PREFIX = 5
#: Matches fetched before translations are grouped.
CANDIDATES = 60
LIMIT = 5

_TOKEN = re.compile(r"[^\W_]+")
_NOT_CJK = re.compile(f"[^{textindex.CJK_CLASS}]+")


def _fold_run(match: re.Match[str]) -> str:
    decomposed = unicodedata.normalize("NFKD", match.group())
    return "".join(c for c in decomposed if not unicodedata.category(c).startswith("M")).lower()


def fold(text: str) -> str:
    """Accents and case folded as the tokenizer folds them; CJK left as written (NFKD would take
    Hangul syllables apart, which the tokenizer keeps). The help centre's search.js does the same."""
    return _NOT_CJK.sub(_fold_run, text)


def tokens(text: str) -> list[str]:
    """`text` as index tokens: folded, CJK runs as bigrams, split at everything not a letter or digit."""
    return _TOKEN.findall(textindex.prepare(fold(text)))


class Suggestion(NamedTuple):
    article_id: str
    language: str
    title: str
    excerpt: str
    url: str  # on the published help centre; "" without `[kb] public_url`
    score: float  # bm25 of the best-matching translation: lower is better
    path: str
    in_language: bool  # in the language asked for
    languages: tuple[str, ...]  # every language the article is written in
    body: str = ""  # the shown translation's Markdown

    def link_text(self) -> str:
        """What a reply gets for a link: `Title: URL` ("" without a help-centre URL)."""
        return f"{self.title}: {self.url}" if self.url else ""

    def excerpt_text(self) -> str:
        """What a reply gets for an excerpt: the opening of the article, then its link."""
        return "\n".join(part for part in (self.excerpt, self.url) if part)


def words(text: str) -> list[str]:
    """`text` split and folded as the index holds it, without repeats, in order."""
    return list(dict.fromkeys(t for t in tokens(text) if len(t) > 1 or textindex.has_cjk(t)))


def match_expression(text: str) -> str | None:
    """The FTS5 expression for a message's text: its words OR-ed; None when it has none."""
    found = words(text)
    if len(found) > MAX_TERMS:
        keep = set(sorted(found, key=len, reverse=True)[:MAX_TERMS])
        found = [w for w in found if w in keep]
    parts = []
    for word in found:
        parts.append(f'"{word}"')
        if len(word) >= STEM_FROM and not textindex.has_cjk(word):
            parts.append(f'"{word[:PREFIX]}"*')
    return " OR ".join(dict.fromkeys(parts)) or None


def article_url(desk: Desk, article_id: str, language: str) -> str:
    """The article's page on the published help centre (`kb publish` writes this layout)."""
    base = desk.settings.kb.public_url
    return f"{base}/{language or 'und'}/{article_id}.html" if base else ""


async def suggest(desk: Desk, text: str, language: str | None = None, *, limit: int = LIMIT,
                  refresh: bool = True) -> list[Suggestion]:
    """The best articles for `text`, translations folded into one, `language` first."""
    if refresh:
        await library.refresh(desk, force=False)
    expr = match_expression(text)
    if expr is None or limit <= 0:
        return []
    hits = await store_kb.search(desk.db, expr, limit=CANDIDATES)
    best: dict[str, store_kb.Hit] = {}
    for hit in hits:  # best first: the first hit of an article is its best translation
        best.setdefault(hit.article_id, hit)
    wanted = primary(language or "")
    versions = await store_kb.translations(desk.db, list(best))
    found = []
    for article_id, hit in best.items():
        group = versions.get(article_id, [])
        matched = next((a for a in group if a.rowid == hit.rowid), None)
        if matched is None:
            continue  # changed since the search: the next request sees it
        shown = _pick(group, wanted, language or "") or matched
        in_language = bool(wanted) and primary(shown.language) == wanted
        found.append(Suggestion(
            article_id=article_id, language=shown.language, title=shown.title,
            excerpt=markup.excerpt(shown.body, shown.title),
            url=article_url(desk, article_id, shown.language),
            score=hit.score, path=shown.path, in_language=in_language,
            languages=tuple(dict.fromkeys(a.language for a in group)), body=shown.body))
    found.sort(key=lambda s: (not s.in_language, s.score))
    return found[:limit]


def _pick(group: list[store_kb.StoredArticle], wanted: str, tag: str) -> store_kb.StoredArticle | None:
    """The translation in the wanted language: the exact tag first (`pt-br`), then its primary."""
    if not wanted:
        return None
    exact = [a for a in group if a.language == normal_tag(tag)]
    return (exact or [a for a in group if primary(a.language) == wanted] or [None])[0]


def latest_inbound(conversation: Conversation) -> Message | None:
    inbound = (m for m in reversed(conversation.messages) if m.direction == "in" and not m.deleted_at)
    return next(inbound, None)


def conversation_language(conversation: Conversation, message: Message | None) -> str | None:
    """The customer's language if set, else the message's (detected), else None."""
    return conversation.customer.language or (message.language if message is not None else None) or None


async def for_conversation(desk: Desk, conversation: Conversation, *, limit: int = LIMIT) -> list[Suggestion]:
    """Suggestions for a conversation's latest inbound message (none without one)."""
    message = latest_inbound(conversation)
    if message is None:
        return []
    text = f"{message.subject}\n{message.display_text or message.text}"
    return await suggest(desk, text, conversation_language(conversation, message), limit=limit)
