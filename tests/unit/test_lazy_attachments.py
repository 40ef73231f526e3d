"""Lazy attachments: stored as a reference, fetched through the channel's adapter on first save or open,
kept as a blob from then on; a failure is one line naming the file and the reason."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.base import Address, Attachment, Inbound
from omnidesk import blobs
from omnidesk.conversations.lazy_attachments import fetched, save
from omnidesk.desk import Desk
from omnidesk.errors import UserError
from omnidesk.inbound.ingest import ingest_records
from omnidesk.settings import ChannelSettings, Settings
from omnidesk.store import attachments as store_attachments
from omnidesk.store import channels as store_channels
from tests.fakes.lazyfiles import KIND, LazyFiles, registered

PHOTO = "照片 2026.jpg".encode() + b"\xff\xd8\xff\xe0 not really a jpeg"
T = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


@pytest.fixture
def channel_files() -> Iterator[type[LazyFiles]]:
    yield from registered({"file-1": PHOTO, "file-2": b"%PDF-1.4 " + "رسید".encode()})


async def _message(desk: Desk, *attachments: Attachment) -> tuple[Desk, int]:
    desk = replace(desk, settings=Settings(channels=(ChannelSettings("files", KIND),)))
    channel = await store_channels.ensure_channel(desk.db, "files", KIND, None)
    record = Inbound(external_id="m1", sender=Address("telegram", "5550001", "زهرا"), sent_at=T,
                     text="see the photo", chat_like=True, attachments=attachments)
    result = await ingest_records(desk, channel, [record])
    return desk, result.message_ids[0]


def _lazy(ref: str, name: str, size: int | None = None) -> Attachment:
    return Attachment(name, "image/jpeg", fetch_ref=ref, size=size)


async def test_a_lazy_attachment_is_stored_as_a_reference_without_a_blob(
        desk: Desk, channel_files: type[LazyFiles]) -> None:
    desk, mid = await _message(desk, _lazy("file-1", "照片.jpg", size=123))
    _, [att] = await store_attachments.of_message(desk.db, mid)  # type: ignore[misc]
    assert (att.sha256, att.fetch_ref, att.size, att.fetched) == ("", "file-1", 123, False)
    assert not desk.blob_dir.exists() or not any(p.is_file() for p in desk.blob_dir.rglob("*"))
    assert channel_files.fetched == []  # nothing is downloaded at poll time


async def test_save_fetches_once_then_uses_the_blob(desk: Desk, channel_files: type[LazyFiles],
                                                    tmp_path: Path) -> None:
    desk, mid = await _message(desk, _lazy("file-1", "照片.jpg"), Attachment("a.txt", "text/plain", b"eager"))
    _, files = await store_attachments.of_message(desk.db, mid)  # type: ignore[misc]
    report = await save(desk, "files", files, tmp_path / "out")
    assert [p.name for p in report.saved] == ["照片.jpg", "a.txt"] and report.refused == []
    assert (tmp_path / "out" / "照片.jpg").read_bytes() == PHOTO
    _, [att, _eager] = await store_attachments.of_message(desk.db, mid)  # type: ignore[misc]
    assert att.sha256 == blobs.sha256_hex(PHOTO) and att.size == len(PHOTO)
    assert blobs.read(desk.blob_dir, att.sha256) == PHOTO

    channel_files.files.clear()  # the link expired: the blob serves from now on
    again = await save(desk, "files", [att], tmp_path / "out")
    assert [p.name for p in again.saved] == ["照片 (1).jpg"]
    assert channel_files.fetched == ["file-1"]


async def test_an_expired_link_is_one_line_and_nothing_is_stored(desk: Desk, channel_files: type[LazyFiles],
                                                                 tmp_path: Path) -> None:
    desk, mid = await _message(desk, _lazy("gone", "voice.ogg"), _lazy("file-2", "\u202eevil.pdf"))
    _, files = await store_attachments.of_message(desk.db, mid)  # type: ignore[misc]
    report = await save(desk, "files", files, tmp_path)
    assert report.refused == [("voice.ogg", "fetching it failed: the file link gone has expired")]
    assert [p.name for p in report.saved] == ["evil.pdf"]  # the bidi override never reaches a name
    assert "\n" not in report.message()
    _, [gone, _pdf] = await store_attachments.of_message(desk.db, mid)  # type: ignore[misc]
    assert gone.sha256 == "" and gone.fetch_ref == "gone"
    with pytest.raises(UserError, match=r"^voice\.ogg: fetching it failed"):
        await fetched(desk, "files", gone)


async def test_a_channel_no_longer_configured_is_named(desk: Desk, channel_files: type[LazyFiles],
                                                       tmp_path: Path) -> None:
    desk, mid = await _message(desk, _lazy("file-1", "照片.jpg"))
    _, files = await store_attachments.of_message(desk.db, mid)  # type: ignore[misc]
    report = await save(replace(desk, settings=Settings()), "files", files, tmp_path)
    assert report.saved == [] and "channel 'files' is not in the config" in report.refused[0][1]


async def test_two_opens_at_once_fetch_the_same_blob(desk: Desk, channel_files: type[LazyFiles]) -> None:
    desk, mid = await _message(desk, _lazy("file-1", "照片.jpg"))
    _, [a] = await store_attachments.of_message(desk.db, mid)  # type: ignore[misc]
    _, [b] = await store_attachments.of_message(desk.db, mid)  # type: ignore[misc]
    first, second = await asyncio.gather(fetched(desk, "files", a), fetched(desk, "files", b))
    assert first.sha256 == second.sha256 == blobs.sha256_hex(PHOTO)
