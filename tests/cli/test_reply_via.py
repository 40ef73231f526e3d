"""`omnidesk reply N --via CHANNEL`: the reply defaults to the channel the customer wrote on last and
switches to any channel that reaches one of their identities; one that cannot says which and why."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from omnidesk import registry
from tests.cli.conftest import CliEnv, seed_emails
from tests.fakes.recording_chat import CHAT_KIND, RecordingChat


@pytest.fixture
def chat_kind() -> Iterator[None]:
    registry.register(CHAT_KIND, RecordingChat)
    yield
    registry.unregister(CHAT_KIND)


def _seed(env: CliEnv) -> tuple[int, int]:
    """Éva mails and then writes on the chat channel `tg`; 王芳 only mails."""

    async def seed(desk: Any) -> tuple[int, int]:
        from adapters.base import Address, Inbound
        from omnidesk.conversations import reads
        from omnidesk.inbound.ingest import ingest_records
        from omnidesk.store import customers
        from omnidesk.store.channels import ensure_channel
        from omnidesk.timeutil import now_ms

        eva, wang = await seed_emails(desk, [("eva@example.hu", "Számla", "Hol a számlám?"),
                                             ("wang@example.cn", "退款", "我的退款呢?")])
        customer_id = (await reads.get_conversation(desk, eva)).customer.id
        async with desk.db.write() as conn:
            await customers.add_identity(conn, customer_id=customer_id, kind="telegram", address="5550001",
                                         display_name="Éva", now=now_ms())
        tg = await ensure_channel(desk.db, "tg", CHAT_KIND, None)
        chat = Inbound(external_id="42", scope="5550001", sender=Address("telegram", "5550001", "Éva"),
                       sent_at=datetime(2026, 11, 20, 9, 30, tzinfo=UTC), text="Megvan?", chat_like=True)
        assert (await ingest_records(desk, tg, [chat])).conversation_ids == [eva]
        return eva, wang

    return env.run(seed)


def test_reply_defaults_to_the_chat_and_via_switches_to_mail(cli_env: CliEnv, chat_kind: None) -> None:
    eva, _ = _seed(cli_env)
    default = cli_env.invoke("reply", str(eva), "Igen, megvan.")
    assert default.exit_code == 0, default.stderr
    assert f"Reply to #{eva} queued via tg to 5550001" in default.stdout
    via = cli_env.invoke("reply", str(eva), "--via", "support", "Részletek e-mailben.")
    assert via.exit_code == 0, via.stderr
    assert f"Reply to #{eva} queued via support to eva@example.hu" in via.stdout


def test_via_a_channel_that_cannot_reach_the_customer_says_why(cli_env: CliEnv, chat_kind: None) -> None:
    _, wang = _seed(cli_env)
    result = cli_env.invoke("reply", str(wang), "--via", "tg", "你好")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"omnidesk: the tg channel cannot reach the customer of #{wang}: it sends to telegram addresses"
        " and the customer has no telegram address"
    )
    unknown = cli_env.invoke("reply", str(wang), "--via", "nope", "你好")
    assert unknown.exit_code == 1 and "unknown channel 'nope'" in unknown.stderr
    assert "Traceback" not in result.stderr + unknown.stderr


def test_visibility_is_chosen_for_a_mastodon_reply_and_refused_elsewhere(cli_env: CliEnv) -> None:
    """`--visibility` reaches the Mastodon adapter in the queued reply's meta; a bad value or a
    channel that has no visibility is one clear line, and nothing is queued."""

    async def seed(desk: Any) -> int:
        from adapters.base import Address, Inbound
        from omnidesk.inbound.ingest import ingest_records
        from omnidesk.store.channels import ensure_channel

        social = await ensure_channel(desk.db, "social", "mastodon", None)
        meta = {"mastodon": {"status_id": "113000000000000022", "visibility": "public",
                             "acct": "ann@mastodon.social", "max_characters": 500}}
        mention = Inbound(external_id="113000000000000022", scope="mastodon.example", chat_like=True,
                          meta=meta, sender=Address("mastodon", "ann@mastodon.social", "Ann"),
                          text="@support where is my parcel?", sent_at=datetime(2026, 11, 20, tzinfo=UTC))
        (cid,) = (await ingest_records(desk, social, [mention])).conversation_ids
        return int(cid)

    async def queued_meta(desk: Any) -> list[dict[str, Any]]:
        import json

        rows = await desk.db.fetchall("SELECT payload FROM outbox ORDER BY id")
        return [json.loads(r[0])["meta"] for r in rows]

    cid = cli_env.run(seed)
    (eva,) = cli_env.run(lambda desk: seed_emails(desk, [("eva@example.hu", "Számla", "Hol a számlám?")]))
    ok = cli_env.invoke("reply", str(cid), "--visibility", "public", "On its way!")
    assert ok.exit_code == 0, ok.stderr
    bad = cli_env.invoke("reply", str(cid), "--visibility", "everyone", "x")
    assert bad.exit_code == 1 and "visibility 'everyone' is not one of public, unlisted, private, direct" \
        in bad.stderr
    mail = cli_env.invoke("reply", str(eva), "--visibility", "direct", "x")
    assert mail.exit_code == 1 and "the support channel (maildir) has no visibility to choose" in mail.stderr
    (meta,) = cli_env.run(queued_meta)
    assert meta["visibility"] == "public" and meta["channel"] == "social"
