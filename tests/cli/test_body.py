"""Where reply/note text comes from, and that no editor or prompt appears without a terminal."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from omnidesk.cli import body
from omnidesk.errors import UserError


class FakeStdin(io.StringIO):
    def __init__(self, text: str, tty: bool) -> None:
        super().__init__(text)
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


@pytest.fixture(autouse=True)
def no_editor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.delenv("EDITOR", raising=False)


def test_text_argument_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", FakeStdin("ignored", tty=False))
    assert body.read_body("Hello ügyfél", None) == "Hello ügyfél\n"


def test_dash_reads_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", FakeStdin("from stdin\n\n", tty=False))
    assert body.read_body("-", None, purpose="note") == "from stdin"


def test_file(tmp_path: Path) -> None:
    path = tmp_path / "r.txt"
    path.write_text("سلام\nline two\n", "utf-8")
    assert body.read_body(None, path) == "سلام\nline two\n"
    with pytest.raises(UserError, match="no such file"):
        body.read_body(None, tmp_path / "missing.txt")


def test_piped_stdin_is_read_when_nothing_else_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", FakeStdin("piped body", tty=False))
    assert body.read_body(None, None) == "piped body\n"


def test_editor_on_a_terminal_visual_before_editor(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    script = tmp_path / "ed.py"
    monkeypatch.setattr(sys, "stdin", FakeStdin("", tty=True))
    monkeypatch.setenv("OMNIDESK_FORCE_TTY", "1")
    monkeypatch.setenv("VISUAL", f"{sys.executable} {script} from-visual")
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script} from-editor")
    # The editor gets the temp file last; it writes the marker word it was given before it.
    script.write_text("import sys\nopen(sys.argv[-1], 'w', encoding='utf-8').write(sys.argv[-2])\n")
    assert body.read_body(None, None) == "from-visual\n"
    monkeypatch.delenv("VISUAL")
    assert body.read_body(None, None) == "from-editor\n"


def test_editor_failure_or_absence_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", FakeStdin("", tty=True))
    monkeypatch.setenv("OMNIDESK_FORCE_TTY", "1")
    with pytest.raises(UserError, match=r"\$VISUAL or \$EDITOR"):
        body.read_body(None, None)
    monkeypatch.setenv("EDITOR", "false")
    with pytest.raises(UserError, match="exited with status 1"):
        body.read_body(None, None)
    monkeypatch.setenv("EDITOR", "/nonexistent/editor")
    with pytest.raises(UserError, match="editor not found"):
        body.read_body(None, None)


def test_no_tty_never_opens_an_editor(monkeypatch: pytest.MonkeyPatch) -> None:
    """stdin is a terminal but stdout is not (`omnidesk reply 1 > log`): refuse, do not edit."""
    monkeypatch.setattr(sys, "stdin", FakeStdin("", tty=True))
    monkeypatch.setenv("OMNIDESK_FORCE_TTY", "0")
    monkeypatch.setenv("EDITOR", "false")
    with pytest.raises(UserError, match="give --text, --file or pipe it"):
        body.read_body(None, None)


def test_both_text_and_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not both"):
        body.read_body("x", tmp_path / "y")


def test_empty_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UserError, match="empty"):
        body.read_body(" \n\t", None)
