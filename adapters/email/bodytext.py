"""Body text helpers: HTML to text, format=flowed, and quote/signature folding.

HTML conversion uses inscriptis (keeps tables and lists readable); folding uses
mail-parser-reply, which knows reply headers ("On ... wrote:", Outlook
"From:/Sent:" blocks) and signatures in many languages. The full text is
always kept by the caller; folding only decides what an agent sees first.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

#: Bodies longer than this are not folded (the reply regexes are not linear in the worst case).
MAX_FOLD_CHARS = 60_000

#: mail-parser-reply languages to recognise. Left out: "david" (a vendor format), and Danish and
#: Swedish, whose signature openers ("Tak", "Kh", "/word") would cut "Take a look..." short.
FOLD_LANGUAGES = ("en", "de", "fr", "es", "it", "nl", "pl", "cs", "ja", "ko", "zh")

_TAGS = re.compile(r"<[^>]*>")
_BLANKS = re.compile(r"\n{3,}")


def normalise_newlines(text: str) -> str:
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def html_to_text(html: str) -> str:
    """Readable text of an HTML body (inscriptis); a tag stripper if that fails."""
    if not html.strip():
        return ""
    try:
        from inscriptis import get_text

        text = get_text(html)
    except Exception:  # lxml refuses some garbage; the agent still gets words
        import html as html_lib

        text = html_lib.unescape(_TAGS.sub(" ", html))
    lines = [line.rstrip() for line in normalise_newlines(text).split("\n")]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip("\n") + "\n"


def unflow(text: str, delsp: bool) -> str:
    """Undo RFC 3676 format=flowed: a line ending in a space continues on the next."""
    out: list[str] = []
    buffer = ""
    for line in text.split("\n"):
        quote = len(line) - len(line.lstrip(">"))
        content = line[quote:]
        if content.startswith(" ") and quote:
            content = content[1:]  # space-stuffing after the quote marks
        elif content.startswith(" "):
            content = content[1:]
        if content.endswith(" ") and content != "-- ":
            buffer += content[:-1] if delsp else content
            continue
        full = ">" * quote + (" " if quote else "") + buffer + content
        out.append(full)
        buffer = ""
    if buffer:
        out.append(buffer)
    return "\n".join(out)


@lru_cache(maxsize=1)
def _reply_parser() -> Any:
    from mailparser_reply import EmailReplyParser

    return EmailReplyParser(languages=list(FOLD_LANGUAGES))


def _may_fold(text: str) -> bool:
    """A cheap superset of what mail-parser-reply reacts to, so plain bodies skip it.

    The library builds and runs large regexes per message (about 1 ms); most
    support mail has no quote header, separator or signature opener at all.
    True when a line starts like a signature or "Sent from" footer (taken from
    the library's own word lists), a separator or a short "Label:" (Outlook
    header blocks), or ends with a colon ("... wrote:"). Line by line with an
    anchored match: one multi-line search tried the alternatives at every
    character, a sixth of parsing a message.
    """
    starts = _line_start().match
    return any(starts(line) or line.rstrip().endswith((":", "：")) for line in text.split("\n"))


@lru_cache(maxsize=1)
def _line_start() -> re.Pattern[str]:
    from mailparser_reply.constants import MAIL_LANGUAGES

    words: list[str] = []
    for language in (*FOLD_LANGUAGES, "en"):
        entry = MAIL_LANGUAGES.get(language, {})
        for key in ("signatures", "sent_from"):
            value = entry.get(key) or []
            words.extend([value] if isinstance(value, str) else value)
    openers = "|".join(f"(?:{w})" for w in words if w)
    return re.compile(rf"[ \t>*]*(?:[-_]{{2}}|- ?\w|{openers}|\w[\w .()-]{{0,30}}\s?[:：])", re.IGNORECASE)


_QUOTE_LINE = re.compile(r"^\s*>")
# "-----Original Message-----", "________", "--------" left at the end once the quote is cut.
_TRAILING_SEPARATOR = re.compile(r"(?:\n\s*(?:-{4,}[^\n]{0,40}-{4,}|[-_=]{8,})\s*)+$")


def fold(text: str) -> str | None:
    """The part of `text` an agent reads first: the newest reply, without quotes or signature.

    Returns None when nothing was folded (the display text is the full text).
    """
    if not text.strip() or len(text) > MAX_FOLD_CHARS:
        return None
    latest = None
    if _may_fold(text):
        try:
            replies = _reply_parser().read(text).replies
            if len(replies) > 1 or (replies and replies[0].signatures):
                latest = replies[0].body  # else nothing recognised: keep the original layout
        except Exception:  # a regex blow-up must never lose the message
            latest = None
    if latest is None:
        latest = _cut_at_generic_header(text)
    candidate = latest if latest else text
    folded = _strip_trailing_quote(candidate)
    if folded is not None:
        candidate = folded
    candidate = candidate.strip("\n")
    if candidate.rstrip()[-1:] in ("-", "_", "="):  # the only endings the pattern can match
        candidate = _TRAILING_SEPARATOR.sub("", candidate).strip("\n")
    if not candidate.strip() or candidate.strip() == text.strip():
        return None
    return candidate + "\n"


_HEADER_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_HEADER_WHEN = re.compile(r"\b\d{1,2}[:.]\d{2}\b|\b(?:19|20)\d{2}\b")


def _cut_at_generic_header(text: str) -> str | None:
    """Text before a reply header in a language the library lacks.

    "ср, 30 апр. 2025 г. в 15:19, John Doe <doe@example.com>:", "Em 10 de julho
    de 2017 às 16:32, John (john@x.com) escreveu:", "pe 20. lokakuuta 2017 klo
    17.50 John <j@x.com> kirjoitti:": one to three lines that end with a colon
    and hold both an email address and a date or time.
    """
    if "@" not in text or (":" not in text and "：" not in text):
        return None
    lines = text.split("\n")
    for index in range(1, len(lines)):
        if not lines[index].strip():
            continue
        for span in (1, 2, 3):
            block = " ".join(part.strip() for part in lines[index : index + span])
            if not block.endswith((":", "：")) or len(block) > 300:
                continue
            if _HEADER_EMAIL.search(block) and _HEADER_WHEN.search(block):
                before = "\n".join(lines[:index]).strip("\n")
                return before if before.strip() else None
    return None


def _strip_trailing_quote(text: str) -> str | None:
    """Drop a trailing block of `>` lines (a quote with no "wrote:" header above it)."""
    lines = text.rstrip("\n").split("\n")
    end = len(lines)
    while end and (not lines[end - 1].strip() or _QUOTE_LINE.match(lines[end - 1])):
        end -= 1
    if end == len(lines) or end == 0:
        return None
    if not any(_QUOTE_LINE.match(line) for line in lines[end:]):
        return None
    return "\n".join(lines[:end])
