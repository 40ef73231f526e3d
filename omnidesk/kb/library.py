"""Keeping the store's index of the knowledge base in step with its folder.

A refresh is a stat pass over the folder's `*.md` files (mtime and size, compared with
what the store holds); only a file whose stamp moved is read, and only one whose bytes
hash differently is parsed and indexed again. Files gone are dropped. Everything a
refresh writes is one transaction, so a reader sees the old index or the new one.

`omnidesk kb index` refreshes explicitly. Everything that reads the index (suggestions,
`kb search`, `kb show`, publishing) calls `refresh` first; in a long-lived process
(the console, the daemon) the stat pass runs at most once per `CHECK_SECONDS`, so an
edited article is picked up within seconds, and a suggestion costs no file I/O
in between. The pass runs in a thread: the event loop never waits on the disk.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from omnidesk import textindex
from omnidesk.kb import markup
from omnidesk.kb.article import Article, parse
from omnidesk.store import kb as store_kb

if TYPE_CHECKING:
    from omnidesk.desk import Desk

#: A long-lived process looks at the folder at most this often (seconds).
CHECK_SECONDS = 5.0
#: Larger files are not articles (and are reported by lint).
MAX_BYTES = 1 << 20

_last_check: dict[tuple[str, str], float] = {}  # (database, folder) -> monotonic time of the last pass


class Refresh(NamedTuple):
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    skipped: tuple[str, ...] = ()  # files that could not be read, one line each


def folder(desk: Desk) -> Path | None:
    """The knowledge base's folder, or None when it is not configured or does not exist."""
    path = desk.settings.kb.path
    return path if path is not None and path.is_dir() else None


def scan(root: Path) -> list[tuple[str, os.stat_result]]:
    """(name relative to `root` with / separators, stat) of every `*.md` below it, in a stable order.

    Folders and files starting with `.` (.git) are left out, and so are symbolic links to
    folders (no loops). os.scandir rather than Path.rglob: the pass is the cost of every
    freshness check, and this is several times faster on thousands of files.
    """
    found: list[tuple[str, os.stat_result]] = []
    pending = [("", str(root))]
    while pending:
        prefix, directory = pending.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    pending.append((f"{prefix}{entry.name}/", entry.path))
                elif entry.name.endswith(".md") and entry.is_file():
                    found.append((prefix + entry.name, entry.stat()))
            except OSError:
                continue  # gone between the listing and now: the next pass drops it
    return sorted(found, key=lambda item: item[0])


def article_files(root: Path) -> list[Path]:
    """Every article file below `root` (see `scan`)."""
    return [root / name for name, _ in scan(root)]


def relative_name(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def read_article(root: Path, path: Path) -> tuple[Article, bytes]:
    """Parse one file; OSError or UnicodeDecodeError when it cannot be read as UTF-8 text."""
    data = path.read_bytes()
    if len(data) > MAX_BYTES:
        raise OSError(f"larger than {MAX_BYTES // 1024} KiB")
    return parse(relative_name(root, path), data.decode("utf-8")), data


def index_row(article: Article, stamp: store_kb.Stamp) -> store_kb.ArticleRow:
    """What the store keeps of an article, with its full-text columns prepared like messages'."""
    stored = store_kb.StoredArticle(article.path, article.id, article.language, article.title, article.tags,
                                    article.body, article.translation_of)
    fts = (textindex.prepare(article.title), textindex.prepare(" ".join(article.tags)),
           textindex.prepare(markup.plain_text(article.body)))
    return store_kb.ArticleRow(stored, stamp, fts)


class _Plan(NamedTuple):
    upserts: list[store_kb.ArticleRow]
    restamped: list[tuple[str, store_kb.Stamp]]
    removed: list[str]
    added: int
    unchanged: int
    skipped: tuple[str, ...]


def plan(root: Path | None, stored: dict[str, store_kb.Stamp]) -> _Plan:
    """Compare the folder with the stored stamps (runs in a thread: file I/O only)."""
    upserts, restamped, skipped = [], [], []
    seen: set[str] = set()
    added = unchanged = 0
    for name, st in scan(root) if root is not None else []:
        seen.add(name)
        old = stored.get(name)
        if old is not None and (old.mtime_ns, old.size) == (st.st_mtime_ns, st.st_size):
            unchanged += 1
            continue
        try:
            article, data = read_article(root, root / name)  # type: ignore[operator]
        except (OSError, UnicodeDecodeError) as exc:
            reason = "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else exc.strerror or str(exc)
            skipped.append(f"{name}: {reason}")
            seen.discard(name)
            continue
        stamp = store_kb.Stamp(st.st_mtime_ns, st.st_size, hashlib.sha256(data).hexdigest())
        if old is not None and old.sha256 == stamp.sha256:
            restamped.append((name, stamp))  # touched, same bytes: nothing to re-index
            unchanged += 1
            continue
        added += old is None
        upserts.append(index_row(article, stamp))
    removed = [name for name in stored if name not in seen]
    return _Plan(upserts, restamped, removed, added, unchanged, tuple(skipped))


async def refresh(desk: Desk, *, force: bool = True) -> Refresh | None:
    """Bring the index in step with the folder; None when skipped (checked < CHECK_SECONDS ago).

    A folder that is not configured or does not exist is an empty knowledge base.
    """
    root = folder(desk)
    key = (str(desk.db.path), str(desk.settings.kb.path))
    now = time.monotonic()
    if not force and now - _last_check.get(key, -CHECK_SECONDS) < CHECK_SECONDS:
        return None
    _last_check[key] = now
    stored = await store_kb.stamps(desk.db)
    if root is None and not stored:
        return Refresh()
    todo = await asyncio.to_thread(plan, root, stored)
    if todo.upserts or todo.restamped or todo.removed:
        await store_kb.apply(desk.db, upserts=todo.upserts, restamped=todo.restamped, removed=todo.removed)
    return Refresh(added=todo.added, updated=len(todo.upserts) - todo.added, removed=len(todo.removed),
                   unchanged=todo.unchanged, skipped=todo.skipped)
