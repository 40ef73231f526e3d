"""Sender identity: from names and signatures by channel, agent and language; ours folded coming back."""

from __future__ import annotations

import tomllib

import pytest

from adapters.email.bodytext import fold
from omnidesk import config as cfg
from omnidesk.langpick import language_order, pick
from omnidesk.model import Agent
from omnidesk.outbound import signature

CONFIG = """
[desk]
name = "Example"
language = "en"

[[agents]]
name = "ann"
display_name = "Ann Lee"
signature = { en = "Ann Lee, billing", hu = "Lee Ann, számlázás" }
signature_html = "<b>Ann Lee</b>"

[[agents]]
name = "bob"

[channels.support]
kind = "maildir"
path = "m"
address = "support@example.com"
from_name = "{agent} at Example Support"
signature = { en = "{agent_signature}\\nExample Support", hu = "{agent_signature}\\nExample ügyfélszolgálat" }
signature_html = "<p>{agent_signature}<br>Example &amp; co</p>"

[channels.plain]
kind = "maildir"
path = "p"
address = "plain@example.com"

[channels.chatty]
kind = "maildir"
path = "c"
address = "chat@example.com"
signature = "– {agent_first}"

[channels.quiet]
kind = "maildir"
path = "q"
address = "quiet@example.com"
signature = ""
"""

ANN = Agent(id=1, name="ann", display_name="Ann Lee")
BOB = Agent(id=2, name="bob", display_name="")
EVIL = Agent(id=3, name="eve", display_name="<script>Eve</script>")


@pytest.fixture(scope="module")
def settings():  # type: ignore[no-untyped-def]
    return cfg.parse_settings(tomllib.loads(CONFIG))


@pytest.mark.parametrize(("channel", "agent", "language", "subject", "html", "expected"), [
    ("support", ANN, "en", True, True,
     ("Ann Lee at Example Support", "Ann Lee, billing\nExample Support",
      "<p><b>Ann Lee</b><br>Example &amp; co</p>")),
    ("support", ANN, "hu-HU", True, True,
     ("Ann Lee at Example Support", "Lee Ann, számlázás\nExample ügyfélszolgálat",
      "<p><b>Ann Lee</b><br>Example &amp; co</p>")),
    ("support", ANN, "fa", True, False,  # no Persian text: the desk's language; no HTML on this channel
     ("Ann Lee at Example Support", "Ann Lee, billing\nExample Support", "")),
    ("support", BOB, None, True, True,
     ("bob at Example Support", "Example Support", "<p><br>Example &amp; co</p>")),
    ("plain", ANN, "hu", True, True, ("Example", "Lee Ann, számlázás", "<b>Ann Lee</b>")),  # the agent's own
    ("plain", ANN, "hu", False, False, ("Example", "", "")),  # chat without a signature of its own: none
    ("quiet", ANN, "en", True, True, ("Example", "", "")),  # "" signs nothing
    ("chatty", ANN, "hu", False, False, ("Example", "– Ann", "")),  # a short one for chat
    ("support", None, "en", True, True, ("Example at Example Support", "Example Support",
                                         "<p><br>Example &amp; co</p>")),
])
def test_sender_by_channel_agent_and_language(settings, channel, agent, language, subject, html,  # type: ignore[no-untyped-def]
                                              expected) -> None:
    got = signature.sender(settings, channel, agent=agent, language=language, has_subject=subject,
                           sends_html=html)
    assert tuple(got[:3]) == expected
    assert got.separator == ("-- " if subject else "")


def test_names_are_escaped_in_html(settings) -> None:  # type: ignore[no-untyped-def]
    text = CONFIG.replace('signature_html = "<p>{agent_signature}', 'signature_html = "<p>{agent}')
    s = cfg.parse_settings(tomllib.loads(text))
    got = signature.sender(s, "support", agent=EVIL, language="en", has_subject=True, sends_html=True)
    assert "&lt;script&gt;Eve&lt;/script&gt;" in got.signature_html and "<script>" not in got.signature_html
    # A header value: the mail library encodes it.
    assert got.from_name == "<script>Eve</script> at Example Support"


@pytest.mark.parametrize(("wanted", "default", "order"), [
    ("pt-BR", "en", ("pt-br", "pt", "en", "")),
    ("hu", "hu", ("hu", "")),
    (None, "en", ("en", "")),
    ("", "zh-Hant", ("zh-hant", "zh", "")),
])
def test_language_order(wanted, default, order) -> None:  # type: ignore[no-untyped-def]
    assert language_order(wanted, default) == order


@pytest.mark.parametrize(("texts", "wanted", "found"), [
    ({"en": 1, "hu": 2}, "hu", ("hu", 2)),
    ({"en": 1, "hu": 2}, "hu-hu", ("hu", 2)),
    ({"de": 1, "hu": 2}, "fa", ("de", 1)),  # neither the customer's nor the desk's: the first
    ({"de": 1, "": 3}, "fa", ("", 3)),  # any language before the first
    ({}, "en", None),
])
def test_pick(texts, wanted, found) -> None:  # type: ignore[no-untyped-def]
    assert pick(texts, wanted, "en") == found


def test_signed_text_has_the_separator_before_the_quote() -> None:
    body = signature.signed("Hello,\n\nrefunded.\n", "Ann Lee\nExample Support")
    assert body == "Hello,\n\nrefunded.\n\n-- \nAnn Lee\nExample Support\n"
    assert signature.signed("Hi", "  ") == "Hi"
    assert signature.signed("Thanks!", "– Ann", "") == "Thanks!\n\n– Ann\n"  # chat: no separator line


def test_signed_html_escapes_the_text_and_quotes() -> None:
    html = signature.signed_html("1 < 2 & <b>", None, "<b>Ann</b>", "On ..., X wrote:\n> <i>")
    assert html is not None
    assert "1 &lt; 2 &amp; &lt;b&gt;" in html and "<b>Ann</b>" in html and "&gt; &lt;i&gt;" in html
    assert signature.signed_html("x", None, "", None) is None
    assert signature.signed_html("x", "<p>x</p>", "", None) == "<p>x</p>"
    # The agent's own HTML keeps its own quoting: the signature follows it.
    assert signature.signed_html("x", "<p>x</p>", "<b>Ann</b>", "> q") == \
        '<p>x</p>\n<div class="signature">-- <br>\n<b>Ann</b></div>\n'


@pytest.mark.parametrize("answer", ["Köszönöm, megkaptam!", "谢谢，收到了。", "ممنون، دریافت کردم."])
def test_our_signature_is_folded_when_it_comes_back(answer: str) -> None:
    ours = signature.signed("Hello,\n\nrefunded.\n", "Ann Lee, billing\nExample Support")
    # Read back from the Sent folder (or a BCC copy): the agent sees the text without the signature.
    assert fold(ours) == "Hello,\n\nrefunded.\n"
    # Quoted in the customer's answer: the answer alone.
    quoted = "\n".join("> " + line if line else ">" for line in ours.splitlines())
    header = "On Fri, 4 Dec 2026 21:00, Ann Lee at Example Support <support@example.com> wrote:"
    incoming = f"{answer}\n\n{header}\n{quoted}\n"
    assert fold(incoming) == answer + "\n"
