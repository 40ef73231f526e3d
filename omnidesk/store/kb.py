"""The knowledge base's index: one row per article file and its full-text row (schema 9).

omnidesk/kb/library.py decides what changed in the folder; this module only
answers what is stored and writes what it is told, one transaction per refresh.
The FTS text is prepared above (omnidesk/textindex.py splits CJK runs into
bigrams), so articles and messages are tokenised alike.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, NamedTuple

from omnidesk.timeutil import now_ms

if TYPE_CHECKING:
    from omnidesk.store.db import Database

#: bm25 column weights: a word in the title counts most, then the tags, then the body.
BM25 = "bm25(kb_fts, 4.0, 2.0, 1.0)"


class Stamp(NamedTuple):
    """What says whether a file changed since it was indexed."""

    mtime_ns: int
    size: int
    sha256: str


class StoredArticle(NamedTuple):
    """An article as stored (`rowid` 0 before it is written)."""

    path: str
    article_id: str
    language: str
    title: str
    tags: tuple[str, ...]
    body: str
    translation_of: str
    rowid: int = 0


class ArticleRow(NamedTuple):
    """An article to write: its fields, its file's stamp, and its full-text columns (title, tags, body)."""

    article: StoredArticle
    stamp: Stamp
    fts: tuple[str, str, str]


class Hit(NamedTuple):
    rowid: int
    article_id: str
    language: str
    score: float  # bm25: lower is better


_COLUMNS = "id, path, article_id, language, title, tags, body, translation_of"


def _stored(row: Sequence[object]) -> StoredArticle:
    return StoredArticle(str(row[1]), str(row[2]), str(row[3]), str(row[4]), tuple(json.loads(str(row[5]))),
                         str(row[6]), str(row[7]), rowid=int(row[0]))  # type: ignore[call-overload]


async def stamps(db: Database) -> dict[str, Stamp]:
    """path -> stamp of every indexed file."""
    rows = await db.fetchall("SELECT path, mtime_ns, size, sha256 FROM kb_articles")
    return {r[0]: Stamp(r[1], r[2], r[3]) for r in rows}


async def apply(db: Database, *, upserts: Iterable[ArticleRow], restamped: Iterable[tuple[str, Stamp]],
                removed: Iterable[str]) -> None:
    """Write one refresh: new or changed articles, files touched but unchanged, files gone."""
    now = now_ms()
    async with db.write() as conn:
        for path in removed:
            await _delete(conn, path)
        for path, stamp in restamped:
            await conn.execute("UPDATE kb_articles SET mtime_ns = ?, size = ? WHERE path = ?",
                               (stamp.mtime_ns, stamp.size, path))
        for a, stamp, fts in upserts:
            await _delete(conn, a.path)
            cursor = await conn.execute(
                "INSERT INTO kb_articles (path, article_id, language, title, tags, body, translation_of,"
                " mtime_ns, size, sha256, indexed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (a.path, a.article_id, a.language, a.title, json.dumps(list(a.tags), ensure_ascii=False),
                 a.body, a.translation_of, stamp.mtime_ns, stamp.size, stamp.sha256, now))
            await conn.execute("INSERT INTO kb_fts (rowid, title, tags, body) VALUES (?, ?, ?, ?)",
                               (cursor.lastrowid, *fts))


async def _delete(conn: object, path: str) -> None:
    cursor = await conn.execute("SELECT id FROM kb_articles WHERE path = ?", (path,))  # type: ignore[attr-defined]
    row = await cursor.fetchone()
    if row is None:
        return
    await conn.execute("DELETE FROM kb_fts WHERE rowid = ?", (row[0],))  # type: ignore[attr-defined]
    await conn.execute("DELETE FROM kb_articles WHERE id = ?", (row[0],))  # type: ignore[attr-defined]


async def search(db: Database, expr: str, *, language: str = "", limit: int = 50) -> list[Hit]:
    """Articles matching an FTS5 expression, best first (optionally of one language only)."""
    where, params = "kb_fts MATCH ?", [expr]
    if language:
        where += " AND (a.language = ? OR a.language LIKE ? ESCAPE '\\')"
        params += [language, language.replace("_", "\\_").replace("%", "\\%") + "-%"]
    rows = await db.fetchall(
        f"SELECT a.id, a.article_id, a.language, {BM25} AS score FROM kb_fts"
        f" JOIN kb_articles a ON a.id = kb_fts.rowid WHERE {where} ORDER BY score, a.id LIMIT ?",
        [*params, limit])
    return [Hit(r[0], r[1], r[2], r[3]) for r in rows]


async def by_rowids(db: Database, rowids: Sequence[int]) -> dict[int, StoredArticle]:
    if not rowids:
        return {}
    marks = ",".join("?" * len(rowids))
    rows = await db.fetchall(f"SELECT {_COLUMNS} FROM kb_articles WHERE id IN ({marks})", list(rowids))
    return {r[0]: _stored(r) for r in rows}


async def translations(db: Database, article_ids: Sequence[str]) -> dict[str, list[StoredArticle]]:
    """article id -> every stored translation of it (by language, then path)."""
    if not article_ids:
        return {}
    marks = ",".join("?" * len(article_ids))
    rows = await db.fetchall(f"SELECT {_COLUMNS} FROM kb_articles WHERE article_id IN ({marks})"
                             " ORDER BY article_id, language, path", list(article_ids))
    out: dict[str, list[StoredArticle]] = {}
    for r in rows:
        out.setdefault(r[2], []).append(_stored(r))
    return out


async def all_articles(db: Database) -> list[StoredArticle]:
    rows = await db.fetchall(f"SELECT {_COLUMNS} FROM kb_articles ORDER BY article_id, language, path")
    return [_stored(r) for r in rows]
