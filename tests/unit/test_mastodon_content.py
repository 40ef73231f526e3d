"""Status HTML to text: the quick reading of Mastodon's own markup agrees with inscriptis."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.mastodon import content

SAMPLES = (
    '<p>a &amp; b &lt;c&gt;<br>  d</p><p>e <a href="https://x.y/z">our shop</a> <b>bold</b></p>',
    '<p>hi <a href="https://example.com/very/long/path" rel="nofollow"><span class="invisible">https://'
    '</span><span class="ellipsis">example.com/very/</span><span class="invisible">long/path</span></a></p>',
    '<p>سلام <a href="https://m.s/tags/کمک" class="mention hashtag" rel="tag">#<span>کمک</span></a></p>',
    "<p>第一段</p><p>第二段<br />第二行</p>",
)


def statuses(root: Path) -> list[tuple[str, list[dict[str, Any]]]]:
    found: list[tuple[str, list[dict[str, Any]]]] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if isinstance(value.get("content"), str):
                found.append((value["content"], value.get("mentions") or []))
            for inner in value.values():
                walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)

    for path in sorted(root.glob("*.json")):
        if not path.name.endswith(".meta.json"):
            walk(json.loads(path.read_text(encoding="utf-8")))
    return found


def both(html: str, mentions: list[dict[str, Any]]) -> tuple[str | None, str]:
    by_url = {str(m["url"]): content.full_acct(str(m["acct"]), "mastodon.social") for m in mentions}

    def tidy(text: str) -> str:
        lines = [line.rstrip() for line in content.clean(text).split("\n")]
        return content._BLANKS.sub("\n\n", "\n".join(lines)).strip("\n")

    quick = content._simple(content.clean(html), by_url)
    return (tidy(quick) if quick is not None else None), tidy(content._inscriptis(html, by_url))


@pytest.mark.parametrize("html", SAMPLES)
def test_the_quick_reading_matches_inscriptis(html: str) -> None:
    quick, full = both(html, [])
    assert quick is not None and quick == full


def test_the_quick_reading_matches_inscriptis_on_recorded_statuses(corpora: Path) -> None:
    root = corpora / "chat" / "mastodon" / "recorded"
    found = statuses(root) if root.is_dir() else []
    if not found:
        pytest.skip(f"no recorded statuses under {root}")
    for html, mentions in found:
        quick, full = both(html, mentions)
        assert quick is None or quick == full, html


def test_other_markup_goes_through_inscriptis() -> None:
    assert content._simple("<ul><li>one</li></ul>", {}) is None
    assert content._simple("<p>x</p><script>alert(1)</script>", {}) is None
    assert content.html_to_text("<blockquote><p>quoted</p></blockquote><ul><li>one</li></ul>") == \
        "quoted\n\n  * one"


def test_counting_follows_mastodon() -> None:
    assert content.countable_length("@ann@mastodon.social hi") == len("@ann hi")
    assert content.countable_length("see https://example.com/" + "x" * 100) == len("see ") + 23
    assert content.countable_length("سلام 你好") == 7


@settings(max_examples=150, deadline=None)
@given(words=st.lists(st.sampled_from(["سلام", "我的订单", "árvíztűrő", "tükörfúrógép", "order", "#48213",
                                       "https://shop.example/track?id=48213", "@ann@mastodon.social",
                                       "x" * 40, "。", "؟", "\n\n"]), min_size=1, max_size=200),
       limit=st.integers(min_value=60, max_value=600))
def test_reply_parts_fit_name_the_customer_and_keep_every_word(words: list[str], limit: int) -> None:
    from adapters.mastodon.replies import reply_parts

    text = " ".join(words)
    if not text.strip():
        return
    parts = reply_parts(text, "ann@mastodon.social", limit)
    assert parts and all(content.countable_length(p) <= limit for p in parts)
    assert all(content.mentions_handle(p, "ann@mastodon.social", local=False) for p in parts)
    def words_of(value: str) -> str:
        return "".join(value.replace("@ann@mastodon.social", "").split())

    assert words_of("".join(parts)) == words_of(text)  # nothing lost, nothing added but the handle


def test_a_huge_status_is_read_whole() -> None:
    html = "<p>" + "سفارش من نرسیده است " * 5000 + "</p>"
    text = content.html_to_text(html)
    assert len(text) > 90_000 and text.startswith("سفارش من") and "<" not in text
