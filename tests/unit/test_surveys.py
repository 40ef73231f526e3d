"""CSAT and NPS through the channel: asked once after a resolve, answered on chat without reopening."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.base import FLAG_OPT_OUT, Address, Batch, Inbound
from omnidesk import registry
from omnidesk.conversations import reads
from omnidesk.conversations.eventtext import describe
from omnidesk.desk import Desk
from omnidesk.inbound.ingest import ingest_batch
from omnidesk.model import Channel
from omnidesk.services import services
from omnidesk.services.surveys import ask_due
from omnidesk.settings import ChannelSettings, DeskSettings, Settings, SurveySettings
from omnidesk.store.channels import ensure_channel
from omnidesk.surveytext import asks_something, parse_rating
from omnidesk.timeutil import now_ms
from tests.fakes.recording_chat import CHAT_KIND, RecordingChat

HOUR = 3_600_000
_ids = itertools.count(1)


@pytest.mark.parametrize(("text", "kind", "rating"), [
    ("4", "csat", 4), (" 5 ", "csat", 5), ("4/5", "csat", 4), ("3.", "csat", 3), ("⭐⭐⭐⭐", "csat", 4),
    ("⭐️⭐️", "csat", 2), ("👍", "csat", 5), ("👎", "csat", 1), ("6", "csat", None), ("0", "csat", None),
    ("10", "nps", 10), ("0", "nps", 0), ("11", "nps", None), ("4 stars please", "csat", None),
    ("", "csat", None), ("٤", "csat", 4), ("۵", "csat", 5), ("⭐⭐⭐⭐⭐⭐", "csat", None),
    ("👍", "nps", None),
])
def test_a_rating_is_a_short_number_or_the_channels_emoji(text: str, kind: str, rating: int | None) -> None:
    assert parse_rating(text, kind) == rating


@pytest.mark.parametrize(("comment", "asks"), [
    ("Great, thanks", False), ("Why did it take a week", True), ("ok?", True), ("Miért ilyen lassú", True),
    ("退款什么时候到？", True), ("چرا؟", True), ("Nagyon gyors volt", False), ("", False),
])
def test_a_comment_asks_something_with_a_question_mark_or_word(comment: str, asks: bool) -> None:
    assert asks_something(comment) is asks


@pytest.fixture
def chat_kind() -> Iterator[Any]:
    registry.register(CHAT_KIND, RecordingChat)
    RecordingChat.sent.clear()
    yield RecordingChat
    registry.unregister(CHAT_KIND)


def _settings(*channels: ChannelSettings, **surveys: Any) -> Settings:
    return Settings(desk=DeskSettings(name="Acme", undo_seconds=0.0), channels=channels,
                    surveys=SurveySettings(**surveys))


@pytest.fixture
async def sdesk(desk: Desk, chat_kind: Any) -> Desk:
    tg = ChannelSettings("tg", CHAT_KIND, csat=True, csat_delay_ms=HOUR)
    return dataclasses.replace(desk, settings=_settings(tg))


def _chat(text: str, *, who: str = "5550001", kind: str = "telegram", flags: frozenset[str] = frozenset(),
          at: datetime | None = None) -> Inbound:
    return Inbound(external_id=str(next(_ids)), scope=who, sender=Address(kind, who, "Éva"),
                   sent_at=at or datetime.now(UTC), text=text, chat_like=True, flags=flags)


async def _resolved(desk: Desk, channel: Channel, text: str = "Hol a csomagom? 我的包裹在哪里？",
                    **kw: Any) -> int:
    result = await ingest_batch(desk, channel, Batch([_chat(text, **kw)], None))
    (cid,) = result.conversation_ids
    await services.set_status(desk, [cid], "resolved")
    return cid


async def _surveys(desk: Desk) -> list[tuple[Any, ...]]:
    rows = await desk.db.fetchall("SELECT conversation_id, kind, message_id IS NOT NULL, skipped, rating,"
                                  " comment FROM surveys ORDER BY id")
    return [tuple(r) for r in rows]


async def test_asked_once_after_the_delay_in_the_customers_channel(sdesk: Desk) -> None:
    tg = await ensure_channel(sdesk.db, "tg", CHAT_KIND, None)
    cid = await _resolved(sdesk, tg)
    assert await ask_due(sdesk, now=now_ms() + HOUR // 2) == [], "not before the delay"
    assert len(await ask_due(sdesk, now=now_ms() + HOUR + 1000)) == 1
    assert await ask_due(sdesk, now=now_ms() + HOUR + 2000) == [], "never twice"
    assert await _surveys(sdesk) == [(cid, "csat", 1, None, None, None)]
    conv = await reads.get_conversation(sdesk, cid)
    assert conv.messages[-1].direction == "out" and conv.messages[-1].text.endswith("(1-5)")
    assert conv.summary.status == "resolved", "asking reopens nothing"
    said = [describe(e) for e in conv.events if e.kind == "survey_sent"]
    assert said == ["the customer was asked for a CSAT rating via tg by the survey timer"]


async def test_a_reopen_within_the_delay_means_no_survey_until_resolved_again(sdesk: Desk) -> None:
    tg = await ensure_channel(sdesk.db, "tg", CHAT_KIND, None)
    cid = await _resolved(sdesk, tg)
    await services.set_status(sdesk, [cid], "open")  # reopened within the delay
    assert await ask_due(sdesk, now=now_ms() + 2 * HOUR) == []
    await services.set_status(sdesk, [cid], "resolved")
    assert len(await ask_due(sdesk, now=now_ms() + 2 * HOUR)) == 1


async def test_a_chat_rating_is_the_answer_and_reopens_nothing(sdesk: Desk) -> None:
    tg = await ensure_channel(sdesk.db, "tg", CHAT_KIND, None)
    cid = await _resolved(sdesk, tg)
    await ask_due(sdesk, now=now_ms() + 2 * HOUR)
    result = await ingest_batch(sdesk, tg, Batch([_chat("⭐⭐⭐⭐")], None))
    assert result.conversation_ids == [cid]
    conv = await reads.get_conversation(sdesk, cid)
    assert conv.summary.status == "resolved"
    assert [describe(e) for e in conv.events if e.kind == "survey_answered"] == [
        "the customer rated this 4/5 (CSAT)"]
    assert not [e for e in conv.events if e.kind == "reopened"]
    again = await ingest_batch(sdesk, tg, Batch([_chat("5")], None))  # a second number is a message again
    assert (await _surveys(sdesk))[0][4] == 4
    assert again.conversation_ids != [cid] and again.rules == ["new"]


async def test_a_number_with_no_survey_waiting_is_an_ordinary_message(sdesk: Desk) -> None:
    tg = await ensure_channel(sdesk.db, "tg", CHAT_KIND, None)
    cid = await _resolved(sdesk, tg)
    result = await ingest_batch(sdesk, tg, Batch([_chat("3")], None))
    assert result.conversation_ids != [cid] and result.rules == ["new"]
    assert await _surveys(sdesk) == []


async def test_an_opted_out_sms_customer_is_not_asked(desk: Desk) -> None:
    sms = ChannelSettings("sms", "twilio", csat=True, csat_delay_ms=HOUR)
    desk = dataclasses.replace(desk, settings=_settings(sms))
    chan = await ensure_channel(desk.db, "sms", "twilio", "+15550000000")
    phone = "+36301234567"
    cid = await _resolved(desk, chan, "Hol a csomagom?", who=phone, kind="phone")
    await ingest_batch(desk, chan, Batch([_chat("STOP", who=phone, kind="phone",
                                                flags=frozenset({FLAG_OPT_OUT}))], None))
    await services.set_status(desk, [cid], "resolved")
    assert len(await ask_due(desk, now=now_ms() + 2 * HOUR)) == 1
    [(_, _, asked, skipped, _, _)] = await _surveys(desk)
    assert not asked and skipped is not None and "opted out" in skipped
    row = await desk.db.fetchone("SELECT count(*) FROM outbox")
    assert row is not None and row[0] == 0, "nothing queued to an opted-out number"


async def test_nps_at_most_once_per_customer_per_period(chat_kind: Any, desk: Desk) -> None:
    tg = ChannelSettings("tg", CHAT_KIND, csat=True, nps=True, csat_delay_ms=HOUR)
    desk = dataclasses.replace(desk, settings=_settings(tg, nps_period_ms=30 * 24 * HOUR))
    chan = await ensure_channel(desk.db, "tg", CHAT_KIND, None)

    async def asked(who: str) -> tuple[str, int | None]:
        cid = await _resolved(desk, chan, who=who)
        await ask_due(desk, now=now_ms() + 2 * HOUR)
        await ingest_batch(desk, chan, Batch([_chat("9", who=who)], None))
        row = await desk.db.fetchone("SELECT kind, rating FROM surveys WHERE conversation_id = ?", (cid,))
        assert row is not None
        return row[0], row[1]

    assert await asked("5550001") == ("nps", 9)
    assert await asked("5550001") == ("csat", None), "9 is no CSAT rating; NPS was asked in the period"
    assert await asked("5550002") == ("nps", 9), "another customer"
    async with desk.db.write() as conn:  # the period has passed for the first customer
        await conn.execute("UPDATE surveys SET asked_at = asked_at - ?", (31 * 24 * HOUR,))
    assert await asked("5550001") == ("nps", 9)


async def test_the_csat_report_on_a_hand_computed_desk(chat_kind: Any, desk: Desk) -> None:
    from omnidesk.reports.compute import Filters, build
    from tests.unit import factories

    tg = ChannelSettings("tg", CHAT_KIND, csat=True, csat_delay_ms=HOUR)
    vip = ChannelSettings("vip", CHAT_KIND, nps=True, csat_delay_ms=HOUR)
    desk = dataclasses.replace(desk, settings=_settings(tg, vip))
    await factories.agent(desk, "alice")
    await factories.agent(desk, "bob")
    chans = {name: await ensure_channel(desk.db, name, CHAT_KIND, None) for name in ("tg", "vip")}
    # (channel, agent, answer): alice CSAT 5, 4, 2; bob CSAT 3 and one unanswered;
    # NPS 10, 9 (promoters), 7 (passive), 3 (detractor) and one unanswered, all bob's.
    plan = [("tg", "alice", "5"), ("tg", "alice", "4"), ("tg", "alice", "2"), ("tg", "bob", "3"),
            ("tg", "bob", None), ("vip", "bob", "10"), ("vip", "bob", "9"), ("vip", "bob", "7"),
            ("vip", "bob", "3"), ("vip", "bob", None)]
    for i, (chan, agent, answer) in enumerate(plan):
        who = f"55500{i:02d}"
        result = await ingest_batch(desk, chans[chan], Batch([_chat("Szia! 你好", who=who)], None))
        await services.assign(desk, result.conversation_ids, agent)
        await services.set_status(desk, result.conversation_ids, "resolved")
        await ask_due(desk, now=now_ms() + 2 * HOUR)
        if answer is not None:
            await ingest_batch(desk, chans[chan], Batch([_chat(answer, who=who)], None))
    report = await build(desk, "csat", Filters(now_ms() - HOUR, now_ms() + 3 * HOUR))
    got = {(r["group"], r["name"]): r for r in report.rows}
    assert got[("all", "")] == {
        "group": "all", "name": "", "csat_asked": 5, "csat_answered": 4, "csat_response_rate": 0.8,
        "csat_rate": 0.5, "nps_asked": 5, "nps_answered": 4, "nps_response_rate": 0.8,
        "promoters": 2, "passives": 1, "detractors": 1, "nps": 25.0}
    alice, bob = got[("agent", "alice")], got[("agent", "bob")]
    assert (alice["csat_rate"], alice["csat_response_rate"], alice["nps"]) == (0.6667, 1.0, None)
    assert (bob["csat_rate"], bob["csat_response_rate"], bob["nps"], bob["nps_asked"]) == (0.0, 0.5, 25.0, 5)
    assert (got[("channel", "tg")]["csat_asked"], got[("channel", "vip")]["nps_answered"]) == (5, 4)
    assert list(report.rows[0]) == list(report.fields)
    empty = await build(desk, "csat", Filters(now_ms() + 10 * HOUR, now_ms() + 11 * HOUR))
    assert [(r["csat_asked"], r["csat_rate"], r["nps"]) for r in empty.rows] == [(0, None, None)]


async def test_the_daemon_asks_once_and_sends_once_across_restarts(chat_kind: Any, tmp_path: Any) -> None:
    import asyncio

    from omnidesk.services.sync import run_sync
    from omnidesk.store.db import Database

    tg = ChannelSettings("tg", CHAT_KIND, csat=True, csat_delay_ms=0)
    path = tmp_path / "data" / "omnidesk.db"
    for run in range(3):  # three daemon runs on one data dir, the first after the resolve
        db = await Database.open(path)
        desk = Desk(db=db, settings=_settings(tg), data_dir=path.parent)
        try:
            if run == 0:
                await _resolved(desk, await ensure_channel(db, "tg", CHAT_KIND, None))
            report = await run_sync(desk, once=True, stop=asyncio.Event())
            assert report.surveys == ([1] if run == 0 else [])
        finally:
            await db.close()
    [sent] = RecordingChat.sent
    assert sent.text.endswith("(1-5)") and sent.to == (Address("telegram", "5550001", "Éva"),)


async def test_a_macro_named_csat_words_the_question_per_channel_style_and_language(
        sdesk: Desk, tmp_path: Any) -> None:
    from omnidesk.settings import MacroSettings

    folder = tmp_path / "macros"
    folder.mkdir()
    (folder / "csat.toml").write_text(
        '[actions]\nstatus = "open"\n\n[text.chat]\nen = "Rate us, {{ customer.first_name }}!"\n'
        'hu = "Értékeljen minket, {{ customer.name }}! {scale}"\n', encoding="utf-8")
    macros = MacroSettings(folder)
    desk = dataclasses.replace(sdesk, settings=dataclasses.replace(sdesk.settings, macros=macros))
    tg = await ensure_channel(desk.db, "tg", CHAT_KIND, None)
    cid = await _resolved(desk, tg)
    await ask_due(desk, now=now_ms() + 2 * HOUR)
    conv = await reads.get_conversation(desk, cid)
    assert conv.messages[-1].text == "Rate us, Éva! (1-5)"
    assert conv.summary.status == "resolved", "a survey macro's actions are not applied"
    (folder / "nps.toml").write_text("text = [", encoding="utf-8")  # broken: the built-in question instead
    desk = dataclasses.replace(desk, settings=dataclasses.replace(
        desk.settings, channels=(ChannelSettings("tg", CHAT_KIND, nps=True, csat_delay_ms=HOUR),)))
    second = await _resolved(desk, tg, who="5550009")
    await ask_due(desk, now=now_ms() + 2 * HOUR)
    assert (await reads.get_conversation(desk, second)).messages[-1].text.endswith("a friend? (0-10)")
