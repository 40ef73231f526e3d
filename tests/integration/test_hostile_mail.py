"""One message from outside never stops an import or stalls a channel (issue 19).

Display names in RFC 2047 encoded words whose bytes are invalid for their charset
used to reach customer creation as lone surrogates: an import of 18 stored 0, and a
Maildir channel stored 200 of 301 and then nothing, on every later run.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from omnidesk.demo.mailgen import deliver, ensure_maildir
from omnidesk.desk import Desk
from omnidesk.store import channels
from tests.integration.dovecot import Dovecot
from tests.integration.sync_env import config_toml, fill_maildir
from tests.integration.test_imap_ingest import mail, make

REPO = Path(__file__).resolve().parents[2]

BAD = [("From", "=?utf-8?q?N=9B?="), ("To", "=?utf-8?b?/w==?="), ("Cc", "=?x-unknown?q?N=FF?=")]


def hostile(header: str, word: str, n: int = 0) -> bytes:
    lines = {"From": "Ann <ann@example.com>", "To": "support@desk.test"}
    if header in lines:
        lines[header] = f"{word} <v@evil.example>" if header == "From" else f"{word} <x@evil.example>"
    else:
        lines[header] = f"{word} <x@evil.example>"
    head = "".join(f"{k}: {v}\n" for k, v in lines.items())
    return (f"{head}Subject: {word}\nMessage-ID: <bad{n}@evil.example>\n"
            "Date: Mon, 2 Nov 2026 10:00:00 +0000\n\nhello\n").encode()


def omnidesk(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "omnidesk", "--config", str(config), *args], cwd=REPO,
                          env={**os.environ, "PYTHONPATH": str(REPO), "OMNIDESK_FORCE_TTY": "0"},
                          capture_output=True, text=True, timeout=300)


def stored(tmp_path: Path) -> set[str]:
    with sqlite3.connect(tmp_path / "data" / "omnidesk.db") as conn:
        return {r[0] for r in conn.execute("SELECT external_id FROM messages")}


@pytest.mark.parametrize(("header", "word"), BAD)
def test_an_import_of_18_with_one_bad_name_stores_18(tmp_path: Path, header: str, word: str) -> None:
    ids = fill_maildir(tmp_path / "Maildir", 17)
    deliver(tmp_path / "Maildir", hostile(header, word), "bad", datetime(2026, 11, 1, 9, 8, tzinfo=UTC))
    config = config_toml(tmp_path, tmp_path / "Maildir")
    done = omnidesk(config, "import", "maildir", str(tmp_path / "Maildir"), "--channel", "archive", "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["imported"] == 18 and "Traceback" not in done.stderr
    assert stored(tmp_path) == {*ids, "<bad0@evil.example>"}


def test_a_maildir_channel_with_one_bad_name_in_301_is_never_stalled(tmp_path: Path) -> None:
    maildir = tmp_path / "Maildir"
    ensure_maildir(maildir)
    ids = fill_maildir(maildir, 150)
    deliver(maildir, hostile("From", "=?utf-8?q?N=9B?="), "bad", datetime(2026, 11, 1, 11, 30, tzinfo=UTC))
    ids += fill_maildir(maildir, 150, start=150)
    config = config_toml(tmp_path, maildir)

    first = omnidesk(config, "sync", "--once")
    assert first.returncode == 0, first.stderr
    assert "support: 301 new" in first.stderr and "error" not in first.stderr
    assert stored(tmp_path) == {*ids, "<bad0@evil.example>"}

    fill_maildir(maildir, 2, start=300)
    second = omnidesk(config, "sync", "--once")
    assert second.returncode == 0, second.stderr
    assert "support: 2 new" in second.stderr
    status = omnidesk(config, "sync", "--status", "--json")
    (row,) = json.loads(status.stdout)
    assert row["failing"] is False and not row["last_error"]


@pytest.mark.dovecot
async def test_an_imap_channel_with_bad_names_stores_everything_and_moves_on(desk: Desk,
                                                                             dovecot: Dovecot) -> None:
    dovecot.deliver_many([mail(i) for i in range(1, 11)])
    dovecot.deliver_many([hostile(header, word, n) for n, (header, word) in enumerate(BAD)])
    dovecot.deliver_many([mail(i) for i in range(11, 21)])
    s = await make(desk, dovecot, batch_size=4)
    try:
        await s.once()
        assert (s.imported, s.quarantined) == (23, 0)
        cursor = await channels.get_cursor(desk.db, s.channel.id)
        assert json.loads(cursor or "")["folders"]["INBOX"]["last_uid"] == 23
        dovecot.deliver(mail(21))
        await s.once()
        assert s.imported == 24
    finally:
        await s.adapter.close()
