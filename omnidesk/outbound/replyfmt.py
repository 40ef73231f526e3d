"""Pure helpers for building a reply: subject, references, quoting, Message-ID.

No I/O here, so the rules are easy to test one by one; replies.queue_reply
gathers the facts from the store and calls these.
"""

from __future__ import annotations

import re
import uuid

from omnidesk.timeutil import from_ms

#: How many ids go into an email References header (the newest ones).
MAX_REFERENCES = 20

# "Re:", "RE:", "Aw:", "Sv:", "Antw:", "Vá:" (Hungarian), "回复:", "答复:", with optional "[2]" counters.
_REPLY_PREFIX = re.compile(
    r"^\s*(?:(?:re|aw|sv|vs|antw|v[aá]|回复|答复|رد)(?:\[\d+\])?\s*[:：]\s*)+", re.IGNORECASE
)
_TOKEN = re.compile(r"\s*\[#\d+\]\s*")


def base_subject(subject: str) -> str:
    """A subject without reply prefixes and without our `[#N]` tokens."""
    text = " ".join(subject.split())
    while True:
        stripped = _REPLY_PREFIX.sub("", text)
        stripped = _TOKEN.sub(" ", stripped).strip()
        if stripped == text:
            return text
        text = stripped


def reply_subject(subject: str, conversation_id: int, *, token: bool) -> str:
    """`Re: <subject> [#N]` (token on) or `Re: <subject>`; never `Re: Re:`."""
    base = base_subject(subject)
    parts = ["Re:"] + ([base] if base else []) + ([f"[#{conversation_id}]"] if token else [])
    return " ".join(parts)


def references(ids: list[str], in_reply_to: str | None) -> tuple[str, ...]:
    """The thread's ids, oldest first, without duplicates, parent last, at most MAX_REFERENCES."""
    seen: dict[str, None] = {}
    for ref in ids:
        if ref and ref != in_reply_to:
            seen.pop(ref, None)
            seen[ref] = None
    ordered = list(seen)
    if in_reply_to:
        ordered.append(in_reply_to)
    return tuple(ordered[-MAX_REFERENCES:])


def quote(text: str, *, author: str, sent_at: int, tz_offset: int | None) -> str:
    """The usual `On <date>, <author> wrote:` block with `> ` quoted lines."""
    when = from_ms(sent_at, tz_offset).strftime("%a, %d %b %Y %H:%M")
    lines = text.rstrip("\n").splitlines() or [""]
    quoted = "\n".join(
        ">" if not line else f"> {line}" if not line.startswith(">") else f">{line}" for line in lines
    )
    return f"On {when}, {author} wrote:\n{quoted}"


def with_quote(reply: str, quoted: str | None) -> str:
    if not quoted:
        return reply
    return f"{reply.rstrip()}\n\n{quoted}\n"


def message_id_domain(address: str | None) -> str:
    if address and "@" in address:
        domain = address.rpartition("@")[2].strip().strip(">").lower()
        if domain:
            return domain
    return "omnidesk.invalid"


def new_message_ref(address: str | None) -> str:
    """A fresh Message-ID in our channel's domain: `<hex@domain>`."""
    return f"<{uuid.uuid4().hex}@{message_id_domain(address)}>"
