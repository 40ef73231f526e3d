"""`omnidesk import maildir|mbox|eml` and omnidesk/inbound/importer.py, end to end into a real desk."""

from __future__ import annotations

import asyncio
import json
import mailbox
import os
import sqlite3
import subprocess
import sys
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import pytest

from adapters.email import mime
from omnidesk.desk import Desk
from omnidesk.inbound import importer
from omnidesk.store.rawmail import read_raw

REPO = Path(__file__).resolve().parents[2]

SUBJECTS = ["Refund for order 4411", "Ügyfélszolgálat: késik a csomag", "退款申請", "درخواست بازپرداخت",
            "Buyurtma qaytarish"]


def thread_messages(threads: int, per_thread: int = 3) -> list[bytes]:
    """`threads` conversations of `per_thread` messages each, replies after their parents."""
    out = []
    for t in range(threads):
        refs: list[str] = []
        subject = SUBJECTS[t % len(SUBJECTS)] + f" #{t}"
        for i in range(per_thread):
            msg = EmailMessage(policy=SMTP)
            msg["From"] = f"Customer {t} <c{t}@example.com>"
            msg["To"] = "support@example.com"
            msg["Subject"] = subject if not refs else "Re: " + subject
            msg["Date"] = f"Mon, 2 Nov 2026 {10 + i:02d}:{t % 60:02d}:00 +0000"
            mid = f"<{t}.{i}@example.com>"
            msg["Message-ID"] = mid
            if refs:
                msg["In-Reply-To"] = refs[-1]
                msg["References"] = " ".join(refs)
            msg.set_content(f"message {i} of thread {t}: {subject}\n")
            out.append(msg.as_bytes())
            refs.append(mid)
    return out


def make_maildir(path: Path, messages: list[bytes]) -> Path:
    box = mailbox.Maildir(path, create=True)
    for raw in messages:
        box.add(raw)
    box.close()
    return path


async def count(desk: Desk, table: str) -> int:
    row = await desk.db.fetchone(f"SELECT count(*) FROM {table}")
    assert row is not None
    return int(row[0])


async def test_maildir_import_twice_adds_nothing(desk: Desk, tmp_path: Path) -> None:
    maildir = make_maildir(tmp_path / "Maildir", thread_messages(10))
    (maildir / "new" / "1700000000.empty.host").write_bytes(b"")
    (maildir / "cur" / "1700000001.junk.host:2,S").write_bytes(b"// Not an RFC-822 Document\n")
    channel = await importer.resolve_channel(desk, "archive")
    assert channel.kind == "import"

    first = await importer.import_maildir(desk, channel, maildir, workers=0)
    assert (first.imported, first.duplicates, first.quarantined, first.rejected) == (31, 0, 1, 1)
    assert await count(desk, "messages") == 31
    conversations = await desk.db.fetchone("SELECT count(*) FROM conversations WHERE quarantined = 0")
    assert conversations is not None and conversations[0] == 10  # replies joined their threads

    again = await importer.import_maildir(desk, channel, maildir, workers=0)
    assert (again.imported, again.duplicates, again.rejected) == (0, 31, 1)
    assert await count(desk, "messages") == 31
    assert "imported 0, duplicates 31, quarantined 0" in again.line()


async def test_parallel_import_matches_and_rerun_adds_nothing(desk: Desk, tmp_path: Path) -> None:
    maildir = make_maildir(tmp_path / "Maildir", thread_messages(110))  # 330 >= the pool threshold
    channel = await importer.resolve_channel(desk, "bulk")
    jobs = importer.maildir_jobs(maildir)
    assert importer.wants_pool(jobs, None)
    pool = importer.make_pool(2)
    try:
        # Parsers step back so the writer (this process) always gets a core.
        assert pool.submit(os.nice, 0).result() == min(19, os.nice(0) + importer.PARSER_NICENESS)
        usual_cache = (await desk.db.fetchone("PRAGMA cache_size"))[0]
        seen: list[int] = []
        summary = await importer.import_jobs(desk, channel, jobs, executor=pool, progress=seen.append)
        assert (await desk.db.fetchone("PRAGMA cache_size"))[0] == usual_cache  # the bulk cache is undone
        assert summary.imported == 330
        assert sum(seen) == 330
        assert len(summary.conversation_ids) == 110
        rerun = await importer.import_jobs(desk, channel, jobs, executor=pool)
        assert (rerun.imported, rerun.duplicates) == (0, 330)
    finally:
        pool.shutdown()
    assert await count(desk, "messages") == 330
    rows = await desk.db.fetchall("SELECT count(DISTINCT external_id) FROM messages")
    assert rows[0][0] == 330
    # Raw bytes kept (compressed by the workers), one row per message.
    rows = await desk.db.fetchall("SELECT count(*) FROM messages m JOIN raw_messages r"
                                  " ON r.sha256 = m.raw_sha256")
    assert rows[0][0] == 330
    sha = (await desk.db.fetchone("SELECT raw_sha256 FROM messages ORDER BY id DESC LIMIT 1"))[0]
    assert (await read_raw(desk.db, desk.blob_dir, sha)) in {p.read_bytes() for p in maildir.glob("*/*")}


