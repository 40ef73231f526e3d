"""`omnidesk attachment save MESSAGE_ID [INDEX] [--out DIR]`: lazy files fetched from their channel."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.base import Address, Attachment, Inbound
from tests.cli.conftest import CliEnv
from tests.fakes.lazyfiles import KIND, LazyFiles, registered

VOICE = b"OggS voice note \x00\x01"


@pytest.fixture
def files_env(cli_env: CliEnv) -> Iterator[tuple[CliEnv, type[LazyFiles], int]]:
    with cli_env.config.open("a", encoding="utf-8") as handle:
        handle.write(f'\n[channels.files]\nkind = "{KIND}"\n')
    for lazy in registered({"voice-1": VOICE}):

        async def seed(desk) -> int:
            from omnidesk.inbound.ingest import ingest_records
            from omnidesk.store.channels import get_channel

            record = Inbound(
                external_id="m1", sender=Address("telegram", "5550001", "Kovács Dániel"),
                sent_at=datetime(2026, 11, 2, tzinfo=UTC), text="hangüzenet", chat_like=True,
                attachments=(Attachment("hang.ogg", "audio/ogg", fetch_ref="voice-1"),
                             Attachment("lejárt.ogg", "audio/ogg", fetch_ref="expired")))
            channel = await get_channel(desk.db, "files")
            return (await ingest_records(desk, channel, [record])).message_ids[0]

        yield cli_env, lazy, cli_env.run(seed)


def test_save_one_attachment_fetches_it_once(files_env, tmp_path: Path) -> None:
    env, lazy, mid = files_env
    out = tmp_path / "saved"
    result = env.invoke("attachment", "save", str(mid), "1", "--out", str(out))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == f"Saved hang.ogg in {out}"
    assert (out / "hang.ogg").read_bytes() == VOICE
    again = env.invoke("attachment", "save", str(mid), "1", "--out", str(out))
    assert again.exit_code == 0 and (out / "hang (1).ogg").read_bytes() == VOICE
    assert lazy.fetched == ["voice-1"]  # the second save read the stored blob


def test_a_failed_fetch_is_one_line_and_exit_1(files_env, tmp_path: Path) -> None:
    env, _, mid = files_env
    result = env.invoke("attachment", "save", str(mid), "--out", str(tmp_path))
    assert result.exit_code == 1
    [line] = result.stderr.strip().splitlines()
    assert "Saved hang.ogg" in line and "Traceback" not in result.stderr
    assert "not saved: lejárt.ogg (fetching it failed: the file link expired has expired)" in line


@pytest.mark.parametrize(("args", "words"), [(["999"], "no message 999"), (["{mid}", "3"], "1..2")])
def test_bad_message_or_index(files_env, args: list[str], words: str) -> None:
    env, _, mid = files_env
    result = env.invoke("attachment", "save", *[a.format(mid=mid) for a in args])
    assert result.exit_code == 1 and words in result.stderr and "Traceback" not in result.stderr
