"""The inbox's SLA countdown: on time, then warning, then breached, as the clock moves (no reload)."""

from __future__ import annotations

from pathlib import Path

from rich.style import Style

from omnidesk.conversations import reads
from omnidesk.desk import Desk
from omnidesk.services import services, sla
from omnidesk.settings import Settings
from omnidesk.sla.policy import Policy
from omnidesk.store.db import Database
from omnidesk.timeutil import now_ms
from omnidesk.tui.widgets.conversation_list import COLUMNS, sla_cell
from tests.tui.conftest import inbox_ready, make_app, screen_text, until
from tests.unit import factories

MIN = 60_000
HOUR = 60 * MIN


async def test_the_countdown_turns_warning_then_breached(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "omnidesk.db")
    try:
        settings = Settings(sla=(Policy("normal", (("first_response", 4 * HOUR),)),))
        desk = Desk(db=db, settings=settings, data_dir=tmp_path)
        alice = await factories.agent(desk, "alice")
        desk = desk.as_agent(alice)
        channel = await factories.email_channel(desk)
        now = now_ms()
        ids = {}
        for name, age in (("late", 5 * HOUR), ("soon", 3 * HOUR + 30 * MIN), ("fresh", 10 * MIN),
                          ("waiting", 2 * HOUR)):
            t = await factories.thread(desk, channel, subject=name, address=f"{name}@example.com",
                                       start=now - age)
            ids[name] = t.conversation_id
        await sla.recompute(desk, list(ids.values()))
        await services.set_status(desk, [ids["waiting"]], "pending")
        clock = [now]
        app = make_app(desk, clock=lambda: clock[0])
        async with app.run_test(size=(140, 30)) as pilot:
            await until(pilot, lambda: inbox_ready(app), "inbox")
            inbox = app.screen
            inbox.select_view(next(i for i, v in enumerate(inbox.views) if v.name == "All"))
            lst = inbox.conv_list
            await until(pilot, lambda: lst.row_count == 4 and all(lst.row(i) for i in range(4)), "rows")

            def cells() -> dict[str, tuple[str, str, Style]]:
                out = {}
                for i in range(lst.row_count):
                    row = lst.row(i)
                    assert row is not None
                    text, state = sla_cell(row, lst.now_ms)
                    rendered = lst.render_row(row, 120)
                    start = rendered.plain.index(text, len(rendered.plain) - COLUMNS["age"] - COLUMNS["sla"]
                                                 - 2) if text else 0
                    style = rendered.get_style_at_offset(app.console, start) if text else Style()
                    out[row.subject] = (text, state, style)
                return out

            shown = cells()
            assert {k: v[:2] for k, v in shown.items()} == {
                "late": ("-1h", "breached"), "soon": ("30m", "warning"), "fresh": ("3h", "ok"),
                "waiting": ("2h", "paused")}
            styles = {state: style for _, state, style in shown.values()}
            assert styles["breached"].color != styles["warning"].color != styles["ok"].color
            assert styles["breached"].reverse and styles["warning"].bold
            assert "-1h" in screen_text(app) and "30m" in screen_text(app)

            clock[0] += 40 * MIN  # no store change: only the clock moves
            inbox.tick_clock()
            await pilot.pause()
            shown = cells()
            assert shown["soon"][:2] == ("-10m", "breached") and shown["fresh"][1] == "ok"
            assert shown["late"][0] == "-1h" and "-10m" in screen_text(app)
            clock[0] += 3 * HOUR
            inbox.tick_clock()
            await pilot.pause()
            assert cells()["fresh"][:2] == ("10m", "warning")  # due 3 h 50 m after the start

            sla_views = [v.name for v in inbox.views if "sort:due" in v.query]
            assert sla_views == ["Breached", "Due soon"]
            assert await reads.count_conversations(desk, ["is:breached"]) == [1]  # the store's own clock
    finally:
        await db.close()


async def test_a_lead_named_in_notify_is_told_of_a_breach(tmp_path: Path) -> None:
    from omnidesk.services import escalation
    from omnidesk.sla.policy import Escalation

    policy = Policy("normal", (("first_response", HOUR),),
                    on_breach=Escalation(notify=("lead",)), on_warning=Escalation(notify=("lead",)))
    settings = Settings(sla=(policy,))
    db = await Database.open(tmp_path / "omnidesk.db")
    daemon_db = await Database.open(tmp_path / "omnidesk.db")  # another connection, as the daemon's
    try:
        desk = Desk(db=db, settings=settings, data_dir=tmp_path)
        lead = await factories.agent(desk, "lead")
        other = await factories.agent(desk, "ann")
        channel = await factories.email_channel(desk)
        await factories.thread(desk, channel, address="fresh@example.com")  # so the inbox has a row
        daemon = Desk(db=daemon_db, settings=settings, data_dir=tmp_path)
        for agent, told in ((lead, True), (other, False)):
            app = make_app(desk.as_agent(agent), clock=None)
            async with app.run_test(size=(140, 30)) as pilot:
                await until(pilot, lambda app=app: inbox_ready(app) and app._sla_seen is not None, "inbox")
                t = await factories.thread(desk, channel, address=f"{agent.name}@example.com",
                                           start=now_ms() - 2 * HOUR)
                await sla.recompute(desk, [t.conversation_id])
                assert len(await escalation.run_due(daemon)) == 2
                newest = (await db.fetchone("SELECT max(id) FROM events"))[0]
                await until(pilot, lambda app=app, newest=newest: (app._sla_seen or 0) >= newest,
                            "the events looked at")
                await pilot.pause()
                notices = [n for n in app._notifications if n.title.startswith("SLA")]
                if told:
                    assert any("first response breached" in n.message and n.severity == "error"
                               for n in notices)
                    assert any("due soon" in n.message and n.severity == "warning" for n in notices)
                else:
                    assert notices == []
    finally:
        await daemon_db.close()
        await db.close()
