"""`customer erase`: no trace of the customer's name, addresses or texts in the database file,
its WAL, the full-text index or the blob store; anonymous shells keep the figures."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.cli.conftest import CliEnv, seed_survey

BASE = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
RAW = ("From: Zsófia Quillfeather <zsofia.quill@example.hu>\r\nSubject: Zebracorn invoice\r\n"
       "Message-ID: <quill-1@example.hu>\r\n\r\nMy Zebracorn invoice 发票在哪里 is wrong\r\n").encode()
SECRET_PDF = b"%PDF quillfeather-private-bytes"
SHARED_PNG = b"\x89PNG shared-logo-bytes"
#: What must be gone (UTF-8 bytes, checked in every file of the desk).
TRACES = ["Zsófia", "Quillfeather", "zsofia.quill@example.hu", "5550917", "U07QUILL@T0ACME", "+36309991234",
          "Zebracorn", "Marsupilami", "Quokkafruit", "Wombatique", "quillfeather-private-bytes", "quill-1@",
          "Narwhalbrisket"]


async def seed(desk) -> dict[str, int]:
    """Zsófia on email (raw + attachments), Telegram, Slack and SMS, merged into one; Ben stays."""
    from adapters.base import Address, Attachment, Inbound
    from omnidesk.conversations import reads
    from omnidesk.inbound.ingest import ingest_records
    from omnidesk.services import services
    from omnidesk.store.channels import ensure_channel, get_channel
    from omnidesk.store.drafts import save_draft

    support = await get_channel(desk.db, "support")
    mail = Inbound(external_id="<quill-1@example.hu>",
                   sender=Address("email", "zsofia.quill@example.hu", "Zsófia Quillfeather"),
                   sent_at=BASE, subject="Zebracorn invoice", text="My Zebracorn invoice 发票在哪里 is wrong",
                   raw=RAW, recipients=(Address("email", "support@acme.test"),),
                   attachments=(Attachment("quillfeather.pdf", "application/pdf", SECRET_PDF),
                                Attachment("logo.png", "image/png", SHARED_PNG)))
    ben = Inbound(external_id="<ben-1@example.com>", sender=Address("email", "ben@example.com", "Ben Keeper"),
                  sent_at=BASE, subject="Keepme question", text="Keepme text stays",
                  recipients=(Address("email", "support@acme.test"),),
                  attachments=(Attachment("logo.png", "image/png", SHARED_PNG),))
    mail_cid, ben_cid = (await ingest_records(desk, support, [mail, ben])).conversation_ids
    zsofia = (await reads.get_conversation(desk, mail_cid)).summary.customer_id
    others = []
    for name, kind, sender, scope, text in [
            ("tg", "telegram", Address("telegram", "5550917", "Zsófia Q"), "5550917",
             "Marsupilami on Telegram"),
            ("slack", "slack", Address("slack", "U07QUILL@T0ACME", "Zsófia Quillfeather"), "T0ACME/D1",
             "Quokkafruit on Slack"),
            ("sms", "twilio", Address("phone", "+36309991234", ""), "", "Wombatique by SMS")]:
        channel = await ensure_channel(desk.db, name, kind, None)
        record = Inbound(external_id=f"{name}-1", sender=sender, sent_at=BASE + timedelta(days=2), text=text,
                         scope=scope, chat_like=True)
        cid = (await ingest_records(desk, channel, [record])).conversation_ids[0]
        others.append((await reads.get_conversation(desk, cid)).summary.customer_id)
    for other in others:
        await services.merge_customers(desk, other, zsofia)
    await services.add_note(desk, mail_cid, "Quillfeather is a VIP")
    await services.queue_reply(desk, mail_cid, "Dear Zsófia, the Zebracorn invoice is fixed")
    await save_draft(desk.db, conversation_id=mail_cid, agent_id=desk.agent.id, body="Draft for Quillfeather",
                     to_address="zsofia.quill@example.hu")
    await seed_survey(desk, mail_cid, "csat", 2, "Narwhalbrisket: the agent was slow")
    return {"customer": zsofia, "conversation": mail_cid, "ben": ben_cid}


def _desk_bytes(data_dir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(data_dir)): p.read_bytes() for p in data_dir.rglob("*") if p.is_file()}


def test_erase_leaves_no_trace_in_the_database_wal_index_or_blobs(cli_env: CliEnv) -> None:
    ids = cli_env.run(seed)
    before = _desk_bytes(cli_env.data_dir)
    assert any(b"Quillfeather" in content for content in before.values())  # the check can fail
    assert any(SECRET_PDF in content for content in before.values())
    ben_before = json.loads(cli_env.invoke("show", str(ids["ben"]), "--json").stdout)
    result = cli_env.invoke("customer", "erase", str(ids["customer"]), "--yes")
    assert result.exit_code == 0, result.stderr
    assert "4 conversations" in result.stdout
    after = _desk_bytes(cli_env.data_dir)
    for name, content in after.items():
        for trace in TRACES:
            assert trace.encode() not in content, f"{trace!r} still in {name}"
    assert any(SHARED_PNG in content for content in after.values())  # Ben's copy of the shared file stays
    wal = cli_env.data_dir / "omnidesk.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0
    # the index holds no trace: nothing is found, Ben still is
    assert cli_env.invoke("search", "zebracorn", "--json").stdout.strip() in ("[]", "")
    assert cli_env.invoke("search", "发票", "--json").stdout.strip() in ("[]", "")
    assert "Keepme" in cli_env.invoke("search", "keepme", "--json").stdout
    assert json.loads(cli_env.invoke("show", str(ids["ben"]), "--json").stdout) | {"unread": False} == \
        ben_before | {"unread": False}
    # the tombstone: the customer and shells with times, channels and directions
    shown = json.loads(cli_env.invoke("customer", "show", str(ids["customer"]), "--json").stdout)
    assert (shown["name"], shown["identities"]) == (f"erased customer #{ids['customer']}", [])
    assert len(shown["conversations"]) == 4
    conv = json.loads(cli_env.invoke("show", str(ids["conversation"]), "--json").stdout)
    first = conv["messages"][0]
    assert (first["direction"], first["text"], first["author_address"]) == ("in", "", "")
    assert all(m["sent_at"] and m["attachments"] == [] for m in conv["messages"])
    assert conv["messages"][-1]["delivery"] == "cancelled"  # the queued reply never leaves
    # the rating and its times stay for the csat report, the comment goes
    survey = cli_env.run(lambda desk: desk.db.fetchone(
        "SELECT kind, rating, answered_at IS NOT NULL, comment FROM surveys WHERE conversation_id = ?",
        (ids["conversation"],)))
    assert tuple(survey) == ("csat", 2, 1, None)
    survey_events = cli_env.run(lambda desk: desk.db.fetchall(
        "SELECT kind, after FROM events WHERE kind LIKE 'survey_%' ORDER BY id"))
    assert [(r[0], json.loads(r[1]).get("rating")) for r in survey_events] == [
        ("survey_sent", None), ("survey_answered", 2), ("survey_commented", None)]
    assert json.loads(survey_events[-1][1]) == {"redacted": True}
    events = cli_env.run(lambda desk: desk.db.fetchall(
        "SELECT a.name, e.after FROM events e JOIN agents a ON a.id = e.agent_id"
        " WHERE e.kind = 'customer_erased'"))
    assert [(r[0], json.loads(r[1])["conversations"]) for r in events] == [("tester", 4)]


def test_erase_asks_and_refuses_without_a_terminal_and_for_agents(cli_env: CliEnv) -> None:
    ids = cli_env.run(seed)
    result = cli_env.invoke("customer", "erase", str(ids["customer"]))
    assert result.exit_code == 1 and "--yes is required" in result.stderr
    refused = cli_env.invoke("customer", "erase", str(ids["customer"]), "--yes",
                             env={"USER": "alice-login", "LOGNAME": "alice-login"})
    assert refused.exit_code == 1 and "erasing a customer needs the lead role" in refused.stderr
    assert any(b"Quillfeather" in content for content in _desk_bytes(cli_env.data_dir).values())
