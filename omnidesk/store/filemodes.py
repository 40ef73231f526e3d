"""The database's files are readable by their owner only, whatever the umask.

They hold customer addresses and raw mail. SQLite creates a database's -wal,
-shm and -journal files with the database file's own mode, so making the data
directory 0700 and the database file 0600 before SQLite first opens it covers
them all. Files that already exist keep their mode (someone may have shared
them on purpose); `omnidesk doctor` names any that others can read.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

#: The files SQLite keeps beside the database (WAL mode, and rollback during a mode switch).
SIDE_FILES = ("-wal", "-shm", "-journal")
_OPEN_TO_OTHERS = stat.S_IRWXG | stat.S_IRWXO


def make_private_dir(path: Path) -> None:
    """Create `path` (and missing parents) with `path` itself 0700; an existing one is left alone."""
    if path.is_dir():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        return  # made by a concurrent first start: theirs is as private as ours would be
    os.chmod(path, 0o700)  # exact whatever the umask (one of 0o277 would leave it unusable)


def prepare_database_file(path: Path) -> None:
    """Create the database's directory (0700) and an empty database file (0600) if missing.

    SQLite treats an empty file as a new database; creating it ourselves is what
    fixes its mode, and so the mode of every file SQLite makes beside it. A symlink
    the owner put in place is followed, as SQLite will: its target is what is made.
    """
    path = Path(os.path.realpath(path))
    make_private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, 0o600)  # exact whatever the umask
    finally:
        os.close(fd)


def permission_warnings(db_path: Path) -> list[str]:
    """One line for the data directory and each database file that group or others can use."""
    warnings = []
    for path, fix in [(db_path.parent, "700"), (db_path, "600"),
                      *((db_path.with_name(db_path.name + s), "600") for s in SIDE_FILES)]:
        try:
            mode = stat.S_IMODE(os.stat(path).st_mode)
        except OSError:
            continue  # absent (no journal, WAL not yet made): nothing to expose
        if mode & _OPEN_TO_OTHERS:
            kind = "data directory" if fix == "700" else "database file"
            warnings.append(f"{kind} {path} is open to group/others (mode {mode:04o}): "
                            f"customer data is readable; run: chmod {fix} {path}")
    return warnings
