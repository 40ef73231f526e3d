"""Articles on a terminal: links shown with their address, never OSC 8; escapes in the text neutralised."""

from __future__ import annotations

import io
import re

from rich.console import Console

from omnidesk.kb.render import terminal_article

BODY = ("Read [the guide](https://evil.example/x) or [https://good.example](https://evil.example/y).\n\n"
        "Paste \x1b]52;c;ZXZpbA==\x07 here \u202eexe.txt and <b>bold</b> [bold red]markup[/].\n")


def rendered(renderable: object) -> str:
    out = io.StringIO()
    Console(file=out, force_terminal=True, color_system="truecolor", width=100).print(renderable)
    return out.getvalue()


def test_links_are_text_with_their_address_and_never_clickable() -> None:
    text = rendered(terminal_article("Guide", BODY, language="en", languages=("en", "hu"), url="https://h/x"))
    plain = re.sub(r"\x1b\[[0-9;]*m", "", text)  # colours only: anything else would be an escape left in
    assert "\x1b]8;" not in text  # no OSC 8 hyperlink
    assert "the guide (https://evil.example/x)" in plain
    assert "https://good.example (https://evil.example/y)" in plain  # a lying label shows the real address
    assert "en · also in hu · https://h/x" in plain


def test_the_same_markdown_with_hyperlinks_would_be_clickable() -> None:
    # The check above can fail: Rich's default makes OSC 8 links.
    from rich.markdown import Markdown

    assert "\x1b]8;" in rendered(Markdown(BODY))


def test_escapes_and_bidi_overrides_in_an_article_are_neutralised() -> None:
    text = rendered(terminal_article("T\x1b[2J", BODY))
    plain = re.sub(r"\x1b\[[0-9;]*m", "", text)
    assert "\x1b" not in plain and "\x07" not in plain and "\u202e" not in plain
    assert "and bold [bold red]markup[/]." in plain  # Rich markup stays text; inline HTML tags are dropped
