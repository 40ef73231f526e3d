"""`omnidesk report --html FILE`: one self-contained page (no scripts, fonts or links to fetch).

The summary table, the backlog at each day's end, conversations by channel and the median
first response per day, as inline SVG bar charts. Every number is also in the markup as
`data-*` attributes (raw values: seconds, counts), so a program can read the page back.
Untrusted text (channel names) is cleaned (textsafe) and HTML-escaped.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

from omnidesk.reports.format import cell, duration, title
from omnidesk.textsafe import one_line

if TYPE_CHECKING:
    from omnidesk.reports.compute import Report

_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222;max-width:60em}
h1{font-size:1.3em}h2{font-size:1.1em;margin-top:2em}
table{border-collapse:collapse}td,th{padding:.2em .8em;text-align:right;border-bottom:1px solid #ddd}
td:first-child,th:first-child{text-align:left}.bar{fill:#3b6ea5}.label{font-size:11px;fill:#444}
"""


def _text(value: object) -> str:
    return escape(one_line(str(value)), quote=True)


def bar_chart(chart_id: str, points: list[tuple[str, float]], shown: list[str]) -> str:
    """Horizontal bars, one per (label, value); `shown` is how each value reads to a person."""
    if not points:
        return f'<p id="{chart_id}">Nothing in this period.</p>'
    top = max(v for _, v in points) or 1
    row, width = 18, 420
    parts = [f'<svg id="{chart_id}" role="img" width="{width + 260}" height="{row * len(points) + 4}"'
             ' xmlns="http://www.w3.org/2000/svg">']
    for i, ((label, value), text) in enumerate(zip(points, shown, strict=True)):
        y, w = i * row + 2, max(1, round(width * value / top))
        parts.append(f'<g class="point" data-label="{_text(label)}" data-value="{value:g}">'
                     f'<text class="label" x="0" y="{y + 12}">{_text(label)}</text>'
                     f'<rect class="bar" x="130" y="{y}" width="{w}" height="{row - 4}"/>'
                     f'<text class="label" x="{136 + w}" y="{y + 12}">{_text(text)}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def _summary_table(report: Report) -> str:
    head = "".join(f"<th>{_text(f)}</th>" for f in report.fields)
    rows = []
    for row in report.rows:
        cells = "".join(f'<td data-field="{f}" data-value="{_text(_raw(row.get(f)))}">'
                        f"{_text(cell(report, row, f))}</td>" for f in report.fields)
        rows.append(f'<tr data-metric="{_text(row["metric"])}">{cells}</tr>')
    return f'<table id="summary"><tr>{head}</tr>{"".join(rows)}</table>'


def _raw(value: Any) -> str:
    return "" if value is None else str(value)


def page(summary: Report, backlog: Report, channels: Report, days: Report) -> str:
    """The whole page as text."""
    frt = [(r["date"], r["frt_median"]) for r in days.rows if r["frt_median"] is not None]
    sections = [
        f"<h1>{_text(title(summary))}</h1>",
        "<h2>Summary</h2>", _summary_table(summary),
        "<h2>Backlog at each day's end</h2>",
        bar_chart("backlog", [(r["date"], r["backlog"]) for r in backlog.rows],
                  [str(r["backlog"]) for r in backlog.rows]),
        "<h2>Conversations by channel</h2>",
        bar_chart("channels", [(r["channel"] or "(none)", r["conversations"]) for r in channels.rows],
                  [str(r["conversations"]) for r in channels.rows]),
        "<h2>Median first response, by day created</h2>",
        bar_chart("frt", frt, [duration(v) for _, v in frt]),
    ]
    return ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f"<title>omnidesk report</title><style>{_STYLE}</style></head><body>"
            + "\n".join(sections) + "</body></html>\n")
