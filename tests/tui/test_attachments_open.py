"""O hands a copy of the attachment, under its own name, to the configured opener."""

from __future__ import annotations

import sys
from dataclasses import replace

from adapters.base import Attachment
from omnidesk.settings import TuiSettings
from tests.tui.conftest import ingest_from_eva, make_app, open_conversation, screen_text, until

SIZE = (150, 45)
PDF = b"%PDF-1.4 sz\xe1mla 2026/118"


async def _app_with_attachment(seeded, filename: str, opener: str) -> tuple[object, int]:
    desk = replace(seeded, settings=replace(seeded.settings, tui=TuiSettings(opener=opener)))
    cid = await ingest_from_eva(
        desk,
        f"<att-{filename}@example.hu>",
        subject="Számla",
        text="Csatolom a számlát.",
        attachments=(Attachment(filename, "application/pdf", PDF),),
    )
    return make_app(desk), cid


def _recording_opener(tmp_path) -> tuple[str, object]:
    """A viewer that records which file it was given and what that file held."""
    script = tmp_path / "viewer.py"
    record = tmp_path / "opened"
    script.write_text(
        "import sys, pathlib\n"
        "p = pathlib.Path(sys.argv[1])\n"
        f"pathlib.Path({str(record)!r}).write_bytes(p.name.encode() + b'\\n' + p.read_bytes())\n"
    )
    return f"{sys.executable} {script}", record


def _toasted(app, text: str) -> bool:
    return any(text in n.message for n in app._notifications)


async def test_O_opens_a_named_copy_with_the_configured_opener(seeded, tmp_path):
    opener, record = _recording_opener(tmp_path)
    app, cid = await _app_with_attachment(seeded, "számla 2026.pdf", opener)
    async with app.run_test(size=SIZE) as pilot:
        await open_conversation(pilot, app, cid)
        await until(pilot, lambda: "számla 2026.pdf" in screen_text(app), "attachment listed")
        await pilot.press("O")
        await until(pilot, lambda: record.exists(), "the viewer ran")
        name, _, data = record.read_bytes().partition(b"\n")
        assert name.decode() == "számla 2026.pdf"  # the viewer sees the real name and extension
        assert data == PDF
        await until(pilot, lambda: _toasted(app, "Opened számla 2026.pdf"), "toast")


async def test_a_hostile_filename_stays_inside_the_viewer_directory(seeded, tmp_path):
    opener, record = _recording_opener(tmp_path)
    app, cid = await _app_with_attachment(seeded, "../../\x1b[31mevil.pdf", opener)
    async with app.run_test(size=SIZE) as pilot:
        await open_conversation(pilot, app, cid)
        await pilot.press("O")
        await until(pilot, lambda: record.exists(), "the viewer ran")
        name, _, data = record.read_bytes().partition(b"\n")
        assert b"/" not in name and b"\x1b" not in name and name.endswith(b"evil.pdf")
        assert data == PDF


async def test_a_missing_opener_says_so_and_the_console_keeps_working(seeded):
    app, cid = await _app_with_attachment(seeded, "számla.pdf", "/nonexistent/viewer")
    async with app.run_test(size=SIZE) as pilot:
        await open_conversation(pilot, app, cid)
        await pilot.press("O")
        await until(pilot, lambda: _toasted(app, "Cannot open"), "error toast")
        assert _toasted(app, "cannot run '/nonexistent/viewer' to open számla.pdf")
        await pilot.press("escape")
        await until(pilot, lambda: getattr(app.screen, "context", "") == "inbox", "back in the inbox")


async def _save_into(pilot, app, target) -> None:
    await pilot.press("colon")
    await until(pilot, lambda: app.screen.id == "command-line", "command line")
    await pilot.press(*f"save-attachment {target}", "enter")


async def test_w_never_overwrites_and_names_what_it_saved(seeded, tmp_path):
    target = tmp_path / "home"
    target.mkdir()
    (target / ".bashrc").write_text("mine\n")
    app, cid = await _app_with_attachment(seeded, ".bashrc", "/nonexistent/viewer")
    async with app.run_test(size=SIZE) as pilot:
        await open_conversation(pilot, app, cid)
        await _save_into(pilot, app, target)
        await until(pilot, lambda: _toasted(app, f"Saved _bashrc in {target}"), "toast names the file")
        await _save_into(pilot, app, target)
        await until(pilot, lambda: _toasted(app, "Saved _bashrc (1) in"), "a free name the second time")
    assert (target / ".bashrc").read_text() == "mine\n" and (target / "_bashrc").read_bytes() == PDF


async def test_w_reports_a_file_it_could_not_save(seeded, tmp_path):
    (tmp_path / "not-a-dir").write_text("x")
    app, cid = await _app_with_attachment(seeded, "számla.pdf", "/nonexistent/viewer")
    async with app.run_test(size=SIZE) as pilot:
        await open_conversation(pilot, app, cid)
        await _save_into(pilot, app, tmp_path / "not-a-dir")
        await until(pilot, lambda: _toasted(app, "not saved: számla.pdf ("), "the refusal is reported")
        assert any(n.severity == "error" for n in app._notifications)
