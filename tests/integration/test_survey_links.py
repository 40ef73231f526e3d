"""Email surveys through real HTTP to the daemon's listener: one-click links, signed, single-use, expiring."""

from __future__ import annotations

import re
import stat
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from adapters.base import Address, Batch, Inbound
from omnidesk.conversations import reads
from omnidesk.desk import Desk
from omnidesk.inbound.ingest import ingest_batch
from omnidesk.services import services
from omnidesk.services.surveys import ask_due
from omnidesk.services.surveytokens import KEY_FILE, desk_secret, make_token
from omnidesk.services.webhooks import Listener, open_listener
from omnidesk.settings import ChannelSettings, DeskSettings, Settings, WebhookSettings
from omnidesk.store.channels import ensure_channel
from omnidesk.store.db import Database
from omnidesk.timeutil import now_ms
from tests.fakes.smtp_server import free_port
from tests.integration.webhook_env import listening

HOUR = 3_600_000


def _settings(port: int) -> Settings:
    support = ChannelSettings("support", "email", address="support@example.com", csat=True,
                              csat_delay_ms=HOUR)
    return Settings(desk=DeskSettings(name="Acme", undo_seconds=0.0), channels=(support,),
                    webhooks=WebhookSettings("127.0.0.1", port, f"http://127.0.0.1:{port}"))


async def _open(path: Path, port: int) -> Desk:
    db = await Database.open(path / "data" / "omnidesk.db")
    return Desk(db=db, settings=_settings(port), data_dir=path / "data")


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[Desk, Listener]]:
    port = free_port()
    desk = await _open(tmp_path, port)
    listener = await open_listener(desk, [], lambda name, result: None)
    assert listener is not None
    await listening(port)
    try:
        yield desk, listener
    finally:
        await listener.close()
        await desk.db.close()


async def _asked(desk: Desk, text: str = "Hol a csomagom? 我的包裹在哪里？") -> tuple[int, str]:
    """A resolved mail conversation, asked: (conversation id, the question's text)."""
    chan = await ensure_channel(desk.db, "support", "email", "support@example.com")
    mail = Inbound(external_id=f"<{now_ms()}@example.hu>",
                   sender=Address("email", "eva@example.hu", "Nagy Éva"),
                   sent_at=datetime.now(UTC), subject="Csomag", text=text)
    (cid,) = (await ingest_batch(desk, chan, Batch([mail], None))).conversation_ids
    await services.set_status(desk, [cid], "resolved")
    assert len(await ask_due(desk, now=now_ms() + 2 * HOUR)) == 1
    question = (await reads.get_conversation(desk, cid)).messages[-1]
    assert question.direction == "out"
    return cid, question.text


def _links(text: str) -> dict[int, str]:
    return {int(n): url for url, n in re.findall(r"(http://\S+/survey/\S+\?r=(\d+))", text)}


async def _rows(desk: Desk) -> list[tuple[object, ...]]:
    return [tuple(r) for r in await desk.db.fetchall("SELECT rating, comment FROM surveys ORDER BY id")]


async def test_a_link_rates_once_and_a_replay_stores_nothing(served: tuple[Desk, Listener]) -> None:
    desk, _ = served
    cid, text = await _asked(desk)
    links = _links(text)
    assert sorted(links) == [1, 2, 3, 4, 5]
    key = desk.data_dir / KEY_FILE
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    async with httpx.AsyncClient(trust_env=False) as client:
        first = await client.get(links[4])
        assert first.status_code == 200 and "Thank you for your rating" in first.text
        assert "<form" in first.text
        again = await client.get(links[1])  # the same token, another rating: single use
        assert again.status_code == 409 and "already rated" in again.text
    assert await _rows(desk) == [(4, None)]
    conv = await reads.get_conversation(desk, cid)
    assert conv.summary.status == "resolved", "a rating never reopens"
    assert [e.after["rating"] for e in conv.events if e.kind == "survey_answered"] == [4]


