"""The Reports screen: backlog, today's volume by channel, the first-response trend, agents.

Figures come from omnidesk/reports/dashboard.py (docs/reports.md), loaded in a worker that only
posts a message, on a database connection of the screen's own (a load takes about half a second
on a 100,000-conversation desk, and must not hold up the console's reads), again when the store
changes (the app's `StoreChanged`): changes during a load make one more load after it, never
a queue. Charts are Textual's Sparkline (no plotting dependency); the agents table sorts with `s`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Label, Sparkline, Static

from omnidesk.reports import compute
from omnidesk.reports.dashboard import DAYS, Dashboard
from omnidesk.reports.format import duration
from omnidesk.reports.metrics import BUSINESS_HOURS
from omnidesk.store.db import Database
from omnidesk.tui import actions
from omnidesk.tui.messages import StoreChanged
from omnidesk.tui.screens.base import DeskScreen
from omnidesk.tui.textfmt import inert_line
from omnidesk.tui.widgets.keybar import KeyBar
from omnidesk.tui.widgets.statusbar import StatusBar

#: The agents table's sort orders, cycled by `s`: (column key, label, largest first).
SORTS = (("replies", "replies", True), ("frt_median", "first response", False),
         ("resolved", "resolved", True), ("fcr_rate", "FCR", True), ("agent", "name", False))
AGENT_COLUMNS = (("agent", "Agent"), ("replies", "Replies"), ("frt_median", "FRT median"),
                 ("nrt_median", "NRT median"), ("resolved", "Resolved"), ("fcr_rate", "FCR"),
                 ("reopen_rate", "Reopened"))


class ReportsLoaded(Message):
    def __init__(self, reports: dict[str, compute.Report] | None, error: str = "") -> None:
        super().__init__()
        self.reports = reports
        self.error = error


def _shown(key: str, value: Any) -> str:
    if value is None:
        return "-"
    if key.endswith("_median"):
        return duration(value)
    if key.endswith("_rate"):
        return f"{value * 100:.0f}%"
    return str(value)


class ReportsScreen(DeskScreen):
    context = "reports"
    BINDINGS = actions.bindings("reports")
    AUTO_FOCUS = "#reports-agents"

    def __init__(self) -> None:
        super().__init__(classes="reports-screen")
        self.reports: dict[str, compute.Report] = {}
        self.sort = 0
        self._db: Database | None = None
        self._dashboard = Dashboard()
        self._loading = False
        self._stale = False  # the store changed during a load

    def compose(self) -> ComposeResult:
        yield Label("", id="reports-header")
        with Horizontal(id="reports-body"):
            with Vertical(id="reports-charts"):
                yield Static("", id="reports-summary")
                yield Label("Backlog at each day's end", classes="section")
                yield Sparkline([], id="reports-backlog")
                yield Label("Median first response, by day created", classes="section")
                yield Sparkline([], id="reports-frt")
                yield Label("Today, new conversations by channel", classes="section")
                yield Static("", id="reports-channels")
            with Vertical(id="reports-people"):
                yield Label("Agents, last 30 days (s sorts)", classes="section", id="reports-agents-title")
                yield DataTable(id="reports-agents", cursor_type="row", zebra_stripes=True)
        yield StatusBar()
        yield KeyBar()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for key, label in AGENT_COLUMNS:
            table.add_column(label, key=key)
        self.query_one("#reports-header", Label).update(Text(" Reports: loading ...", style="bold"))
        self.load()

    def on_store_changed(self, message: StoreChanged) -> None:
        if self._loading:
            self._stale = True
        else:
            self.load()

    async def on_unmount(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    @work(group="reports", exit_on_error=False)
    async def load(self) -> None:
        self._loading = True
        try:
            if self._db is None:
                self._db = await Database.open(self.desk.db.path, migrate=False)
            await self._dashboard.refresh(dataclasses.replace(self.desk, db=self._db), self.desk_app.now_ms())
        except Exception as exc:  # shown on the screen, never a crash of the console
            self.post_message(ReportsLoaded(None, str(exc)))
            return
        self.post_message(ReportsLoaded(self._dashboard.reports))

    def on_reports_loaded(self, message: ReportsLoaded) -> None:
        self._loading = False
        if self._stale:
            self._stale = False
            self.load()
        if message.reports is None:
            self.query_one("#reports-header", Label).update(
                Text(f" Reports: {message.error}", style="bold red"))
            return
        self.reports = message.reports
        self._show()

    def _show(self) -> None:
        summary = {r["metric"]: r for r in self.reports["summary"].rows}
        head = Text(" Reports ", style="bold reverse")
        head.append(f"  last {DAYS} days, calendar time"
                    f" (business hours: {BUSINESS_HOURS}; SLA: not configured)")
        self.query_one("#reports-header", Label).update(head)
        frt, res = summary["first_response_time"], summary["resolution_time"]
        lines = Text()
        lines.append(f"Open backlog now   {summary['backlog']['total'] or 0}\n", style="bold")
        lines.append(f"Conversations      {summary['conversations']['total']}"
                     f"  (resolved {summary['resolved']['total']})\n")
        lines.append(f"First response     median {_shown('_median', frt['median'])}"
                     f"  p90 {_shown('_median', frt['p90'])}\n")
        lines.append(f"Resolution         median {_shown('_median', res['median'])}"
                     f"  p90 {_shown('_median', res['p90'])}\n")
        lines.append(f"FCR {_shown('_rate', summary['fcr_rate']['mean'])}"
                     f"   reopened {_shown('_rate', summary['reopen_rate']['mean'])}")
        self.query_one("#reports-summary", Static).update(lines)
        self.query_one("#reports-backlog", Sparkline).data = [
            r["backlog"] for r in self.reports["backlog"].rows]
        self.query_one("#reports-frt", Sparkline).data = [
            r["frt_median"] / 60 for r in self.reports["days"].rows if r["frt_median"] is not None]
        channels = self.reports["channels"].rows
        top = max((r["conversations"] for r in channels), default=0) or 1
        volume = Text()
        for r in channels:
            volume.append_text(inert_line(f"{(r['channel'] or '(none)')[:14]:<14} "))
            volume.append("█" * max(1, round(20 * r["conversations"] / top)), style="bold")
            volume.append(f" {r['conversations']}\n")
        self.query_one("#reports-channels", Static).update(volume or Text("nothing yet today", style="dim"))
        self._fill_agents()

    def _fill_agents(self) -> None:
        key, label, largest_first = SORTS[self.sort]
        agents = self.reports.get("agents")
        rows = list(agents.rows) if agents else []
        present = [r for r in rows if r.get(key) is not None]
        missing = [r for r in rows if r.get(key) is None]
        present.sort(key=lambda r: r[key], reverse=largest_first)
        table = self.query_one(DataTable)
        table.clear()
        for r in present + missing:
            table.add_row(*(inert_line(_shown(k, r.get(k))) if k == "agent" else _shown(k, r.get(k))
                            for k, _ in AGENT_COLUMNS))
        self.query_one("#reports-agents-title", Label).update(
            f"Agents, last {DAYS} days, by {label} (s sorts)")

    # -- actions ----------------------------------------------------------------------

    def sort_agents(self, arg: str | None = None) -> None:
        self.sort = (self.sort + 1) % len(SORTS)
        self._fill_agents()

    def cursor_down(self, arg: str | None = None) -> None:
        self.query_one(DataTable).action_cursor_down()

    def cursor_up(self, arg: str | None = None) -> None:
        self.query_one(DataTable).action_cursor_up()

    def go_back(self, arg: str | None = None) -> None:
        self.app.pop_screen()
