"""Attachments leaving the store: saved under their own names, or handed to a viewer.

Blobs are stored by hash with no name or extension, so a viewer given the blob itself
cannot tell a PDF from a PNG; both paths copy the bytes out under the (sanitised)
filename the customer sent.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from omnidesk import blobs
from omnidesk.errors import UserError
from omnidesk.textsafe import one_line


def safe_name(attachment: Any) -> str:
    """The attachment's filename reduced to one harmless path component (never `..` or a path)."""
    name = Path(one_line(attachment.filename or "").replace("\\", "/")).name
    return name if name not in ("", ".", "..") else attachment.sha256[:16]


def export(blob_dir: Path, attachment: Any, directory: Path) -> Path:
    """Copy one attachment into `directory` under its own name and return the new path."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / safe_name(attachment)
    target.write_bytes(blobs.read(blob_dir, attachment.sha256))
    return target


def viewer_dir() -> Path:
    """A private per-user directory for copies handed to viewers (not world-readable)."""
    path = Path(tempfile.gettempdir()) / f"omnidesk-open-{os.getuid()}"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def open_with(opener: str, path: Path) -> None:
    """Start `opener` (a command line; empty = the desktop's default) on `path`, detached.

    Raises UserError naming the command when it cannot be started.
    """
    argv = shlex.split(opener) if opener else ["open" if sys.platform == "darwin" else "xdg-open"]
    try:
        subprocess.Popen(
            [*argv, str(path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # a viewer must not die with, or draw over, the console
        )
    except OSError as exc:
        raise UserError(
            f"cannot run {argv[0]!r} to open {path.name}: {exc.strerror or exc}",
            hint="set [tui] opener in the config",
        ) from exc