async def test_overlapping_batches_land_in_delivery_order(desk: Desk, tmp_path: Path) -> None:
    # Small batches: each is written while the next fills, and they must still land in order.
    maildir = make_maildir(tmp_path / "Maildir", thread_messages(110))
    channel = await importer.resolve_channel(desk, "bulk")
    jobs = importer.maildir_jobs(maildir)
    expected = [mime.message_id_of(Path(job.path).read_bytes()) for job in jobs]
    pool = importer.make_pool(2)
    try:
        summary = await importer.import_jobs(desk, channel, jobs, executor=pool, batch_size=25)
    finally:
        pool.shutdown()
    assert summary.imported == 330
    rows = await desk.db.fetchall("SELECT external_id FROM messages ORDER BY id")
    assert [r[0] for r in rows] == expected
    assert len(summary.conversation_ids) == 110


async def test_the_last_batches_are_short(desk: Desk, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    # Once little is left to parse, the parsers wait on the writer: the tail goes in small batches.
    maildir = make_maildir(tmp_path / "Maildir", thread_messages(110))
    channel = await importer.resolve_channel(desk, "bulk")
    monkeypatch.setattr(importer, "TAIL_BATCH_SIZE", 30)
    written: list[int] = []
    summary = await importer.import_jobs(desk, channel, importer.maildir_jobs(maildir), workers=0,
                                         batch_size=100, progress=written.append)
    assert summary.imported == 330 and sum(written) == 330
    assert written[0] == 100  # plenty left to parse: a whole batch
    assert len(written) > 4 and all(n <= 30 for n in written[1:])


async def test_a_failed_write_stops_the_import_and_keeps_what_was_written(desk: Desk, tmp_path: Path) -> None:
    maildir = make_maildir(tmp_path / "Maildir", thread_messages(110))
    channel = await importer.resolve_channel(desk, "bulk")
    async with desk.db.write() as conn:  # the store refuses the 101st message, as a full disk would
        await conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON messages"
                           " WHEN (SELECT count(*) FROM messages) >= 100"
                           " BEGIN SELECT RAISE(ABORT, 'no room for more'); END")
    pool = importer.make_pool(2)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="no room for more"):
            await importer.import_jobs(desk, channel, importer.maildir_jobs(maildir), executor=pool,
                                       batch_size=25)
        assert pool.submit(os.getpid).result(timeout=30) > 0  # the pool outlives the failure
    finally:
        pool.shutdown()
    assert await count(desk, "messages") == 100  # four whole batches, nothing of the fifth
    assert not [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]  # no writer left behind
    async with desk.db.write() as conn:
        await conn.execute("DROP TRIGGER refuse")
    rerun = await importer.import_jobs(desk, channel, importer.maildir_jobs(maildir), workers=0)
    assert (rerun.imported, rerun.duplicates) == (230, 100)


async def test_mbox_import(desk: Desk, corpora: Path) -> None:
    channel = await importer.resolve_channel(desk, "bounces")
    path = corpora / "email/sisimai/mailbox/mbox-0"
    summary = await importer.import_mbox(desk, channel, path, workers=0)
    assert summary.imported + summary.duplicates == 37
    again = await importer.import_mbox(desk, channel, path, workers=0)
    assert again.imported == 0
    flags = await desk.db.fetchall("SELECT flags FROM messages")
    assert sum("bounce" in json.loads(r[0]) for r in flags) > 30


async def test_eml_import_rejects_empty_and_quarantines_non_messages(desk: Desk, corpora: Path) -> None:
    channel = await importer.resolve_channel(desk, "files")
    files = [
        corpora / "email/sisimai/mailbox/size-0",
        corpora / "email/enmime/mail/erroneous.raw",
        corpora / "email/letters/test_chinese_plaintext_gbk_over_base64.txt",
        corpora / "email/mimekit/mbox/unmunged.mbox.txt",  # an mbox given as a file: split
    ]
    summary = await importer.import_eml(desk, channel, files, workers=0)
    assert (summary.imported, summary.quarantined, summary.rejected) == (4, 1, 1)
    quarantined = await desk.db.fetchall("SELECT count(*) FROM conversations WHERE quarantined = 1")
    assert quarantined[0][0] == 1
    subjects = {r[0] for r in await desk.db.fetchall("SELECT subject FROM messages")}
    assert "📧 Test 施氏食狮史" in subjects


async def test_existing_channel_keeps_its_kind(desk: Desk) -> None:
    from omnidesk.store.channels import ensure_channel

    await ensure_channel(desk.db, "support", "email", "support@example.com")
    channel = await importer.resolve_channel(desk, "support")
    assert (channel.kind, channel.address) == ("email", "support@example.com")


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "config.toml"
    config.write_text(f'[desk]\ndata_dir = "{tmp_path / "data"}"\n')
    env = {**os.environ, "OMNIDESK_CONFIG": str(config), "OMNIDESK_FORCE_TTY": "0",
           "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "omnidesk", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)


def test_cli_import_summary_and_rerun(tmp_path: Path) -> None:
    maildir = make_maildir(tmp_path / "Maildir", thread_messages(120))  # parallel path
    done = _cli(tmp_path, "import", "maildir", str(maildir), "--channel", "archive", "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert (summary["imported"], summary["duplicates"], summary["conversations"]) == (360, 0, 120)
    assert summary["messages_per_second"] > 0
    again = _cli(tmp_path, "import", "maildir", str(maildir), "--channel", "archive")
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("imported 0, duplicates 360, quarantined 0, ")
    assert "messages/s" in again.stdout


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    (tmp_path / "notmaildir").mkdir()
    done = _cli(tmp_path, "import", "maildir", str(tmp_path / "notmaildir"), "--channel", "x")
    assert done.returncode == 1
    assert "is not a Maildir" in done.stderr
    assert "Traceback" not in done.stderr
