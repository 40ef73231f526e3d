"""Which text of a macro a reply gets: by the reply's channel and the customer's language.

A macro's texts are keyed by variant: a style (`email`, `chat`, `sms`), a channel kind
(`slack`) or a channel name (`support-hu`). The reply's channel has a style, read from
what it can do (`style`): a channel with subjects writes email, a reply to a phone
number is an SMS, anything else is chat. The variants tried, best first, are the
channel's name, its kind, its style, then the fallback styles of `FALLBACK`; the
languages tried are `langpick.language_order` (the customer's, its primary subtag, the
desk's, any). Language wins over shape: a Hungarian customer on SMS gets the Hungarian
chat text before the English SMS one. When no variant has any of those languages, the
first variant of the chain that exists gives its first language.
"""

from __future__ import annotations

from typing import NamedTuple

from omnidesk.langpick import language_order
from omnidesk.macros.definition import Macro, MacroError

STYLES = ("email", "chat", "sms")
#: Styles tried after the reply's own. SMS never falls back to email: a mail text costs many segments.
FALLBACK = {"email": ("chat", "sms"), "chat": ("sms", "email"), "sms": ("chat",)}


class Target(NamedTuple):
    """Where a reply goes, as far as choosing a text is concerned."""

    channel: str  # the channel's name
    kind: str  # its adapter kind
    style: str  # email | chat | sms
    language: str | None  # the customer's language, None when unknown


class Choice(NamedTuple):
    variant: str
    language: str
    source: str


def style(has_subject: bool, address_kind: str) -> str:
    """The style of a reply: email where the channel has subjects, sms to a phone number, else chat."""
    if has_subject:
        return "email"
    return "sms" if address_kind == "phone" else "chat"


def variant_chain(target: Target) -> tuple[str, ...]:
    """The variant keys tried for `target`, best first, without repeats."""
    return tuple(dict.fromkeys((target.channel, target.kind, target.style, *FALLBACK[target.style])))


def choose(macro: Macro, target: Target, desk_language: str) -> Choice:
    """The text `macro` gives a reply to `target`; MacroError when it has none for the channel's style."""
    chain = [v for v in variant_chain(target) if v in macro.texts]
    for language in language_order(target.language, desk_language):
        for variant in chain:
            if language in macro.texts[variant]:
                return Choice(variant, language, macro.texts[variant][language])
    if not chain:
        have = ", ".join(sorted(macro.texts))
        raise MacroError(f"macro {macro.name!r} has no text for {target.style} replies"
                         f" (on {target.channel}); it has {have}",
                         hint=f"add [text.{target.style}] to {macro.path or macro.name}")
    first = chain[0]
    language = next(iter(macro.texts[first]))
    return Choice(first, language, macro.texts[first][language])
