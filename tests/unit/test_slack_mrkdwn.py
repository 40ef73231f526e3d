"""Slack mrkdwn as the text a person saw, and our text escaped for Slack."""

from __future__ import annotations

from adapters.slack.mrkdwn import escape, mentioned_users, to_text


def test_mentions_channels_and_specials_become_words() -> None:
    text = "<@U01ABC> and <@W02XYZ|old name>: see <#C123|general>, <!here> <!subteam^S1|@support>"
    assert mentioned_users(text) == {"U01ABC", "W02XYZ"}
    assert to_text(text, {"U01ABC": "ann"}) == "@ann and @old name: see #general, @here @support"
    assert to_text("<@U9>", {}) == "@U9"  # a user Slack would not describe stays their id


def test_links_keep_both_label_and_address() -> None:
    assert to_text("<https://shop.example/a?b=1&amp;c=2|Rendelés>", {}) == "Rendelés (https://shop.example/a?b=1&c=2)"
    assert to_text("<https://x.example>", {}) == "https://x.example"
    assert to_text("<mailto:ann@example.com|ann@example.com>", {}) == "ann@example.com"


def test_escapes_are_undone_once_and_ours_round_trip() -> None:
    assert to_text("a &lt;b&gt; &amp;amp; &amp;lt;", {}) == "a <b> &amp; &lt;"
    for text in ("", "1 < 2 & 3 > 0", "<@U1> &amp; <https://x|y>", "مرحبا <b>", "价格 < 5 & > 1"):
        assert to_text(escape(text), {}) == text
        assert "<" not in escape(text) and ">" not in escape(text)
