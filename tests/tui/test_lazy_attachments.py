"""O and w on a file the channel only referenced: fetched in a worker, then opened or saved."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from adapters.base import Address, Attachment, Inbound
from omnidesk.settings import ChannelSettings, TuiSettings
from tests.fakes.lazyfiles import KIND, LazyFiles, registered
from tests.tui.conftest import make_app, open_conversation, screen_text, until

SIZE = (150, 45)
PHOTO = b"\xff\xd8\xff\xe0 photo of the broken box"


@pytest.fixture
def channel_files() -> Iterator[type[LazyFiles]]:
    yield from registered({"photo-1": PHOTO})


class SlowFiles(LazyFiles):
    """Answers only when the test says so: the console must keep working meanwhile."""

    gate: asyncio.Event

    async def fetch_attachment(self, fetch_ref: str) -> bytes:
        await self.gate.wait()
        return await super().fetch_attachment(fetch_ref)


async def _desk_with_photo(seeded, opener: str = "", ref: str = "photo-1"):
    from omnidesk.inbound.ingest import ingest_records
    from omnidesk.store.channels import ensure_channel

    settings = replace(seeded.settings, channels=(*seeded.settings.channels, ChannelSettings("files", KIND)),
                       tui=TuiSettings(opener=opener))
    desk = replace(seeded, settings=settings)
    channel = await ensure_channel(desk.db, "files", KIND, None)
    record = Inbound(external_id="tg-1", sender=Address("telegram", "5550001", "Kovács Dániel"),
                     sent_at=datetime(2026, 11, 20, 11, 30, tzinfo=UTC), text="A doboz törött.",
                     chat_like=True, attachments=(Attachment("doboz.jpg", "image/jpeg", fetch_ref=ref),))
    return desk, (await ingest_records(desk, channel, [record])).conversation_ids[0]


def _toasted(app, text: str) -> bool:
    return any(text in n.message for n in app._notifications)


async def test_w_fetches_a_lazy_file_in_a_worker_and_saves_it(seeded, channel_files, tmp_path, monkeypatch):
    from omnidesk import registry

    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    SlowFiles.gate = asyncio.Event()
    registry.register(KIND, SlowFiles)
    desk, cid = await _desk_with_photo(seeded)
    app = make_app(desk)
    async with app.run_test(size=SIZE) as pilot:
        await open_conversation(pilot, app, cid)
        await until(pilot, lambda: "doboz.jpg" in screen_text(app), "attachment listed")
        await pilot.press("w")
        await pilot.press("escape")  # the fetch is still waiting: the console answers anyway
        await until(pilot, lambda: getattr(app.screen, "context", "") == "inbox", "back in the inbox")
        SlowFiles.gate.set()
        saved = home / "Downloads" / "doboz.jpg"
        await until(pilot, saved.exists, "saved")
        await until(pilot, lambda: _toasted(app, "Saved doboz.jpg"), "toast")
    assert saved.read_bytes() == PHOTO and channel_files.fetched == ["photo-1"]


async def test_O_opens_a_fetched_copy(seeded, channel_files, tmp_path):
    script, record = tmp_path / "viewer.py", tmp_path / "opened"
    script.write_text(f"import sys, pathlib\npathlib.Path({str(record)!r}).write_bytes("
                      "pathlib.Path(sys.argv[1]).read_bytes())\n")
    desk, cid = await _desk_with_photo(seeded, opener=f"{sys.executable} {script}")
    app = make_app(desk)
    async with app.run_test(size=SIZE) as pilot:
        await open_conversation(pilot, app, cid)
        await until(pilot, lambda: "doboz.jpg" in screen_text(app), "attachment listed")
        await pilot.press("O")
        await until(pilot, record.exists, "the viewer ran")
    assert record.read_bytes() == PHOTO


async def test_an_expired_file_is_one_error_line(seeded, channel_files):
    desk, cid = await _desk_with_photo(seeded, opener="/nonexistent/viewer", ref="expired-ref")
    app = make_app(desk)
    async with app.run_test(size=SIZE) as pilot:
        await open_conversation(pilot, app, cid)
        await pilot.press("O")
        await until(pilot, lambda: _toasted(app, "Cannot open: doboz.jpg: fetching it failed"), "error toast")
        assert _toasted(app, "the file link expired-ref has expired")
