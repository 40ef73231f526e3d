"""Identity normalisation: one spelling per address, so one customer per person.

`(kind, address)` is unique in the store, so every address is normalised the
same way before it is looked up or stored: email lower-cased and stripped,
phone numbers (however a channel spells them: `tel:`, `sms:`, `whatsapp:`) in
E.164 via phonenumbers, Mastodon handles as `user@instance`, Slack users as
`USER@TEAM` upper-cased (ids are only unique in their workspace), Telegram users
as their decimal id. The kinds are `adapters.base.IDENTITY_KINDS`; a plugin's own
kind is only stripped. Customer resolution and merging live in the store
(omnidesk/store/identities.py) and the service layer.
"""

from __future__ import annotations

import re
import unicodedata

import phonenumbers

from adapters.base import IDENTITY_KINDS
from omnidesk.errors import UserError, shown

#: The identity kinds (one list, the contract's); "sms" and "whatsapp" are channel
#: spellings of a phone number, read as one.
KINDS = IDENTITY_KINDS
PHONE_KINDS = frozenset({"phone", "whatsapp", "sms"})
#: The identity kind a reply may copy others on (Cc, Bcc are mail headers; no chat has them).
COPY_KIND = "email"


def can_copy(kind: str) -> bool:
    """Whether a reply to an address of identity `kind` can have Cc and Bcc."""
    return kind == COPY_KIND

_WHITESPACE = re.compile(r"\s+")
_PREFIXES = {
    "email": ("mailto:",),
    "phone": ("tel:", "sms:", "whatsapp:"),
    "sms": ("sms:", "tel:"),
    "whatsapp": ("whatsapp:", "tel:"),  # Twilio writes "whatsapp:+36..."
}


_SLACK = re.compile(r"[UW][A-Z0-9]{2,}@[TE][A-Z0-9]{2,}")


class InvalidIdentity(UserError):
    """An address that cannot be an identity of its kind (empty, no '@', not a phone number)."""


def _strip_prefix(kind: str, value: str) -> str:
    for prefix in _PREFIXES.get(kind, ()):
        if value[: len(prefix)].lower() == prefix:
            return value[len(prefix) :].strip()
    return value


def normalise(kind: str, address: str, *, default_region: str | None = None) -> str:
    """The stored form of `address` for identity `kind`; raises InvalidIdentity.

    `default_region` (ISO 3166 code, e.g. "HU") lets national phone numbers
    without a `+` be read; without it such numbers are rejected rather than guessed.
    """
    kind = kind.strip().lower()
    value = unicodedata.normalize("NFC", address or "").strip()
    value = _strip_prefix(kind, value)
    if kind == "email":
        value = value.strip("<> \t").lower()
        local, at, domain = value.rpartition("@")
        if not at or not local or not domain or _WHITESPACE.search(value):
            raise InvalidIdentity(f"not an email address: {address!r}")
        return value
    if kind in PHONE_KINDS:
        return _phone(value, address, default_region)
    if kind == "mastodon":
        # Handles are case-insensitive; "@ann@social.example" and "Ann@Social.Example" are one person.
        value = value.lstrip("@").lower()
        if not value or _WHITESPACE.search(value):
            raise InvalidIdentity(f"not a Mastodon handle: {address!r}")
        return value
    if kind == "slack":
        value = value.upper()
        if not _SLACK.fullmatch(value):
            raise InvalidIdentity(f"not a Slack user: {shown(address)}"
                                  " (expected USER@TEAM, e.g. U0123ABC@T0TEAM01)")
        return value
    if kind == "telegram":
        if not (value.isascii() and value.isdigit()) or len(value) > 20:
            raise InvalidIdentity(f"not a Telegram user id: {shown(address)} (expected digits, e.g. 5550001)")
        return str(int(value))
    if not value:
        raise InvalidIdentity(f"empty {kind or 'identity'} address")
    return value


def _phone(value: str, original: str, default_region: str | None) -> str:
    try:
        number = phonenumbers.parse(value, (default_region or "").upper() or None)
    except phonenumbers.NumberParseException as exc:
        hint = "" if value.startswith("+") or default_region else " (add a +country code)"
        raise InvalidIdentity(f"not a phone number: {original!r}{hint}") from exc
    if not phonenumbers.is_possible_number(number):
        raise InvalidIdentity(f"not a possible phone number: {original!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_typed(kind: str, address: str) -> str:
    """`normalise` for an address a person typed (`reply --to`), where a typo must not
    become a recipient: an email address must also pass `email_address_problem`."""
    value = normalise(kind, address)
    if kind.strip().lower() == "mastodon":
        user, at, instance = value.partition("@")
        if not (user and at and "." in instance and "@" not in instance):
            raise InvalidIdentity(f"not a Mastodon handle: {shown(address)}"
                                  " (expected acct@instance, e.g. ann@mastodon.social)")
    if kind.strip().lower() == "email":
        from adapters.base import email_address_problem

        problem = email_address_problem(value)
        if problem is not None:
            raise InvalidIdentity(f"not an email address: {shown(address)} ({problem})")
    return value


def try_normalise(kind: str, address: str, *, default_region: str | None = None) -> str | None:
    """`normalise`, or None when the address is not valid (ingest keeps such messages anyway)."""
    try:
        return normalise(kind, address, default_region=default_region)
    except InvalidIdentity:
        return None


def display_name(name: str) -> str:
    """A display name as stored: NFC, one line, surrounding quotes and spaces removed.

    Accents (Hungarian `Kovács Dániel`) and right-to-left scripts (Persian
    `زهرا احمدی`) are kept as written; NFC makes the decomposed `a` + U+0301
    spelling equal the precomposed `á`.
    """
    value = unicodedata.normalize("NFC", name or "")
    value = _WHITESPACE.sub(" ", value).strip()
    while len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1].strip()
    return value
