"""The adapter contract's own pieces: declarations every adapter has, text splitting."""

from __future__ import annotations

import pytest

from adapters.base import IDENTITY_KINDS, Adapter, Capabilities, split_text
from omnidesk.registry import factory_for, kinds


@pytest.mark.parametrize("kind", kinds())
def test_every_installed_adapter_declares_what_it_can_do(kind: str) -> None:
    cls = factory_for(kind)
    assert isinstance(cls.capabilities, Capabilities)
    assert cls.capabilities.addresses <= set(IDENTITY_KINDS)
    assert all(o.type in ("str", "int", "number", "bool", "list", "path") for o in cls.options)
    assert {"poll", "wait_for_changes", "send", "close"} <= set(dir(cls))
    assert set(Adapter.__annotations__) - {"name"} <= set(dir(cls))  # `name` is set per instance


def test_a_channel_that_cannot_send_says_so() -> None:
    assert not Capabilities().can_send  # addresses nobody
    assert factory_for("maildir").capabilities.can_send  # its replies go out by SMTP
    assert factory_for("email").capabilities.can_send


def test_split_text_keeps_short_text_whole_and_cuts_long_text_at_boundaries() -> None:
    assert split_text("", 10) == [""]
    assert split_text("szia", None) == ["szia"]
    paragraph = "Első bekezdés, elég hosszú ahhoz.\n\nMásodik bekezdés."
    assert split_text(paragraph, 40) == ["Első bekezdés, elég hosszú ahhoz.", "Második bekezdés."]
    sentences = "这是第一句话。这是第二句话。这是第三句话。"
    parts = split_text(sentences, 10)
    assert all(len(p) <= 10 for p in parts) and "".join(parts) == sentences
    words = " ".join(["سلام"] * 50)
    parts = split_text(words, 4096 // 100)
    assert all(len(p) <= 40 for p in parts) and " ".join(parts) == words


def test_split_text_cuts_a_word_longer_than_the_limit() -> None:
    parts = split_text("x" * 25, 10)
    assert parts == ["x" * 10, "x" * 10, "x" * 5]


def test_a_required_secret_is_stripped_and_an_empty_one_named() -> None:
    from adapters.base import ConfigurationError, required_secret

    secrets = {"token": "  abc\n", "blank": " \n"}
    assert required_secret(secrets.__getitem__, "token", "tg", "bot token") == "abc"
    with pytest.raises(ConfigurationError, match=r"^channel tg: the bot token is empty$"):
        required_secret(secrets.__getitem__, "blank", "tg", "bot token")
