"""[retention]: the dry run lists exactly what the real run removes, and the real run removes it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from tests.cli.conftest import CliEnv, seed_survey

OLD = datetime.now(UTC) - timedelta(days=400)
NEW = datetime.now(UTC) - timedelta(days=1)


async def seed(desk) -> dict[str, int]:
    """An old resolved mail (raw bytes, attachment), an old open one, and a new one."""
    from adapters.base import Address, Attachment, Inbound
    from omnidesk.inbound.ingest import ingest_records
    from omnidesk.services import services
    from omnidesk.store.channels import get_channel

    support = await get_channel(desk.db, "support")

    def mail(n: int, when: datetime, text: str) -> Inbound:
        raw = f"Message-ID: <ret-{n}@example.com>\r\nSubject: {text}\r\n\r\n{text}\r\n".encode()
        return Inbound(external_id=f"<ret-{n}@example.com>",
                       sender=Address("email", f"c{n}@example.com", f"C{n}"), sent_at=when, subject=text,
                       text=text, raw=raw,
                       recipients=(Address("email", "support@acme.test"),),
                       attachments=(Attachment(f"f{n}.txt", "text/plain", f"file {text}".encode()),))
    ids = (await ingest_records(desk, support, [mail(1, OLD, "Oldresolved"), mail(2, OLD, "Oldopen"),
                                                mail(3, NEW, "Newmail")])).conversation_ids
    await services.set_status(desk, [ids[0]], "resolved")
    old = int(OLD.timestamp() * 1000)  # received and resolved 400 days ago
    await desk.db.conn.execute("UPDATE conversations SET resolved_at = ? WHERE id = ?", (old, ids[0]))
    await desk.db.conn.execute("UPDATE messages SET received_at = ? WHERE conversation_id IN (?, ?)",
                               (old, ids[0], ids[1]))
    await desk.db.conn.commit()
    await seed_survey(desk, ids[0], "csat", 5, "Kiváló, köszönöm")
    return {"resolved": ids[0], "open": ids[1], "new": ids[2]}


def _rows(env: CliEnv, *args: str) -> list[tuple[str, int]]:
    result = env.invoke("retention", "--json", *args)
    assert result.exit_code == 0, result.stderr
    return [(r["what"], r["id"]) for r in json.loads(result.stdout)]


def test_the_dry_run_equals_what_the_real_run_removes(cli_env: CliEnv) -> None:
    policy = "\n[retention]\nraw_mail_days = 90\nresolved_conversation_days = 365\n"
    cli_env.config.write_text(cli_env.config.read_text("utf-8") + policy, "utf-8")
    ids = cli_env.run(seed)
    raw_ids = cli_env.run(lambda desk: desk.db.fetchall(
        "SELECT id, conversation_id FROM messages WHERE raw_sha256 IS NOT NULL ORDER BY id"))
    old_raw = [r[0] for r in raw_ids if r[1] in (ids["resolved"], ids["open"])]
    planned = _rows(cli_env, "--dry-run")
    assert planned == [("raw", m) for m in old_raw] + [("conversation", ids["resolved"])]
    assert _rows(cli_env, "--dry-run") == planned  # a dry run changes nothing
    assert _rows(cli_env) == planned
    assert _rows(cli_env, "--dry-run") == []  # nothing left to remove
    left = cli_env.run(lambda desk: desk.db.fetchall(
        "SELECT conversation_id FROM messages WHERE raw_sha256 IS NOT NULL"))
    assert [r[0] for r in left] == [ids["new"]]
    resolved = json.loads(cli_env.invoke("show", str(ids["resolved"]), "--json").stdout)
    assert (resolved["subject"], resolved["messages"][0]["text"], resolved["messages"][0]["attachments"]) == \
        ("", "", [])
    kept = json.loads(cli_env.invoke("show", str(ids["open"]), "--json").stdout)
    assert kept["messages"][0]["text"] == "Oldopen" and kept["messages"][0]["attachments"]
    assert cli_env.invoke("search", "oldresolved", "--json").stdout.strip() in ("", "[]")
    assert "Oldopen" in cli_env.invoke("search", "oldopen", "--json").stdout
    blobs = b"".join(p.read_bytes() for p in (cli_env.data_dir / "blobs").rglob("*") if p.is_file())
    assert b"file Oldresolved" not in blobs and b"file Oldopen" in blobs
    survey = cli_env.run(lambda desk: desk.db.fetchone("SELECT rating, comment FROM surveys"))
    assert tuple(survey) == (5, None)  # the rating stays for the csat report, the comment goes
    events = cli_env.run(lambda desk: desk.db.fetchall(
        "SELECT agent_id, after FROM events WHERE kind = 'retention_applied'"))
    assert [json.loads(r[1]) for r in events] == [{"raw": 2, "conversations": 1}]


def test_retention_off_removes_nothing(cli_env: CliEnv) -> None:
    cli_env.run(seed)
    assert _rows(cli_env, "--dry-run") == [] and _rows(cli_env) == []


def test_the_sync_daemons_timers_apply_it(cli_env: CliEnv) -> None:
    policy = "\n[retention]\nraw_mail_days = 90\n"
    cli_env.config.write_text(cli_env.config.read_text("utf-8") + policy, "utf-8")
    (cli_env.tmp / "Maildir").mkdir()
    for sub in ("cur", "new", "tmp"):
        (cli_env.tmp / "Maildir" / sub).mkdir()
    cli_env.run(seed)
    assert len(_rows(cli_env, "--dry-run")) == 2
    result = cli_env.process("sync", "--once")
    assert result.returncode == 0, result.stderr
    assert _rows(cli_env, "--dry-run") == []
