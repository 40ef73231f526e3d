"""`omnidesk demo --headless`: a scripted session (open, reply, assign, resolve, then replies on
Telegram, Mastodon and SMS) through the real console, real Maildir ingest, the in-process sync, real
SMTP to the local receiver and the real chat adapters to the fakes; exit 0 only if all of it worked
and the customer who wrote on four channels is one customer."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_demo_headless_exits_zero_after_a_delivered_reply(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "omnidesk",
            "demo",
            "--headless",
            "--conversations",
            "30",
            "--dir",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    assert "warning" not in done.stderr, done.stderr
    assert "reply delivered to 127.0.0.1" in done.stderr and ": True" in done.stderr
    assert "status resolved" in done.stderr
    for service in ("Telegram", "Mastodon", "SMS"):
        assert re.search(service + r" reply reached http://127\.0\.0\.1:\d+: True", done.stderr), done.stderr
    assert re.search(r"four-channel customer \d+ of #\d+: one customer with email, mastodon, phone, telegram"
                     r" on maildir, mastodon, telegram, twilio: True", done.stderr), done.stderr
    assert list((tmp_path / "received").glob("*.eml")), "the local receiver kept the reply"
