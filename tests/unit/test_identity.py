"""Identity normalisation: one spelling per address, names kept as written."""

from __future__ import annotations

import unicodedata

import pytest

from omnidesk.customers.identity import InvalidIdentity, display_name, normalise, try_normalise
from omnidesk.errors import UserError


@pytest.mark.parametrize("raw", ["Ann@Example.COM", "  ann@example.com\t", "<ann@example.com>",
                                 "mailto:ANN@example.com"])
def test_email_lower_cased_and_stripped(raw: str) -> None:
    assert normalise("email", raw) == "ann@example.com"


def test_email_unicode_kept_and_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", "Dániel@Példa.HU")
    assert normalise("email", decomposed) == "dániel@példa.hu"


@pytest.mark.parametrize("raw", ["", "   ", "no-at-sign", "@example.com", "ann@", "ann smith@example.com"])
def test_bad_email_rejected(raw: str) -> None:
    with pytest.raises(InvalidIdentity):
        normalise("email", raw)
    assert try_normalise("email", raw) is None


def test_invalid_identity_is_a_user_error() -> None:
    assert issubclass(InvalidIdentity, UserError)


@pytest.mark.parametrize(
    "raw,region,expected",
    [
        ("+36 30 123 4567", None, "+36301234567"),
        ("+36-30-123-4567", None, "+36301234567"),
        ("06 30 123 4567", "HU", "+36301234567"),  # Hungarian national format
        ("06-30/123-4567", "hu", "+36301234567"),
        ("tel:+36301234567", None, "+36301234567"),
        ("+98 912 345 6789", None, "+989123456789"),
        ("۰۹۱۲ ۳۴۵ ۶۷۸۹", "IR", "+989123456789"),  # Persian digits, Iranian national format
        ("+۹۸ ۹۱۲ ۳۴۵ ۶۷۸۹", None, "+989123456789"),
        ("+998 90 123 45 67", None, "+998901234567"),  # Uzbekistan
        ("+1 (415) 555-2671", None, "+14155552671"),
        ("0044 20 7946 0958", "HU", "+442079460958"),  # international prefix from Hungary
    ],
)
def test_phone_to_e164(raw: str, region: str | None, expected: str) -> None:
    assert normalise("phone", raw, default_region=region) == expected


def test_whatsapp_prefix_and_sms() -> None:
    assert normalise("whatsapp", "whatsapp:+36 30 123 4567") == "+36301234567"
    assert normalise("sms", "+36301234567") == "+36301234567"


@pytest.mark.parametrize("raw", ["06 30 123 4567", "hello", "", "+1 2", "+36 30 123 4567 8888 9999"])
def test_bad_phone_rejected(raw: str) -> None:
    # Without a region a national number cannot be read, and is not guessed.
    with pytest.raises(InvalidIdentity) as info:
        normalise("phone", raw)
    assert "phone" in str(info.value)


def test_mastodon_handle() -> None:
    assert normalise("mastodon", "@Ann@Social.Example") == "ann@social.example"


def test_slack_users_are_scoped_by_workspace_and_upper_cased() -> None:
    assert normalise("slack", " u024be7lh@t0team01 ") == "U024BE7LH@T0TEAM01"
    assert normalise("slack", "W0ENTERPRISE@E0GRID") == "W0ENTERPRISE@E0GRID"
    for bad in ("U024BE7LH", "", "U0@", "alice@example.com", "U0 1@T0TEAM01"):
        with pytest.raises(InvalidIdentity, match="Slack"):
            normalise("slack", bad)


def test_telegram_users_are_decimal_ids() -> None:
    assert normalise("telegram", " 123456789 ") == "123456789"
    assert normalise("telegram", "0042") == "42"
    for bad in ("  ", "-5", "12a", "١٢٣", "9" * 21):  # Arabic-Indic digits are not an id
        with pytest.raises(InvalidIdentity, match="Telegram"):
            normalise("telegram", bad)


def test_identity_kinds_are_the_contracts() -> None:
    from adapters.base import IDENTITY_KINDS
    from omnidesk.customers import identity

    assert identity.KINDS is IDENTITY_KINDS
    assert normalise("phone", "whatsapp:+36 30 123 4567") == "+36301234567"


@pytest.mark.parametrize(
    "raw,expected",
    [
        ('"Kovács Dániel"', "Kovács Dániel"),
        (unicodedata.normalize("NFD", "Szőke Árpád"), "Szőke Árpád"),  # decomposed accents -> NFC
        ("  زهرا   احمدی ", "زهرا احمدی"),  # Persian, right to left, inner spaces collapsed
        ("'王小明'", "王小明"),
        ("Ann\n Lee", "Ann Lee"),
        ("", ""),
    ],
)
def test_display_names(raw: str, expected: str) -> None:
    assert display_name(raw) == expected
    assert unicodedata.is_normalized("NFC", display_name(raw))
