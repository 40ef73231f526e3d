"""Article Markdown as plain text (the index, excerpts), its links, and HTML (the help centre).

One markdown-it-py parser (CommonMark, tables; raw HTML off, so `<script>` in an
article is shown as text, and markdown-it refuses `javascript:`, `vbscript:`, `file:`
and `data:` links). Links between articles are written `kb:ID`; the help centre
points them at the page of the same language (or another one when there is none).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

KB_SCHEME = "kb:"
EXCERPT_CHARS = 280

_BLOCK_ENDS = {"paragraph_close", "heading_close", "list_item_close", "blockquote_close", "tr_close"}


@cache
def parser() -> MarkdownIt:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable("table").enable("strikethrough")


def _inline_text(children: list[Token]) -> str:
    out = []
    for child in children:
        if child.type in ("text", "code_inline"):
            out.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            out.append(" ")
        elif child.type == "image":
            out.append(_inline_text(child.children or []))
    return "".join(out)


def blocks(markdown: str) -> list[str]:
    """The text of each block (paragraph, heading, list item, code), Markdown removed."""
    out: list[str] = []
    for token in parser().parse(markdown):
        if token.type == "inline":
            out.append(_inline_text(token.children or []))
        elif token.type in ("fence", "code_block"):
            out.append(token.content.rstrip("\n"))
    return [b for b in (" ".join(x.split()) if "\n" not in x else x for x in out) if b.strip()]


def plain_text(markdown: str) -> str:
    return "\n".join(blocks(markdown))


def excerpt(markdown: str, title: str = "", limit: int = EXCERPT_CHARS) -> str:
    """The opening of an article as plain text, cut at a word near `limit` characters.

    A first block that only repeats the title (a `# Title` heading) is skipped.
    """
    parts = blocks(markdown)
    if parts and parts[0].strip().casefold() == title.strip().casefold():
        parts = parts[1:]
    text = " ".join(" ".join(p.split()) for p in parts)
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > limit // 2 else limit].rstrip(" ,;:") + "…"


def link_targets(markdown: str) -> list[str]:
    """Every link and image address in the article, in order."""
    found = []
    for token in parser().parse(markdown):
        for child in token.children or []:
            if child.type == "link_open":
                found.append(str(child.attrs.get("href", "")))
            elif child.type == "image":
                found.append(str(child.attrs.get("src", "")))
    return found


def to_html(markdown: str, resolve: Callable[[str], str | None]) -> str:
    """The article as HTML; `kb:ID` links go where `resolve(ID)` says (None: shown as text)."""
    md = parser()
    tokens = md.parse(markdown)
    for token in tokens:
        children = token.children or []
        for i, child in enumerate(children):
            if child.type != "link_open":
                continue
            href = str(child.attrs.get("href", ""))
            if href.startswith(KB_SCHEME):
                target = resolve(href[len(KB_SCHEME):])
                if target is None:  # a broken link stays readable but goes nowhere
                    child.tag, child.attrs = "span", {"class": "broken-link"}
                    _closing(children, i).tag = "span"
                else:
                    child.attrs["href"] = target
    return md.renderer.render(tokens, md.options, {})


def _closing(children: list[Token], start: int) -> Token:
    depth = 0
    for child in children[start:]:
        depth += child.nesting if child.type in ("link_open", "link_close") else 0
        if depth == 0:
            return child
    raise ValueError("unclosed link")  # pragma: no cover - markdown-it pairs them
