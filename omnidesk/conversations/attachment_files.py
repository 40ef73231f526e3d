"""Attachments leaving the store: saved under their own names, or handed to a viewer.

Blobs are stored by hash with no name or extension, so a viewer given the blob itself
cannot tell a PDF from a PNG; both paths copy the bytes out under the (sanitised)
filename the customer sent. A stranger chooses that name, so a copy never replaces
or follows anything already there: each file is created new (`O_EXCL | O_NOFOLLOW`,
mode 0600), under a free name (`name (1).ext`) when the name is taken, shortened to
what the file system allows, and never as a dot-file.
"""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omnidesk import blobs
from omnidesk.errors import UserError
from omnidesk.textsafe import one_line

#: `name (1).ext` ... `name (999).ext`: past that the directory is full of the same name.
FREE_NAME_TRIES = 1000
#: A longer "extension" is part of the name (`a.` + 300 letters is not a file type).
MAX_EXTENSION_BYTES = 32
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def safe_name(attachment: Any) -> str:
    """The attachment's filename as one harmless, visible path component.

    Path parts go (`../../x` -> `x`); a leading dot becomes `_` (`.bashrc` -> `_bashrc`),
    so a save never makes a hidden or configuration file; a name that is empty or only
    dots becomes the blob's hash prefix; text UTF-8 cannot encode becomes `?`.
    """
    name = Path(one_line(attachment.filename or "").replace("\\", "/")).name.strip()
    name = name.encode("utf-8", "replace").decode("utf-8")
    if not name.strip("."):
        return attachment.sha256[:16] or f"attachment-{attachment.id}"  # a lazy one has no hash yet
    return "_" + name.lstrip(".") if name.startswith(".") else name


def fit_name(name: str, limit: int, tag: str = "") -> str:
    """`name` with `tag` before its extension, cut to `limit` UTF-8 bytes.

    The extension is kept and the cut falls between characters, never inside one.
    """
    stem, ext = os.path.splitext(name)
    if len(ext.encode()) > MAX_EXTENSION_BYTES:
        stem, ext = name, ""
    room = limit - len(ext.encode()) - len(tag.encode())
    return stem.encode()[:max(room, 1)].decode("utf-8", "ignore") + tag + ext


def _name_max(directory: Path) -> int:
    try:
        return os.pathconf(directory, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255  # the common limit (ext4, XFS, btrfs, APFS)


def _create_new(directory: Path, name: str) -> tuple[int, Path]:
    """Create a file that did not exist: `name`, else `name (1)`, ... Returns (fd, path)."""
    limit = _name_max(directory)
    for n in range(FREE_NAME_TRIES):
        path = directory / fit_name(name, limit, f" ({n})" if n else "")
        try:
            # O_EXCL refuses an existing name, a planted symlink included (even one
            # pointing nowhere); O_NOFOLLOW says so again for systems that differ.
            return os.open(path, _CREATE_FLAGS, 0o600), path
        except FileExistsError:
            continue
    raise FileExistsError(f"{FREE_NAME_TRIES} files named like it already exist")


def export(blob_dir: Path, attachment: Any, directory: Path) -> Path:
    """Copy one attachment into `directory` as a new file and return its path.

    Raises OSError (no space, no such blob, name taken ...); a part-written file is removed.
    """
    directory.mkdir(parents=True, exist_ok=True)
    try:
        data = blobs.read(blob_dir, attachment.sha256)
    except FileNotFoundError:
        raise FileNotFoundError("its content is missing from the data directory") from None
    fd, path = _create_new(directory, safe_name(attachment))
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


@dataclass(slots=True)
class SaveReport:
    """What a save did with each attachment: the new paths, and (name, reason) for the refused."""

    directory: Path
    saved: list[Path] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)

    @property
    def severity(self) -> str:
        """For a notification: all saved, some refused, or none saved."""
        return "error" if not self.saved else "warning" if self.refused else "information"

    def message(self) -> str:
        """One line naming every file: `Saved a.pdf, b (1).pdf in DIR; not saved: x.pdf (reason)`."""
        parts = []
        if self.saved:
            parts.append(f"Saved {', '.join(p.name for p in self.saved)} in {one_line(str(self.directory))}")
        if self.refused:
            parts.append("not saved: " + ", ".join(f"{name} ({reason})" for name, reason in self.refused))
        return "; ".join(parts)


def save_all(blob_dir: Path, attachments: Iterable[Any], directory: Path) -> SaveReport:
    """Save every attachment into `directory`; a failure is reported per file, never raised."""
    report = SaveReport(directory)
    for attachment in attachments:
        try:
            report.saved.append(export(blob_dir, attachment, directory))
        except OSError as exc:
            report.refused.append((safe_name(attachment), one_line(exc.strerror or str(exc))))
    return report


def _is_private_dir(path: str) -> bool:
    """A real directory (not a symlink), ours, that nobody else may enter."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & 0o077


def _runtime_dir() -> str | None:
    """`$XDG_RUNTIME_DIR/omnidesk` when both are ours and private, else None (use the temp dir)."""
    base = os.environ.get("XDG_RUNTIME_DIR", "")
    if not os.path.isabs(base) or not _is_private_dir(base):
        return None
    path = os.path.join(base, "omnidesk")
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    return path if _is_private_dir(path) else None


def viewer_copy(blob_dir: Path, attachment: Any) -> Path:
    """A copy of the attachment for a viewer, in a fresh directory only we can enter.

    mkdtemp makes that directory itself (0700, a name nobody could plant), inside
    `$XDG_RUNTIME_DIR/omnidesk` when that is ours, else in the temp dir; a name
    known in advance (`/tmp/omnidesk-open-UID`) could be made first by anyone.
    """
    directory = Path(tempfile.mkdtemp(prefix="omnidesk-open-", dir=_runtime_dir()))
    return export(blob_dir, attachment, directory)


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
