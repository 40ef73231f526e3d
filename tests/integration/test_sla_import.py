"""`omnidesk import` gives imported conversations their SLA clocks, and `list is:breached` finds them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_imported_mail_is_breached_and_listed_with_its_due_column(tmp_path: Path) -> None:
    config = tmp_path / "omnidesk.toml"
    config.write_text(f'[desk]\ndata_dir = "{tmp_path / "data"}"\n\n[sla.all]\nfirst_response = "4h"\n',
                      encoding="utf-8")
    old = tmp_path / "old.eml"
    old.write_text("From: Kovács Dániel <d@example.hu>\nSubject: Számla\n"
                   "Date: Mon, 2 Nov 2026 10:00:00 +0000\nMessage-ID: <old@example.hu>\n\nszia\n",
                   encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMNIDESK_FORCE_TTY": "0"}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "omnidesk", "--config", str(config), *args],
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)

    done = cli("import", "eml", str(old), "--channel", "archive")
    assert done.returncode == 0, done.stderr
    listed = cli("list", "is:breached", "--json")
    assert listed.returncode == 0, listed.stderr
    (row,) = json.loads(listed.stdout)
    assert row["subject"] == "Számla" and row["sla_target"] == "first_response"
    assert row["sla_due_at"] == "2026-11-02T14:00:00Z"
    table = cli("list", "sort:due", "--format", "table")
    assert "breached" in table.stdout and "ago" in table.stdout, table.stdout
