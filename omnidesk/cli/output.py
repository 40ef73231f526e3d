"""Command output: one set of rows, five formats, and the bytes are the contract.

- `table`: a rich table for people (the default on a terminal): `#123`,
  "2 hours ago", untrusted text cleaned by omnidesk.textsafe and never parsed
  as markup.
- `tsv`: the default when piped: no header, one line per row, raw values,
  ISO 8601 UTC times, lists comma-joined; `\\`, tab, newline, CR and every
  other invisible character (controls, bidi controls: textsafe.is_invisible) are
  backslash-escaped (`\\t`, `\\n`, `\\x1b`, `\\u202e`) so a row is always one
  line and nothing reaches a terminal raw.
- `csv`: RFC 4180 with a header row (spreadsheets); text neutralised as in the
  table (textsafe.inert) and a cell that a spreadsheet would run as a formula
  gets a leading `'`.
- `json`: one array of objects, 2-space indent, UTF-8, only invisible
  characters \\u-escaped (textsafe.escape_json).
- `nl`: newline-delimited JSON, one compact object per line, escaped the same.

The JSON keys of every command are listed in docs/cli.md and pinned by the
golden tests in tests/cli/golden/.
"""

from __future__ import annotations

import io
import json
import re
import sys
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, TextIO

import typer

from omnidesk.errors import UserError
from omnidesk.textsafe import INVISIBLE_CANDIDATES, escape_code, escape_json, inert, is_invisible

FORMATS = ("table", "tsv", "csv", "json", "nl")

JSON_OPTION = typer.Option(False, "--json", help="Same as --format json.")
FORMAT_OPTION = typer.Option(
    None, "--format", "-F", metavar="FORMAT",
    help="table | tsv | csv | json | nl (default: table on a terminal, tsv when piped).",
)


class Column(NamedTuple):
    """One output column: the row key, its table header, and how to show it to a person.

    A NamedTuple because it is defined at every start-up (cheaper than a dataclass).
    """

    key: str
    header: str
    kind: str = "text"  # id | time | text | str | int | list | bool | duration
    max_width: int | None = None


def choose_format(fmt: str | None, json_flag: bool = False) -> str:
    from omnidesk.cli.common import output_is_tty

    if json_flag:
        if fmt not in (None, "json"):
            raise UserError(f"--json conflicts with --format {fmt}")
        return "json"
    if fmt is None:
        return "table" if output_is_tty() else "tsv"
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise UserError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    return fmt


# -- machine formats ----------------------------------------------------------------

_TSV_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}
_TSV_SPECIAL = re.compile(f"[\\\\{INVISIBLE_CANDIDATES}]")


def _tsv_sub(m: re.Match[str]) -> str:
    ch = m.group()
    return _TSV_ESCAPES.get(ch) or (escape_code(ch) if is_invisible(ch) else ch)


def _tsv_escape(text: str) -> str:
    if text.isprintable() and "\\" not in text:  # false for every invisible character, and quick
        return text
    return _TSV_SPECIAL.sub(_tsv_sub, text)


