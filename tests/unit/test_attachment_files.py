"""Attachment filenames from customers become one harmless path component."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from omnidesk import blobs
from omnidesk.attachment_files import export, open_with, safe_name
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
        ("", SHA[:16]),
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