async def test_forged_expired_and_malformed_tokens_get_a_page_and_store_nothing(
        served: tuple[Desk, Listener]) -> None:
    desk, _ = served
    _, text = await _asked(desk)
    good = _links(text)[5]
    token = good.rsplit("/", 1)[1].split("?")[0]
    sid, expiry, mac = token.split(".")
    base = good.split("/survey/")[0] + "/survey/"
    forged = f"{sid}.{int(expiry) + 86400}.{mac}"  # a longer life, same signature
    other = f"{int(sid) + 1}.{expiry}.{mac}"
    expired = make_token(desk_secret(desk.data_dir), int(sid), now_ms() - 1000)
    async with httpx.AsyncClient(trust_env=False) as client:
        for bad, status, words in ((forged, 403, "not one of ours"), (other, 403, "not one of ours"),
                                   (expired, 410, "expired"), ("x" * 500, 403, "not one of ours"),
                                   ("<script>alert(1)</script>", 403, "not one of ours")):
            page = await client.get(f"{base}{bad}?r=5")
            assert (page.status_code, words in page.text) == (status, True), bad
            assert "<script>" not in page.text
        assert (await client.get(good.replace("?r=5", "?r=9"))).status_code == 400  # off the scale
        assert (await client.delete(good)).status_code == 405
        assert (await client.post(f"{base}{forged}", data={"comment": "hi"})).status_code == 403
    assert await _rows(desk) == [(None, None)]


async def test_a_comment_is_stored_once_inert_and_a_question_reopens(served: tuple[Desk, Listener]) -> None:
    desk, _ = served
    cid, text = await _asked(desk)
    link = _links(text)[2]
    hostile = "[bold red]Lassú[/] \x1b[2J\u202eés miért nem jött meg? 为什么？"
    async with httpx.AsyncClient(trust_env=False) as client:
        assert (await client.post(link, data={"comment": "early"})).status_code == 409, "rate first"
        assert (await client.get(link)).status_code == 200
        posted = await client.post(link, data={"comment": hostile})
        assert posted.status_code == 200 and "answer your question" in posted.text
        assert (await client.post(link, data={"comment": "second"})).status_code == 409
    assert await _rows(desk) == [(2, hostile)]
    conv = await reads.get_conversation(desk, cid)
    assert conv.summary.status == "open", "a comment that asks something reopens"
    from omnidesk.conversations.eventtext import describe

    [said] = [describe(e) for e in conv.events if e.kind == "survey_commented"]
    assert "\x1b" not in said and "\u202e" not in said and "\n" not in said


async def test_asked_exactly_once_across_a_restart(tmp_path: Path) -> None:
    port = free_port()
    desk = await _open(tmp_path, port)
    try:
        cid, _ = await _asked(desk)
    finally:
        await desk.db.close()
    desk = await _open(tmp_path, port)  # the daemon again, on the same data dir
    try:
        await services.set_status(desk, [cid], "resolved")  # again: asked once per conversation
        assert await ask_due(desk, now=now_ms() + 2 * HOUR) == []
        row = await desk.db.fetchone("SELECT count(*) FROM outbox")
        assert row is not None and row[0] == 1
    finally:
        await desk.db.close()


def test_email_surveys_need_the_listener() -> None:
    from omnidesk.config import parse_settings
    from omnidesk.errors import ConfigError

    channel = {"kind": "email", "address": "a@example.com", "imap_host": "x", "csat": True}
    with pytest.raises(ConfigError, match=r"channels\.support\.csat: email surveys link to the webhook"):
        parse_settings({"channels": {"support": channel}})
    with pytest.raises(ConfigError, match=r"channels\.support\.csat_delay: expected a duration"):
        parse_settings({"channels": {"support": {**channel, "csat_delay": "soon"}},
                        "webhooks": {"listen": "127.0.0.1:8787"}})