def raw_value(value: Any) -> str:
    """The plain-text form of a JSON value for tsv/csv: None -> "", lists comma-joined."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(raw_value(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return str(value)


def render_tsv(rows: Sequence[Mapping[str, Any]], fields: Sequence[str]) -> str:
    return "".join(
        "\t".join(_tsv_escape(raw_value(row.get(f))) for f in fields) + "\n" for row in rows
    )


def render_csv(rows: Sequence[Mapping[str, Any]], fields: Sequence[str]) -> str:
    import csv  # only this format needs it; `list --json` starts without

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(list(fields))
    for row in rows:
        writer.writerow([_csv_cell(row.get(f)) for f in fields])
    return buf.getvalue()


#: What makes a spreadsheet read a cell as a formula (OWASP "CSV Injection": = + - @
#: TAB CR); a CR is LF by then (textsafe.inert).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\n")
#: A plain number (a phone number in E.164, `-5`) is read as a number, never run.
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")


def _csv_cell(value: Any) -> str:
    """A CSV cell: text neutralised, and quoted with `'` when it would start a formula.

    Our own numbers (ids, counts, a rank of -1.5) are never text, so never prefixed.
    """
    if value is None or isinstance(value, bool | int | float):
        return raw_value(value)
    cell = inert(raw_value(value))
    if cell.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def render_json(value: Any) -> str:
    return escape_json(json.dumps(value, ensure_ascii=False, indent=2)) + "\n"


def render_nl(rows: Sequence[Any]) -> str:
    return "".join(escape_json(json.dumps(row, ensure_ascii=False, separators=(",", ":"))) + "\n"
                   for row in rows)


# -- for people ----------------------------------------------------------------------


def relative_time(ms: int | None, now: int) -> str:
    """"just now", "5 minutes ago", "2 hours ago", "3 days ago", "in 2 hours", then a date."""
    if ms is None:
        return ""
    delta = (now - ms) // 1000
    future = delta < 0
    seconds = abs(delta)
    if seconds < 45:
        return "just now"
    if seconds < 3600:
        n, unit = max(1, round(seconds / 60)), "minute"
    elif seconds < 86400:
        n, unit = round(seconds / 3600), "hour"
    elif seconds < 30 * 86400:
        n, unit = round(seconds / 86400), "day"
    else:
        from omnidesk.timeutil import from_ms

        return from_ms(ms).strftime("%Y-%m-%d")
    text = f"{n} {unit}{'' if n == 1 else 's'}"
    return f"in {text}" if future else f"{text} ago"


def due_text(ms: int, now: int) -> str:
    """An SLA due time for people: "in 1h20m", "breached 5m ago"."""
    from omnidesk.timeutil import span

    return f"breached {span(now - ms)} ago" if ms <= now else f"in {span(ms - now)}"


def human_value(value: Any, kind: str, now: int) -> str:
    from omnidesk.textsafe import one_line

    if value is None:
        return ""
    if kind == "id":
        return f"#{value}"
    if kind in ("time", "due"):
        # Machine rows carry ISO strings; people get "2 hours ago" (or "in 1h20m" for a due time).
        from datetime import datetime

        ms = int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000) \
            if isinstance(value, str) else int(value)
        return due_text(ms, now) if kind == "due" else relative_time(ms, now)
    if kind == "bool":
        return "yes" if value else ""
    if kind == "duration":
        minutes, seconds = divmod(int(value), 60)
        return f"{minutes}:{seconds:02d}"
    if kind == "list":
        return ", ".join(one_line(str(v)) for v in value)
    return one_line(str(value))


#: Column kinds that shrink (cut with an ellipsis) when a table is wider than the terminal.
SHRINKING_KINDS = ("text", "list")


def render_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column], *, now: int,
                 out: TextIO | None = None, title: str | None = None, width: int | None = None) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(file=out or sys.stdout, highlight=False, markup=False, emoji=False, width=width)
    table = Table(title=Text(title) if title else None, box=None, header_style="bold", pad_edge=False)
    for c in columns:
        # Free text (subjects, names, tags) gives way on a narrow terminal; the other columns keep
        # their width. Every cell stays on one line, cut with an ellipsis (as gh does).
        table.add_column(Text(c.header), no_wrap=c.kind not in SHRINKING_KINDS,
                         max_width=c.max_width, overflow="ellipsis",
                         justify="right" if c.kind in ("id", "int") else "left")
    for row in rows:
        table.add_row(*(Text(human_value(row.get(c.key), c.kind, now), no_wrap=True, overflow="ellipsis")
                        for c in columns))
    console.print(table)


def emit(rows: Sequence[Mapping[str, Any]], fmt: str, *, fields: Sequence[str],
         columns: Sequence[Column], out: TextIO | None = None, empty: str | None = None,
         title: str | None = None) -> None:
    """Write rows in `fmt`: machine formats carry every field in order, the table `columns`.

    On a table with no rows, `empty` goes to stderr instead (stdout stays clean).
    """
    out = out or sys.stdout
    if fmt == "json":
        out.write(render_json(list(rows)))
    elif fmt == "nl":
        out.write(render_nl(rows))
    elif fmt == "csv":
        out.write(render_csv(rows, fields))
    elif fmt == "tsv":
        out.write(render_tsv(rows, fields))
    else:
        if not rows:
            if empty:
                sys.stderr.write(empty + "\n")
            return
        from omnidesk.timeutil import now_ms

        render_table(rows, columns, now=now_ms(), out=out, title=title)
    out.flush()
