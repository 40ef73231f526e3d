"""Where the text of a reply or note comes from: argument, file, stdin, or the editor.

Order: `--text` (`-` = stdin), `--file` (`-` = stdin), piped stdin, then
$VISUAL / $EDITOR when a person is at a terminal (as git and gh do). Never
opens an editor or waits on a keyboard without a TTY.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from omnidesk.errors import UserError


def read_body(text: str | None, file: Path | None, *, purpose: str = "reply") -> str:
    from omnidesk.cli.common import is_tty

    if text is not None and file is not None:
        raise UserError("give the text or --file, not both")
    if text is not None:
        body = _stdin() if text == "-" else text
    elif file is not None:
        body = _stdin() if str(file) == "-" else _read_file(file)
    elif not _stdin_is_tty():
        body = _stdin()
    elif is_tty():
        body = edit_text("", suffix=".txt", purpose=purpose)
    else:
        raise UserError(f"no {purpose} text: give --text, --file or pipe it on stdin")
    if not body.strip():
        raise UserError(f"the {purpose} is empty; nothing done")
    return body.strip("\n") + "\n" if purpose == "reply" else body.strip()


def _stdin_is_tty() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def _stdin() -> str:
    return sys.stdin.read()


def _read_file(path: Path) -> str:
    try:
        return Path(path).expanduser().read_text("utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise UserError(f"{path}: {exc.strerror}") from None


def editor_command() -> list[str] | None:
    """$VISUAL, then $EDITOR, split like a shell would; None when neither is set."""
    for var in ("VISUAL", "EDITOR"):
        value = os.environ.get(var, "").strip()
        if value:
            return shlex.split(value)
    return None


def edit_text(initial: str, *, suffix: str = ".txt", purpose: str = "reply") -> str:
    """Open the user's editor on a temp file and return what they saved."""
    command = editor_command()
    if command is None:
        raise UserError(f"no {purpose} text and no editor: set $VISUAL or $EDITOR, "
                        "or give --text / --file / stdin")
    fd, name = tempfile.mkstemp(prefix="omnidesk-", suffix=suffix)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(initial)
        try:
            done = subprocess.run([*command, name], check=False)
        except FileNotFoundError:
            raise UserError(f"editor not found: {command[0]}") from None
        if done.returncode != 0:
            raise UserError(f"editor {command[0]} exited with status {done.returncode}; nothing done")
        return Path(name).read_text("utf-8")
    finally:
        with contextlib.suppress(OSError):
            os.unlink(name)
