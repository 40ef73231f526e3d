"""An article for a terminal: Rich Markdown with links shown, never followed.

Article text is trusted (the team wrote it), but a link is still only shown: Rich's
Markdown with `hyperlinks=False` prints `text (address)` and sets no link style, so no
OSC 8 escape makes it clickable, and a link that says one address and goes to another
shows both. Control characters and bidi overrides are neutralised first (textsafe),
as for every other text; Markdown is never read as Rich markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from omnidesk.textsafe import clean, one_line

if TYPE_CHECKING:
    from rich.console import RenderableType


def terminal_article(title: str, body: str, *, language: str = "", languages: Sequence[str] = (),
                     url: str = "") -> RenderableType:
    """Title, then `language · also in ... · url`, then the body."""
    from rich.console import Group
    from rich.markdown import Markdown
    from rich.text import Text

    head = Text(one_line(title), style="bold")
    others = [x for x in languages if x != language]
    parts = (language, "also in " + ", ".join(others) if others else "", url)
    facts = Text(one_line(" · ".join(p for p in parts if p)), style="dim")
    return Group(head, facts, Text(""), Markdown(clean(body), hyperlinks=False))
