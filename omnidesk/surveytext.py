"""What a survey asks and how an answer is read: scales, default questions, ratings, questions.

Foundation, because ingest (omnidesk/inbound/placement.py) reads a chat answer and the
services word the question. The definitions of the figures are in docs/reports.md.
"""

from __future__ import annotations

import re

#: Each kind's scale (lowest, highest).
SCALES = {"csat": (1, 5), "nps": (0, 10)}

#: The questions unless `[surveys]` gives them; `{scale}` is replaced by the channel's way to answer.
DEFAULT_QUESTIONS = {
    "csat": (("en", "How did we do? {scale}"),
             ("hu", "Mennyire volt elégedett velünk? {scale}"),
             ("de", "Wie zufrieden waren Sie mit uns? {scale}")),
    "nps": (("en", "How likely are you to recommend us to a friend? {scale}"),
            ("hu", "Mennyire valószínű, hogy ajánlana minket egy ismerősének? {scale}"),
            ("de", "Wie wahrscheinlich ist es, dass Sie uns weiterempfehlen? {scale}")),
}

_RATING = re.compile(r"^\s*(\d{1,2})\s*(?:/\s*(?:5|10))?\s*[.!]?\s*$")
_STARS = re.compile(r"^\s*((?:\u2b50|\u2605)\ufe0f?){1,5}\s*$")
_THUMBS = {"\U0001f44d": 5, "\U0001f44e": 1}
#: Question words that make a comment a question (besides "?", "？" and "؟").
QUESTION_WORDS = frozenset({
    "how", "why", "what", "when", "where", "who", "which", "can", "could", "would", "is", "are", "do",
    "does", "hogyan", "miért", "mikor", "hol", "mi", "ki", "wie", "warum", "wann", "wo", "was",
})
_WORD = re.compile(r"\w+")


def parse_rating(text: str, kind: str) -> int | None:
    """The rating a short message gives on `kind`'s scale, or None.

    "4", "4/5", "4." and, for CSAT, stars ("⭐⭐⭐⭐") or a thumb (👍 = 5, 👎 = 1)."""
    low, high = SCALES[kind]
    m = _RATING.match(text)
    if m:
        value = int(m.group(1))
        return value if low <= value <= high else None
    if kind == "csat":
        if _STARS.match(text):
            return sum(1 for ch in text if ch in "\u2b50\u2605")
        return _THUMBS.get(text.strip().replace("\ufe0f", ""))
    return None


def asks_something(comment: str) -> bool:
    """A comment that asks a question (a question mark, or a question word first): it reopens."""
    if any(mark in comment for mark in "?？؟"):
        return True
    words = _WORD.findall(comment.lower())
    return bool(words) and words[0] in QUESTION_WORDS


def chat_scale(kind: str) -> str:
    """How to answer in a chat: the range to reply with."""
    low, high = SCALES[kind]
    return f"({low}-{high})"
