"""Agents have identities of any kind; a message from one is the agent's own, never a customer's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.base import IDENTITY_KINDS, Address, Batch, Inbound
from omnidesk import config
from omnidesk.customers.identity import InvalidIdentity
from omnidesk.desk import Desk
from omnidesk.errors import ConfigError, UserError
from omnidesk.inbound.ingest import ingest_batch
from omnidesk.model import Channel
from omnidesk.services import services
from omnidesk.services.opendesk import open_desk
from omnidesk.store import channels as store_channels
from omnidesk.store.agents import agent_by_identity, list_agents

T = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def chat(ext: str, kind: str, sender: str, text: str, *, refs: tuple[str, ...] = (),
         at: datetime = T, name: str = "") -> Inbound:
    return Inbound(external_id=ext, sender=Address(kind, sender, name), sent_at=at, text=text,
                   thread_refs=refs, chat_like=True)


async def ingest(desk: Desk, channel: Channel, *records: Inbound):
    return await ingest_batch(desk, channel, Batch(list(records), None))


async def row(desk: Desk, sql: str, *args: object) -> dict:
    found = await desk.db.fetchone(sql, args)
    assert found is not None, sql
    return dict(found)


def test_config_agent_keys_are_the_identity_kinds() -> None:
    assert {"email", *config.AGENT_IDENTITY_KEYS} == set(IDENTITY_KINDS)
    assert set(config.AGENT_IDENTITY_KEYS) <= set(config.AGENT_KEYS)


async def test_agent_add_with_identities_of_every_kind(desk: Desk) -> None:
    alice = await services.add_agent(desk, "alice", email="Alice@Acme.Example",
                                     identities=[("slack", "u0123abc@t0team01"), ("telegram", "5550001"),
                                                 ("telegram", "5550002"), ("phone", "+36 30 123 4567")],
                                     role="admin")
    desk = desk.as_agent(alice)  # the first agent of a desk is anyone's to add; the next ones an admin's
    assert alice.identities == (("email", "alice@acme.example"), ("phone", "+36301234567"),
                                ("slack", "U0123ABC@T0TEAM01"), ("telegram", "5550001"),
                                ("telegram", "5550002"))
    found = await agent_by_identity(desk.db, "slack", "U0123ABC@T0TEAM01")
    assert found is not None and found.name == "alice"
    with pytest.raises(UserError, match="already agent 'alice'"):
        await services.add_agent(desk, "bob", identities=[("telegram", "05550001")])
    with pytest.raises(InvalidIdentity, match="Slack"):
        await services.add_agent(desk, "carol", identities=[("slack", "U0123ABC")])
    assert [a.name for a in await list_agents(desk.db)] == ["alice"]  # nothing half-added


async def test_agent_answering_from_telegram_is_outgoing_and_reopens_nothing(desk: Desk) -> None:
    tg = await store_channels.ensure_channel(desk.db, "tg", "telegram", None)
    alice = await services.add_agent(desk, "alice", identities=[("telegram", "5550001")])
    first = await ingest(desk, tg, chat("41", "telegram", "7770001", "سلام، سفارش من کجاست؟", name="زهرا"))
    cid = first.conversation_ids[0]
    async with desk.db.write() as conn:
        await conn.execute("UPDATE conversations SET status = 'pending' WHERE id = ?", (cid,))
    before = await row(desk, "SELECT * FROM conversations WHERE id = ?", cid)
    customers = (await row(desk, "SELECT count(*) AS n FROM customers"))["n"]

    answer = await ingest(desk, tg, chat("42", "telegram", "5550001", "已发货 (shipped)", refs=("41",),
                                         at=T + timedelta(minutes=5), name="Alice"))

    assert answer.conversation_ids == [cid]
    msg = await row(desk, "SELECT direction, author_agent_id, author_identity_id FROM messages"
                          " WHERE external_id = '42'")
    assert msg == {"direction": "out", "author_agent_id": alice.id, "author_identity_id": None}
    after = await row(desk, "SELECT * FROM conversations WHERE id = ?", cid)
    assert after["status"] == "pending"  # not reopened
    assert after["last_inbound_at"] == before["last_inbound_at"]  # not a customer reply
    assert after["first_response_at"] is not None
    assert (await row(desk, "SELECT count(*) AS n FROM customers"))["n"] == customers
    assert (await row(desk, "SELECT count(*) AS n FROM identities WHERE address = '5550001'"))["n"] == 0


async def test_agent_identity_of_one_kind_is_not_another_kinds(desk: Desk) -> None:
    """Own identities are keyed by kind: a Telegram user 5550001 is not a phone 5550001."""
    tg = await store_channels.ensure_channel(desk.db, "tg", "telegram", None)
    await services.add_agent(desk, "alice", identities=[("slack", "U0123ABC@T0TEAM01")])
    r = await ingest(desk, tg, chat("1", "telegram", "5550001", "hi"))
    stored = await row(desk, "SELECT direction FROM messages WHERE id = ?", r.message_ids[0])
    assert stored["direction"] == "in"


async def test_agent_chat_message_answering_nothing_known_is_an_ordinary_inbound(desk: Desk) -> None:
    sl = await store_channels.ensure_channel(desk.db, "sl", "slack", None)
    await services.add_agent(desk, "alice", identities=[("slack", "U0123ABC@T0TEAM01")])
    r = await ingest(desk, sl, chat("1.0001", "slack", "U0123ABC@T0TEAM01", "testing", refs=("0.5",)))
    stored = await row(desk, "SELECT direction FROM messages WHERE id = ?", r.message_ids[0])
    assert r.imported == 1 and stored["direction"] == "in"


def _write(tmp_path: Path, agents: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[desk]\ndata_dir = "{tmp_path / "data"}"\n{agents}', "utf-8")
    return path


async def test_configured_agents_take_identities_as_string_or_list(tmp_path: Path) -> None:
    path = _write(tmp_path, '[[agents]]\nname = "alice"\nemail = "alice@acme.example"\n'
                            'slack = "u0123abc@t0team01"\ntelegram = ["5550001", "5550002"]\n')
    desk = await open_desk(path)
    try:
        [alice] = await list_agents(desk.db)
        assert alice.identities == (("email", "alice@acme.example"), ("slack", "U0123ABC@T0TEAM01"),
                                    ("telegram", "5550001"), ("telegram", "5550002"))
    finally:
        await desk.db.close()
    path.write_text(path.read_text("utf-8").replace('["5550001", "5550002"]', '"5550003"'), "utf-8")
    desk = await open_desk(path)  # identities follow the config
    try:
        [alice] = await list_agents(desk.db)
        assert ("telegram", "5550003") in alice.identities and ("telegram", "5550001") not in alice.identities
    finally:
        await desk.db.close()


def test_configured_identity_errors_name_the_file_and_key(tmp_path: Path) -> None:
    path = _write(tmp_path, '[[agents]]\nname = "a"\ntelegram = "1"\n'
                            '[[agents]]\nname = "b"\ntelegram = "1"\n')
    with pytest.raises(ConfigError, match=r"config.toml: agents\[1\].telegram: duplicate telegram '1'"):
        config.load_settings(path, warn=None)
    path = _write(tmp_path, '[[agents]]\nname = "a"\ntelegram = 5\n')
    with pytest.raises(ConfigError, match=r"agents\[0\].telegram"):
        config.load_settings(path, warn=None)


async def test_a_bad_configured_identity_is_one_line_naming_the_agent(tmp_path: Path) -> None:
    path = _write(tmp_path, '[[agents]]\nname = "alice"\nslack = "U0123ABC"\n')
    with pytest.raises(ConfigError, match=r"config.toml: agents 'alice': slack: not a Slack user"):
        await open_desk(path)
