"""The import summary: files and messages counted apart, every quarantined message named with its reason."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from omnidesk.inbound import importer

REPO = Path(__file__).resolve().parents[2]


def cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "omnidesk.toml"
    config.write_text(f'[desk]\ndata_dir = "{tmp_path / "data"}"\n')
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMNIDESK_FORCE_TTY": "0"}
    return subprocess.run([sys.executable, "-m", "omnidesk", "--config", str(config), *args], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=600)


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_quarantined_files_are_named_with_their_reason(tmp_path: Path) -> None:
    good = write(tmp_path / "good.eml",
                 "From: Kovács Dániel <d@example.hu>\nSubject: 退款\n\nszia\n".encode())
    junk = write(tmp_path / "junk.eml", b"// Not an RFC-822 Document\n")
    anonymous = write(tmp_path / "\u202eanonymous.eml", "To: a@example.com\nSubject: سلام\n\nx\n".encode())
    box = write(tmp_path / "two.mbox",
                b"From a@b Mon Nov  2 10:00:00 2026\nFrom: a@example.com\nSubject: 1\n\none\n\n"
                b"From b@b Mon Nov  2 10:00:00 2026\nSubject: 2\n\nno sender\n")
    files = [str(p) for p in (good, junk, anonymous, box)]

    done = cli(tmp_path, "import", "eml", *files, "--channel", "archive", "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    counts = (summary["files"], summary["messages"], summary["imported"], summary["quarantined"])
    assert counts == (4, 5, 5, 3)
    second = box.read_bytes().index(b"Subject: 2")  # the message, after its From_ line
    assert summary["quarantine"] == [
        {"file": str(junk), "offset": None, "reason": "NotAMessage"},
        {"file": str(anonymous), "offset": None, "reason": "MissingSender"},
        {"file": str(box), "offset": second, "reason": "MissingSender"},
    ]

    table = cli(tmp_path, "import", "eml", *files, "--channel", "again")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].startswith("imported 5, duplicates 0, quarantined 3, ")
    assert lines[0].endswith("; 5 messages from 4 files")
    assert lines[1].split() == ["QUARANTINED", "REASON"]
    assert [line.split()[-1] for line in lines[2:]] == ["NotAMessage", "MissingSender", "MissingSender"]
    assert f"{box} (byte {second})" in table.stdout
    assert "\u202e" not in table.stdout  # a file name is untrusted text too


def test_an_mbox_with_no_message_is_a_warning(tmp_path: Path) -> None:
    for name, data in (("empty.mbox", b""), ("prose.mbox", b"just some text\nno From_ line\n")):
        done = cli(tmp_path, "import", "mbox", str(write(tmp_path / name, data)), "--channel", "x", "--json")
        assert done.returncode == 0, done.stderr
        assert done.stderr == f"warning: {tmp_path / name}: no message in this mbox\n"
        summary = json.loads(done.stdout)
        assert summary["warnings"] == [f"{tmp_path / name}: no message in this mbox"]
        assert (summary["files"], summary["messages"]) == (0, 0)


def test_the_whole_email_corpus_imports_and_every_file_is_accounted_for(tmp_path: Path,
                                                                        corpora: Path) -> None:
    files = sorted(str(p) for p in (corpora / "email").rglob("*") if p.is_file())
    jobs = importer.eml_jobs([Path(f) for f in files])
    done = cli(tmp_path, "import", "eml", *files, "--channel", "corpus", "--json")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    summary = json.loads(done.stdout)
    assert summary["files"] == len(files)
    assert summary["messages"] + summary["rejected"] == len(jobs)  # an mbox file holds several
    assert summary["quarantined"] == len(summary["quarantine"]) > 0
    assert all(q["reason"] and q["file"] in files for q in summary["quarantine"])
    with sqlite3.connect(tmp_path / "data" / "omnidesk.db") as conn:
        (stored,) = conn.execute("SELECT count(*) FROM messages").fetchone()
        (quarantined,) = conn.execute(
            "SELECT count(*) FROM messages WHERE flags LIKE '%\"quarantined\"%'").fetchone()
    assert stored == summary["imported"] and quarantined == summary["quarantined"]
