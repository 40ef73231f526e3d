-- omnidesk schema, version 8: the knowledge base's articles and their full-text index.
--
-- Articles live as Markdown files in a folder (`[kb] path`); this is the index of them, kept
-- in step by omnidesk/kb/library.py: one row per file, with what says whether it changed
-- (mtime, size, sha256 of the bytes). `article_id` is shared by an article's translations.
CREATE TABLE kb_articles (
    id              INTEGER PRIMARY KEY,
    path            TEXT NOT NULL UNIQUE,           -- relative to the folder, with / separators
    article_id      TEXT NOT NULL,
    language        TEXT NOT NULL DEFAULT '',
    title           TEXT NOT NULL DEFAULT '',
    tags            TEXT NOT NULL DEFAULT '[]',     -- JSON array of strings
    body            TEXT NOT NULL DEFAULT '',       -- the Markdown after the front matter
    translation_of  TEXT NOT NULL DEFAULT '',       -- the language this one was translated from
    mtime_ns        INTEGER NOT NULL,
    size            INTEGER NOT NULL,
    sha256          TEXT NOT NULL,
    indexed_at      INTEGER NOT NULL
) STRICT;

CREATE INDEX kb_articles_article ON kb_articles (article_id, language);

-- Same tokenisation as message_fts: accents folded by the tokenizer, CJK runs given as
-- bigrams by omnidesk/textindex.py. Not contentless: a few thousand articles are small,
-- and a stored row can be deleted by rowid when its file changes.
CREATE VIRTUAL TABLE kb_fts USING fts5(
    title, tags, body,
    tokenize = 'unicode61 remove_diacritics 2'
);
