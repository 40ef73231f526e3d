"""Routing rules: the file (errors with file, line, rule, reason), evaluation as tables, actions."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.base import Address, Batch, Inbound
from omnidesk.desk import Desk
from omnidesk.inbound.ingest import ingest_batch
from omnidesk.rules.engine import Engine
from omnidesk.rules.loader import RuleError, load, parse_text
from omnidesk.rules.routing import Router
from omnidesk.services import services
from omnidesk.store import routing as store_routing
from omnidesk.store.agents import insert_agent
from omnidesk.store.channels import ensure_channel

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)
_n = iter(range(1, 10_000))


def rules_of(text: str) -> Engine:
    from omnidesk.rules.model import RuleSet

    return Engine(RuleSet(parse_text(text.encode(), "rules.toml")))


async def inbound(desk: Desk, *, sender: str = "ann@example.com", subject: str = "Számla", text: str = "szia",
                  language: str | None = "hu", channel: str = "support", refs: tuple[str, ...] = ()) -> int:
    """One inbound message through ingest; returns its message id."""
    chan = await ensure_channel(desk.db, channel, "email", f"{channel}@desk.example")
    n = next(_n)
    rec = Inbound(external_id=f"<m{n}@x>", sender=Address("email", sender, "Ügyfél"),
                  sent_at=T0 + timedelta(minutes=n), subject=subject, text=text, language=language,
                  thread_refs=refs)
    result = await ingest_batch(desk, chan, Batch([rec], None))
    return result.message_ids[0]


async def conversation_of(desk: Desk, message_id: int) -> int:
    row = await desk.db.fetchone("SELECT conversation_id FROM messages WHERE id = ?", (message_id,))
    return int(row[0])


async def events(desk: Desk, cid: int) -> list[str]:
    from omnidesk.conversations import reads

    conv = await reads.get_conversation(desk, cid)
    from omnidesk.conversations.eventtext import describe

    return [describe(e) for e in conv.events]


# -- the file ------------------------------------------------------------------------------------

GOOD = '''
[[rules]]
name = "Hungarian billing"
on = ["new_conversation"]
when = { language = "hu", query = "subject:számla OR tag:billing" }
then = { team = "billing", strategy = "round-robin", priority = "high", tag = ["hu"] }

[[rules]]
name = "VIP"
[rules.when]
tier = "gold"
[rules.then]
priority = "urgent"
stop = true
'''


def test_good_file_loads_in_order() -> None:
    rules = parse_text(GOOD.encode(), "rules.toml", known_agents={"ann"}, known_teams={"billing"})
    assert [r.name for r in rules] == ["Hungarian billing", "VIP"]
    assert rules[0].then.strategy == "round-robin" and rules[0].then.tags == ("hu",)
    assert rules[1].when.tiers == ("gold",) and rules[1].then.stop
    assert rules[0].line == 2 and rules[1].line == 8


@pytest.mark.parametrize(("text", "line", "rule", "reason"), [
    ('[[rules]]\nname = "A"\nthen = { tag = "x" }\n\n[[rules]]\nname = "B"\nwhen = { query = "tga:x" }\n'
     'then = { tag = "y" }\n', 7, "B", "unknown field"),
    ('[[rules]]\nname = "A"\non = ["sometimes"]\nthen = { tag = "x" }\n', 3, "A", "unknown trigger"),
    ('[[rules]]\nname = "A"\n[rules.then]\npriority = "hihg"\n', 4, "A", "expected one of low"),
    ('[[rules]]\nname = "A"\n[rules.then]\nassign = "zed"\n', 4, "A", "unknown agent 'zed'"),
    ('[[rules]]\nname = "A"\nthen = { assign = "ann", strategy = "skills" }\n', 3, "A", "not both"),
    ('[[rules]]\nname = "A"\n', 1, "A", "needs actions"),
    ('[[rules]]\nname = "A"\nthen = { tag = "x" }\n[[rules]]\nname = "A"\nthen = { tag = "y" }\n', 5, "A",
     "a second rule of that name (the first is at line 1)"),
    ('[[rules]]\nname = "Ünnep"\nthen = { snooze = "forever" }\n', 3, "Ünnep", "duration"),
    ('[[rules]]\nname = "A"\nwhen = { hours = "inside", calendar = "mars" }\nthen = { tag = "x" }\n', 3, "A",
     "unknown calendar 'mars'"),
    ('[[rules]]\nname = "A"\nwhen = { calendar = "budapest" }\nthen = { tag = "x" }\n', 3, "A",
     "goes with hours"),
    ('[[rules]]\nname = "A"\nwhen = { query = "is:mine" }\nthen = { tag = "x" }\n', 3, "A", "acting agent"),
    ('[[rules]]\nname = "A"\nthen = { tag = "x" }\ncolour = "red"\n', 4, "A", "unknown key"),
    ('[[rules]]\nname = "A"\nthen = { tag = "x" }\n\n[[rules]]\nname = "B"\nthen = { tag = \n', 7, "B",
     "invalid TOML"),
    ('[[rules]]\nthen = { tag = "x" }\n', 1, None, "needs a name"),
])
def test_a_mistake_names_file_line_rule_and_reason(text: str, line: int, rule: str | None,
                                                   reason: str) -> None:
    with pytest.raises(RuleError) as caught:
        parse_text(text.encode(), "/etc/omnidesk/rules.toml", known_agents={"ann"}, known_teams=set(),
                   known_calendars=["budapest"])
    err = caught.value
    assert (err.line, err.rule) == (line, rule)
    assert reason in err.reason
    assert str(err).startswith(f"/etc/omnidesk/rules.toml:{line}:" + (f" rule {rule!r}:" if rule else ""))


def test_missing_file_is_no_rules(tmp_path: Path) -> None:
    assert load(tmp_path / "absent.toml").rules == ()


# -- evaluation as a table -----------------------------------------------------------------------

TABLE = '''
[[rules]]
name = "hu"
when = { language = "hu" }
then = { tag = "hu" }

[[rules]]
name = "billing words"
on = ["new_conversation", "inbound_message"]
when = { query = "számla OR invoice" }
then = { tag = "billing" }

[[rules]]
name = "replies only"
on = ["inbound_message"]
when = { message = "reply" }
then = { tag = "reply" }

[[rules]]
name = "mail channel"
when = { channel = "email", query = "-subject:spamword" }
then = { priority = "high", stop = true }

[[rules]]
name = "after stop"
then = { tag = "never" }
'''


@pytest.mark.parametrize(("subject", "text", "language", "reply", "fired"), [
    ("Számla", "kérem a számlát", "hu", False, ["hu", "billing words", "mail channel"]),
    ("Invoice", "where is my invoice", "en", False, ["billing words", "mail channel"]),
    ("退款", "我要退款", "zh", False, ["mail channel"]),
    ("spamword", "invoice", "en", False, ["billing words", "after stop"]),
    ("Re: hi", "still waiting", "fa", True, ["replies only"]),  # "mail channel" runs on new ones only
])
async def test_which_rules_fire(desk: Desk, subject: str, text: str, language: str, reply: bool,
                                fired: list[str]) -> None:
    engine = rules_of(TABLE)
    first = await inbound(desk, subject=subject, text=text, language=language)
    mid = first
    if reply:
        row = await desk.db.fetchone("SELECT external_id FROM messages WHERE id = ?", (first,))
        mid = await inbound(desk, subject=subject, text=text, language=language, refs=(row[0],))
    cid = await conversation_of(desk, mid)
    trigger = "inbound_message" if reply else "new_conversation"
    facts, verdicts = await engine.evaluate(desk.db, cid, mid, trigger, 0)
    assert facts is not None and facts.conversation_id == cid
    assert [v.rule.name for v in verdicts if v.fired] == fired
    assert all(v.reasons for v in verdicts)


async def test_rule_queries_are_one_statement_by_primary_key(desk: Desk) -> None:
    """Every rule query for one conversation: a search by id, no scan of conversations or tags."""
    engine = rules_of('''
[[rules]]
name = "all fields"
[rules.when]
query = """tag:billing skill:hu from:ann customer:Ann "exact words" refund* status:open team:x -has:note
           channel:email assignee:none"""
[rules.then]
tag = "x"
''')
    await inbound(desk)
    compiled = engine.compiled(0, 0)
    sql, params = store_routing.matches_sql([(True, compiled.where, compiled.params)])
    plan = [r[3] for r in await desk.db.fetchall(f"EXPLAIN QUERY PLAN {sql}", [*params, 1])]
    assert any("SEARCH c USING INTEGER PRIMARY KEY" in p for p in plan), plan
    # Allowed scans: the configured channels (a handful of rows) and FTS5 probed by rowid.
    scans = [p for p in plan if p.startswith("SCAN") and p != "SCAN channels"
             and not p.startswith("SCAN message_fts VIRTUAL TABLE INDEX 0:=")]
    assert scans == [], plan


# -- routing: actions, events, undo ----------------------------------------------------------------


def write_rules(desk: Desk, tmp_path: Path, text: str) -> Desk:
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    return replace(desk, settings=replace(desk.settings, desk=replace(desk.settings.desk, rules=path)))


async def test_route_applies_actions_and_names_the_rule(desk: Desk, tmp_path: Path) -> None:
    await insert_agent(desk.db, name="ann", teams=("billing",))
    desk = write_rules(desk, tmp_path, '''
[[rules]]
name = "Hungarian billing"
when = { language = "hu" }
then = { assign = "ann", tag = ["billing"], priority = "high", note = "Magyar ügyfél" }
''')
    mid = await inbound(desk)
    report = await Router(desk).run_pending()
    assert report.routed == 1 and [r.rule for r in report.runs] == ["Hungarian billing"]
    cid = await conversation_of(desk, mid)
    row = await desk.db.fetchone("SELECT a.name, c.priority FROM conversations c JOIN agents a"
                                 " ON a.id = c.assignee_id WHERE c.id = ?", (cid,))
    assert tuple(row) == ("ann", "high")
    lines = await events(desk, cid)
    assert "system assigned this to ann by rule 'Hungarian billing'" in lines
    assert "system tagged +billing by rule 'Hungarian billing'" in lines
    assert not await store_routing.has_pending(desk.db)
    assert (await Router(desk).run_pending()).routed == 0  # routed once


async def test_undo_of_a_rule_run(desk: Desk, tmp_path: Path) -> None:
    await insert_agent(desk.db, name="ann")
    desk = write_rules(desk, tmp_path, '''
[[rules]]
name = "everything"
then = { assign = "ann", tag = ["vip"], priority = "urgent", status = "pending" }
''')
    mid = await inbound(desk)
    run = (await Router(desk).run_pending()).runs[0]
    from omnidesk.rules.routing import undo_run

    await undo_run(desk, run)
    cid = await conversation_of(desk, mid)
    row = await desk.db.fetchone("SELECT assignee_id, priority, status FROM conversations WHERE id = ?",
                                 (cid,))
    assert tuple(row) == (None, "normal", "open")
    assert await desk.db.fetchone("SELECT 1 FROM conversation_tags WHERE conversation_id = ?", (cid,)) is None


async def test_bad_file_keeps_the_rules_in_force(desk: Desk, tmp_path: Path, caplog) -> None:
    desk = write_rules(desk, tmp_path, '[[rules]]\nname = "tag all"\nthen = { tag = "seen" }\n')
    router = Router(desk)
    await inbound(desk)
    assert len((await router.run_pending()).runs) == 1
    path = desk.settings.rules_path
    path.write_text('[[rules]]\nname = "tag all"\nthen = { tag = "seen" }\n\n[[rules]]\nname = "broken"\n'
                    'when = { query = "status:maybe" }\nthen = { tag = "x" }\n', encoding="utf-8")
    await inbound(desk, sender="bob@example.com")
    report = await router.run_pending()
    assert [r.rule for r in report.runs] == ["tag all"]  # the old rules still ran
    assert router.error is not None
    assert str(router.error).startswith(f"{path}:7: rule 'broken': when.query:")
    assert any("rule 'broken'" in r.message for r in caplog.records)


async def test_rules_test_changes_nothing(desk: Desk, tmp_path: Path) -> None:
    from omnidesk.rules.routing import explain

    await insert_agent(desk.db, name="ann")
    engine = rules_of('[[rules]]\nname = "rr"\nthen = { strategy = "round-robin", tag = "x" }\n')
    mid = await inbound(desk)
    cid = await conversation_of(desk, mid)
    before = [tuple(r) for r in await desk.db.fetchall("SELECT * FROM conversations")]
    count = await desk.db.fetchone("SELECT count(*) FROM events")
    verdicts = await explain(desk, engine, cid, "new_conversation")
    assert [v.fired for v in verdicts] == [True]
    assert [tuple(r) for r in await desk.db.fetchall("SELECT * FROM conversations")] == before
    assert tuple(await desk.db.fetchone("SELECT count(*) FROM events")) == tuple(count)
    assert await desk.db.fetchone("SELECT 1 FROM round_robin") is None


# -- assignment ------------------------------------------------------------------------------------


async def test_strategies_skip_away_and_full_agents(desk: Desk, tmp_path: Path) -> None:
    ann = await insert_agent(desk.db, name="ann", teams=("t",))
    bob = await insert_agent(desk.db, name="bob", teams=("t",))
    cyd = await insert_agent(desk.db, name="cyd", teams=("t",))
    async with desk.db.write() as conn:
        await conn.execute("UPDATE agents SET capacity = 0 WHERE id = ?", (bob.id,))
    await store_routing.set_away(desk.db, ann.id, 1)
    desk = write_rules(desk, tmp_path,
                       '[[rules]]\nname = "rr"\nthen = { team = "t", strategy = "round-robin" }\n')
    for i in range(3):
        await inbound(desk, sender=f"c{i}@example.com")
    await Router(desk).run_pending()
    rows = await desk.db.fetchall("SELECT assignee_id FROM conversations")
    assert {r[0] for r in rows} == {cyd.id}
    await store_routing.set_away(desk.db, ann.id, None)  # back
    await inbound(desk, sender="late@example.com")
    await Router(desk).run_pending()
    row = await desk.db.fetchone("SELECT assignee_id FROM conversations ORDER BY id DESC LIMIT 1")
    assert row[0] == ann.id


async def test_skills_match_language_or_tag(desk: Desk, tmp_path: Path) -> None:
    await insert_agent(desk.db, name="ann", skills=("hu",))
    await insert_agent(desk.db, name="chen", skills=("zh",))
    desk = write_rules(desk, tmp_path, '[[rules]]\nname = "skills"\nthen = { strategy = "skills" }\n')
    hu = await inbound(desk, sender="a@example.com", language="hu")
    zh = await inbound(desk, sender="b@example.com", subject="退款", text="我要退款", language="zh")
    fa = await inbound(desk, sender="c@example.com", subject="سلام", text="سلام", language="fa")
    await Router(desk).run_pending()
    names = {}
    for mid in (hu, zh, fa):
        cid = await conversation_of(desk, mid)
        row = await desk.db.fetchone("SELECT a.name FROM conversations c LEFT JOIN agents a"
                                     " ON a.id = c.assignee_id WHERE c.id = ?", (cid,))
        names[mid] = row[0]
    assert names == {hu: "ann", zh: "chen", fa: None}


async def test_least_open(desk: Desk, tmp_path: Path) -> None:
    ann = await insert_agent(desk.db, name="ann")
    await insert_agent(desk.db, name="bob")
    first = await inbound(desk, sender="x@example.com")
    await services.assign(replace(desk, agent=ann), [await conversation_of(desk, first)], "ann")
    await store_routing.clear_pending(desk.db)
    desk = write_rules(desk, tmp_path,
                       '[[rules]]\nname = "lo"\nthen = { strategy = "least-open" }\n')
    mid = await inbound(desk, sender="y@example.com")
    await Router(desk).run_pending()
    row = await desk.db.fetchone("SELECT a.name FROM conversations c JOIN agents a ON a.id = c.assignee_id"
                                 " WHERE c.id = ?", (await conversation_of(desk, mid),))
    assert row[0] == "bob"


def test_the_example_rules_load() -> None:
    example = Path(__file__).resolve().parents[2] / "config" / "rules.example.toml"
    rules = load(example, known_agents={"alice", "chen"}, known_teams={"tier1", "tier2"}).rules
    assert [r.name for r in rules][:2] == ["Spam words", "Hungarian billing"]
    assert all(r.then != r.then.__class__() for r in rules)


async def test_an_sla_event_fires_the_rules_that_run_on_it(desk: Desk, tmp_path: Path) -> None:
    from omnidesk.rules.routing import fire

    desk = write_rules(desk, tmp_path, '[[rules]]\nname = "Breach"\non = ["sla_breach"]\n'
                                       'then = { priority = "urgent", tag = "breached" }\n')
    mid = await inbound(desk)
    cid = await conversation_of(desk, mid)
    router = Router(desk)
    assert (await router.run_pending()).runs == []  # the new conversation: no rule runs on it
    await fire(desk, cid, "sla_breach")
    assert [r.rule for r in (await router.run_pending()).runs] == ["Breach"]
    row = await desk.db.fetchone("SELECT priority FROM conversations WHERE id = ?", (cid,))
    assert row[0] == "urgent"
    with pytest.raises(ValueError):
        await fire(desk, cid, "sla_maybe")


async def test_an_agents_status_change_fires_status_change_rules_and_a_rules_does_not(
        desk: Desk, tmp_path: Path) -> None:
    ann = await insert_agent(desk.db, name="ann")
    desk = write_rules(desk, tmp_path, '''
[[rules]]
name = "Waiting on the customer"
on = ["status_change"]
when = { query = "status:pending" }
then = { tag = "waiting", status = "open" }
''')
    cid = await conversation_of(desk, await inbound(desk))
    router = Router(desk)
    await router.run_pending()
    await services.set_status(desk.as_agent(ann), [cid], "pending")
    runs = (await router.run_pending()).runs
    assert [r.rule for r in runs] == ["Waiting on the customer"]
    # The rule set the status back to open: that queues nothing, so no rule runs again.
    assert not await store_routing.has_pending(desk.db)
    row = await desk.db.fetchone("SELECT status FROM conversations WHERE id = ?", (cid,))
    assert row[0] == "open"


async def test_a_bad_file_at_start_keeps_the_messages_pending_until_it_is_fixed(desk: Desk,
                                                                              tmp_path: Path) -> None:
    desk = write_rules(desk, tmp_path, '[[rules]]\nname = "tag all"\nthen = { tag = "seen", colour = 1 }\n')
    mid = await inbound(desk)
    router = Router(desk)
    assert (await router.run_pending()).routed == 0 and router.error is not None
    assert await store_routing.has_pending(desk.db)
    desk.settings.rules_path.write_text('[[rules]]\nname = "tag all"\nthen = { tag = "seen" }\n', "utf-8")
    assert [r.rule for r in (await router.run_pending()).runs] == ["tag all"]
    assert router.error is None
    tags = await desk.db.fetchone("SELECT count(*) FROM conversation_tags WHERE conversation_id = ?",
                                  (await conversation_of(desk, mid),))
    assert tags[0] == 1


async def test_a_message_that_fails_to_route_stays_pending_and_the_rest_go_on(
        desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    desk = write_rules(desk, tmp_path, '[[rules]]\nname = "tag all"\nthen = { tag = "seen" }\n')
    first = await conversation_of(desk, await inbound(desk))
    second = await conversation_of(desk, await inbound(desk, sender="bob@example.com"))
    router = Router(desk)
    route = router.route

    async def failing(row: store_routing.Pending) -> list:
        if row.conversation_id == first:
            raise RuntimeError("a bug")
        return await route(row)

    monkeypatch.setattr(router, "route", failing)
    report = await router.run_pending()
    assert [r.conversation_id for r in report.runs] == [second]
    assert [p.conversation_id for p in await store_routing.pending(desk.db)] == [first]
    monkeypatch.setattr(router, "route", route)
    assert [r.conversation_id for r in (await router.run_pending()).runs] == [first]


def test_the_rules_file_is_beside_the_config_unless_named(tmp_path: Path) -> None:
    from omnidesk.config import load_settings

    config = tmp_path / "conf" / "config.toml"
    config.parent.mkdir()
    config.write_text("[desk]\nname = 'x'\n", encoding="utf-8")
    assert load_settings(config, warn=None).rules_path == config.parent / "rules.toml"
    config.write_text("[desk]\nrules = 'routing/ünnep.toml'\n", encoding="utf-8")
    assert load_settings(config, warn=None).rules_path == (config.parent / "routing" / "ünnep.toml").resolve()


async def test_language_rules_read_the_detected_language(desk: Desk, tmp_path: Path) -> None:
    rule = '[[rules]]\nname = "{0}"\nwhen = {{ language = "{0}" }}\nthen = {{ tag = "{0}" }}\n'
    desk = write_rules(desk, tmp_path, rule.format("hu") + rule.format("fa"))
    hu = await inbound(desk, language=None, subject="Számla",
                       text="Jó napot kívánok! Kérem, küldjék el újra a múlt havi számlát, köszönöm szépen.")
    fa = await inbound(desk, sender="reza@example.ir", language=None, subject="سفارش",
                       text="سلام، سفارش من هنوز نرسیده است. لطفا وضعیت ارسال را بررسی کنید. متشکرم")
    runs = (await Router(desk).run_pending()).runs
    assert {(r.rule, r.conversation_id) for r in runs} == {("hu", await conversation_of(desk, hu)),
                                                          ("fa", await conversation_of(desk, fa))}


@pytest.mark.parametrize(("hour", "fired"), [(10, ["inside"]), (20, ["outside"]), (3, ["outside"])])
async def test_business_hours_by_the_calendar(desk: Desk, hour: int, fired: list[str]) -> None:
    """Budapest, weekdays 09:00-17:00: a rule for inside the hours and one for outside."""
    from zoneinfo import ZoneInfo

    from omnidesk.rules.model import RuleSet
    from omnidesk.sla.policy import CalendarSpec

    day = ((540, 1020),)
    budapest = CalendarSpec("budapest", "Europe/Budapest", (day,) * 5 + ((), ()))
    text = ('[[rules]]\nname = "inside"\nwhen = { hours = "inside" }\nthen = { tag = "in" }\n'
            '[[rules]]\nname = "outside"\nwhen = { hours = "outside", calendar = "budapest" }\n'
            'then = { tag = "out" }\n')
    engine = Engine(RuleSet(parse_text(text.encode(), "r", known_calendars=["budapest"])), "UTC", [budapest])
    cid = await conversation_of(desk, await inbound(desk))
    when = datetime(2026, 11, 4, hour, 30, tzinfo=ZoneInfo("Europe/Budapest"))  # a Wednesday
    _, verdicts = await engine.evaluate(desk.db, cid, None, "new_conversation", int(when.timestamp() * 1000))
    assert [v.rule.name for v in verdicts if v.fired] == fired
