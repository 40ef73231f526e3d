"""omnidesk(1) in roff, generated from the same click command tree as `--help`.

click-man does not fit: it works on click's own classes, and typer (0.28) builds
its commands on a vendored copy of click, so its `isinstance` checks see no
options. This walks the tree itself: one page, every command and sub-command a
sub-section with its usage, help and options.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

#: Sections after the commands, pointing at the rest of the documentation.
SEE_ALSO = "docs/cli.md (formats, the JSON schema, exit codes), docs/configuration.md, docs/keys.md"


def walk(command: Any, name: str, parent: Any = None) -> Iterator[tuple[Any, Any]]:
    """(command, context) for `command` and every visible sub-command below it, depth first."""
    ctx = command.context_class(command, info_name=name, parent=parent)
    yield command, ctx
    for sub_name, sub in getattr(command, "commands", {}).items():
        if not getattr(sub, "hidden", False):
            yield from walk(sub, sub_name, ctx)


def options(command: Any, ctx: Any) -> list[tuple[str, str]]:
    """(switches, help) of each visible option, `--help` included, as `--help` prints them."""
    records = []
    for param in command.get_params(ctx):
        if param.param_type_name != "option" or getattr(param, "hidden", False):
            continue
        record = param.get_help_record(ctx)
        if record is not None:
            records.append(record)
    return records


def render(group: Any, *, prog: str = "omnidesk", version: str = "") -> str:
    """The whole manual page for the click group `group`."""
    lines = [f'.TH {_quoted(prog.upper())} 1 "" {_quoted(f"{prog} {version}".strip())} "User Commands"',
             ".SH NAME", f"{prog} \\- {_escape(_summary(group.help or '', prog))}"]
    commands = list(walk(group, prog))
    root, root_ctx = commands[0]
    lines += [".SH SYNOPSIS", f".B {prog}", _escape(" ".join(root.collect_usage_pieces(root_ctx)))]
    lines += [".SH DESCRIPTION", *_paragraphs(group.help or "")]
    lines += [".SH OPTIONS", *_option_lines(options(root, root_ctx))]
    lines.append(".SH COMMANDS")
    for command, ctx in commands[1:]:
        usage = " ".join([ctx.command_path, *command.collect_usage_pieces(ctx)])
        lines.append(f".SS {_quoted(usage)}")
        lines += _paragraphs(command.help or "")
        lines += _option_lines(options(command, ctx))
    lines += [".SH SEE ALSO", _escape(SEE_ALSO)]
    return "\n".join(lines) + "\n"


def _option_lines(records: list[tuple[str, str]]) -> list[str]:
    out = []
    for switches, text in records:
        out += [".TP", f"\\fB{_escape(switches)}\\fR", *_paragraphs(text, first=False)]
    return out


def _paragraphs(text: str, *, first: bool = True) -> list[str]:
    """Blank-line separated paragraphs, each joined into one roff text line."""
    out: list[str] = []
    for i, para in enumerate(p for p in text.split("\n\n") if p.strip()):
        if first or i:
            out.append(".PP")
        out.append(_escape(" ".join(para.split())))
    return out


def _summary(text: str, prog: str) -> str:
    """The help's first line without a leading "prog:" (NAME already says it)."""
    first = text.strip().split("\n", 1)[0].rstrip(".")
    return first.removeprefix(f"{prog}:").strip()


def _escape(text: str) -> str:
    """Roff text: backslashes and hyphens escaped, no line taken for a request."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\\&" + text if text.startswith((".", "'")) else text


def _quoted(text: str) -> str:
    return '"' + _escape(text).replace('"', '\\(dq') + '"'
