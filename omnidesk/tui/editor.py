"""The $EDITOR round trip (Posting's `_open_as_tempfile`): temp file, suspend the app, read back."""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from textual.app import SuspendNotSupported


def edit_in_editor(app: Any, text: str, suffix: str = ".txt") -> str | None:
    """`text` edited in $VISUAL, else $EDITOR; None (and a notice) when neither is set."""
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if not editor:
        app.notify("Set $VISUAL or $EDITOR to edit drafts in your editor", severity="warning")
        return None
    with tempfile.NamedTemporaryFile("w", suffix=suffix, delete=False, encoding="utf-8") as handle:
        handle.write(text)
        path = Path(handle.name)
    try:
        command = [*shlex.split(editor), str(path)]
        try:
            with app.suspend():
                subprocess.call(command)
        except SuspendNotSupported:  # headless (tests, demo --headless): no terminal to hand over
            subprocess.call(command, stdin=subprocess.DEVNULL)
        return path.read_text(encoding="utf-8")
    finally:
        path.unlink(missing_ok=True)
