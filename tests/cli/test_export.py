"""`customer export`: what is exported is what `customer show --json` and `show --json` show,
plus the original files; leads and admins only; recorded in the audit log."""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, datetime

from tests.cli.conftest import CliEnv, seed_calls, seed_survey

RAW = ("From: Éva Nagy <eva@example.hu>\r\nTo: support@acme.test\r\nSubject: Számla\r\n"
       "Message-ID: <raw-1@example.hu>\r\n\r\nHol a számla? 发票在哪里\r\n").encode()
PDF = b"%PDF-1.4 invoice bytes \x00\x01"


async def seed_customer(desk) -> int:
    """Éva: a mail with its raw bytes and an attachment, and a call merged in from another customer."""
    from adapters.base import Address, Attachment, Inbound
    from omnidesk.conversations import reads
    from omnidesk.inbound.ingest import ingest_records
    from omnidesk.services import services
    from omnidesk.store.channels import get_channel

    channel = await get_channel(desk.db, "support")
    mail = Inbound(external_id="<raw-1@example.hu>", sender=Address("email", "eva@example.hu", "Éva Nagy"),
                   sent_at=datetime(2026, 11, 20, 9, 0, tzinfo=UTC), subject="Számla",
                   text="Hol a számla? 发票在哪里", raw=RAW,
                   recipients=(Address("email", "support@acme.test"),),
                   attachments=(Attachment("../számla.pdf", "application/pdf", PDF),))
    cid = (await ingest_records(desk, channel, [mail])).conversation_ids[0]
    eva = (await reads.get_conversation(desk, cid)).summary.customer_id
    call = (await seed_calls(desk, [("+36301234567", "called about the invoice")]))[0]
    phone_customer = (await reads.get_conversation(desk, call)).summary.customer_id
    await services.merge_customers(desk, phone_customer, eva)
    await services.add_note(desk, cid, "VIP, be kind")
    await seed_survey(desk, call, "nps", 9, "Köszönöm, 很好")  # on the merged-in customer's conversation
    return eva


def test_export_round_trip(cli_env: CliEnv) -> None:
    eva = cli_env.run(seed_customer)
    out = cli_env.tmp / "eva.zip"
    result = cli_env.invoke("customer", "export", str(eva), "--out", str(out))
    assert result.exit_code == 0, result.stderr
    assert "2 conversations" in result.stdout
    assert (out.stat().st_mode & 0o777) == 0o600
    with zipfile.ZipFile(out) as archive:
        doc = json.loads(archive.read("export.json"))
        files = {f["path"]: archive.read(f["path"]) for f in doc["files"]}
    assert (doc["schema"], doc["version"], doc["exported_by"]) == ("omnidesk-customer-export", 1, "tester")
    shown = json.loads(cli_env.invoke("customer", "show", str(eva), "--json").stdout)
    assert doc["customer"] == shown
    for conversation in doc["conversations"]:
        again = json.loads(cli_env.invoke("show", str(conversation["id"]), "--json").stdout)
        assert conversation | {"unread": again["unread"]} == again  # showing marks it read
    assert [c["merged_into"] for c in doc["merged_customers"]] == [eva]
    assert {"customer_merged"} <= {e["kind"] for e in doc["customer_events"]}
    texts = [m["text"] for c in doc["conversations"] for m in c["messages"]]
    assert "Hol a számla? 发票在哪里" in texts and "VIP, be kind" in texts
    assert [b for p, b in files.items() if p.startswith("raw/")] == [RAW]
    [(name, pdf)] = [(p, b) for p, b in files.items() if p.startswith("attachments/")]
    assert pdf == PDF and name.endswith("-számla.pdf") and ".." not in name
    assert doc["missing"] == []
    [rating] = doc["ratings"]
    assert (rating["kind"], rating["rating"], rating["comment"], rating["skipped"]) == \
        ("nps", 9, "Köszönöm, 很好", None)
    assert rating["conversation_id"] in [c["id"] for c in doc["conversations"]]
    assert rating["asked_at"] < rating["answered_at"]
    events = json.loads(cli_env.invoke("customer", "show", str(eva), "--json").stdout)
    audit = cli_env.run(lambda desk: desk.db.fetchall(
        "SELECT e.customer_id, a.name, e.after FROM events e JOIN agents a ON a.id = e.agent_id"
        " WHERE kind = 'customer_exported'"))
    assert [(r[0], r[1], json.loads(r[2])["files"]) for r in audit] == [(eva, "tester", 2)]
    assert events["id"] == eva


def test_export_never_replaces_a_file_and_agents_may_not_export(cli_env: CliEnv) -> None:
    eva = cli_env.run(seed_customer)
    out = cli_env.tmp / "taken.zip"
    out.write_bytes(b"mine")
    result = cli_env.invoke("customer", "export", str(eva), "--out", str(out))
    assert result.exit_code == 1 and "exists already" in result.stderr
    assert out.read_bytes() == b"mine"
    refused = cli_env.invoke("customer", "export", str(eva), "--out", str(cli_env.tmp / "a.zip"),
                             env={"USER": "alice-login", "LOGNAME": "alice-login"})
    assert refused.exit_code == 1
    assert "exporting a customer needs the lead role; alice is an agent" in refused.stderr
    assert not (cli_env.tmp / "a.zip").exists()
    assert list(cli_env.tmp.glob(".*.part")) == []
