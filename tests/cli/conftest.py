"""A desk on disk with a config file, and two ways to drive the CLI: typer's runner and a real process."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from omnidesk.config import starter_config

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "golden"

CHANNELS = """
[channels.support]
kind = "maildir"
address = "support@acme.test"
path = "Maildir"
"""

EXTRA_AGENTS = """
[[agents]]
name = "alice"
display_name = "Alice Kovács"
os_user = "alice-login"

[[agents]]
name = "bob"
display_name = "Bob"
"""


@dataclass
class CliEnv:
    tmp: Path
    config: Path
    data_dir: Path
    env: dict[str, str]

    def invoke(self, *args: str, input: str | None = None, env: dict[str, str] | None = None) -> Any:
        """Run through typer's CliRunner (in process); result has .exit_code, .stdout, .stderr."""
        from omnidesk.cli.app import build_app

        runner = CliRunner(env={**self.env, **(env or {})})
        return runner.invoke(build_app(), list(args), input=input, catch_exceptions=False)

    def process(self, *args: str, input: str | None = None, env: dict[str, str] | None = None,
                timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run `python -m omnidesk ARGS` as a real process, stdin/stdout/stderr pipes (no TTY)."""
        return subprocess.run(
            [sys.executable, "-m", "omnidesk", *args], input=input if input is not None else "",
            capture_output=True, text=True, timeout=timeout, cwd=self.tmp,
            env={**os.environ, **self.env, **(env or {})},
        )

    def run(self, coro_factory: Callable[[Any], Any], as_agent: str | None = "tester") -> Any:
        """Run `await coro_factory(desk)` against this desk (for seeding and checking)."""
        from omnidesk.services.opendesk import open_desk

        async def main() -> Any:
            desk = await open_desk(self.config, as_agent=as_agent)
            try:
                return await coro_factory(desk)
            finally:
                await desk.db.close()

        return asyncio.run(main())


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliEnv]:
    config = tmp_path / "config.toml"
    data_dir = tmp_path / "data"
    config.write_text(starter_config(desk_name="Test desk", agent_name="tester", os_user="tester",
                                     data_dir=data_dir) + EXTRA_AGENTS + CHANNELS, encoding="utf-8")
    config.chmod(0o600)
    env = {"OMNIDESK_CONFIG": str(config), "USER": "tester", "LOGNAME": "tester",
           "XDG_DATA_HOME": str(tmp_path / "xdg-data"), "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"),
           "COLUMNS": "200", "NO_COLOR": "1", "OMNIDESK_FORCE_TTY": "0"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for key in ("VISUAL", "EDITOR"):
        monkeypatch.delenv(key, raising=False)
    yield CliEnv(tmp=tmp_path, config=config, data_dir=data_dir, env=env)


async def seed_calls(desk: Any, phones: list[tuple[str, str]]) -> list[int]:
    """One conversation per (phone, notes): the phone channel needs no mail parsing."""
    from omnidesk.services import services

    ids = []
    for phone, notes in phones:
        result = await services.log_call(desk, direction="in", duration_seconds=90, notes=notes, phone=phone)
        ids.extend(result.conversation_ids)
    return ids


async def seed_emails(desk: Any, mails: list[tuple[str, str, str]]) -> list[int]:
    """One conversation per (sender, subject, text) on the maildir channel "support", via the real ingest."""
    from datetime import UTC, datetime, timedelta

    from adapters.base import Address, Inbound
    from omnidesk.inbound.ingest import ingest_records
    from omnidesk.store.channels import get_channel

    channel = await get_channel(desk.db, "support")
    base = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    records = [
        Inbound(external_id=f"<seed{n}@customer.test>", sender=Address("email", sender, ""),
                sent_at=base + timedelta(minutes=n), text=text, subject=subject,
                recipients=(Address("email", "support@acme.test"),))
        for n, (sender, subject, text) in enumerate(mails)
    ]
    result = await ingest_records(desk, channel, records)
    return list(dict.fromkeys(result.conversation_ids))


async def seed_survey(desk: Any, conversation_id: int, kind: str, rating: int, comment: str) -> int:
    """A survey asked on the conversation (its first message standing for the question), answered."""
    from omnidesk.store import surveys
    from omnidesk.timeutil import now_ms

    row = await desk.db.fetchone("SELECT c.customer_id, c.assignee_id, c.channel_id, min(m.id)"
                                 " FROM conversations c JOIN messages m ON m.conversation_id = c.id"
                                 " WHERE c.id = ?", (conversation_id,))
    now = now_ms()
    async with desk.db.write() as conn:
        due = surveys.Due(conversation_id, row[0], row[1])
        survey_id = await surveys.insert(desk.db, conn, due, kind=kind, channel_id=row[2], now=now,
                                         expires_at=now + 86_400_000)
        await surveys.mark_sent(desk.db, conn, survey_id, row[3], None, conversation_id=conversation_id,
                                kind=kind, channel="support", now=now)
    survey = await surveys.get(desk.db, survey_id)
    await surveys.run(desk.db, surveys.rate, survey, rating, now + 1000, via="reply")
    await surveys.run(desk.db, surveys.comment, await surveys.get(desk.db, survey_id), comment, now + 2000,
                      reopen=False)
    return survey_id
