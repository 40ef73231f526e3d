"""The knowledge base's index follows its folder; lint reports what is wrong in it."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from omnidesk.desk import Desk
from omnidesk.kb import library, lint, suggest
from omnidesk.kb.article import parse
from omnidesk.settings import KbSettings
from omnidesk.store import kb as store_kb

EXAMPLES = Path(__file__).resolve().parents[2] / "config" / "kb"


def article(title: str, body: str, *, id: str = "", language: str = "en", extra: str = "") -> str:
    head = f'title = "{title}"\nlanguage = "{language}"\n' + (f'id = "{id}"\n' if id else "") + extra
    return f"+++\n{head}+++\n{body}\n"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "kb"
    folder.mkdir()
    return folder


@pytest.fixture
def kb_desk(desk: Desk, root: Path) -> Desk:
    return replace(desk, settings=replace(desk.settings, kb=KbSettings(root)))


async def titles(desk: Desk, text: str) -> list[str]:
    return [s.title for s in await suggest.suggest(desk, text, None, refresh=False)]


async def test_a_changed_added_and_removed_file_is_reindexed(kb_desk: Desk, root: Path) -> None:
    (root / "a.md").write_text(article("Printer jams", "Open the tray."), "utf-8")
    (root / "b.md").write_text(article("Invoices", "Download the invoice."), "utf-8")
    assert await library.refresh(kb_desk) == library.Refresh(added=2)
    assert await titles(kb_desk, "printer") == ["Printer jams"]

    (root / "a.md").write_text(article("Scanner jams", "Open the lid."), "utf-8")
    (root / "c.md").write_text(article("Refunds", "Money back."), "utf-8")
    (root / "b.md").unlink()
    assert await library.refresh(kb_desk) == library.Refresh(added=1, updated=1, removed=1)
    assert await titles(kb_desk, "printer") == []
    assert await titles(kb_desk, "scanner") == ["Scanner jams"]
    assert await titles(kb_desk, "invoice") == []
    assert await titles(kb_desk, "money") == ["Refunds"]
    assert len(await store_kb.all_articles(kb_desk.db)) == 2
    rows = await kb_desk.db.fetchall("SELECT count(*) FROM kb_fts")
    assert rows[0][0] == 2  # no full-text row left behind


async def test_a_touched_file_with_the_same_bytes_is_not_reparsed(kb_desk: Desk, root: Path) -> None:
    path = root / "a.md"
    path.write_text(article("Printer jams", "Open the tray."), "utf-8")
    await library.refresh(kb_desk)
    before = await kb_desk.db.fetchone("SELECT id, mtime_ns FROM kb_articles")
    os.utime(path, ns=(before[1] + 5_000_000_000, before[1] + 5_000_000_000))
    assert await library.refresh(kb_desk) == library.Refresh(unchanged=1)
    after = await kb_desk.db.fetchone("SELECT id, mtime_ns FROM kb_articles")
    assert after[0] == before[0] and after[1] == before[1] + 5_000_000_000  # restamped in place
    assert await library.refresh(kb_desk) == library.Refresh(unchanged=1)


async def test_an_edit_keeping_size_and_mtime_is_caught_by_explicit_index(kb_desk: Desk, root: Path) -> None:
    # Stat only sees mtime and size: the same size written within the same mtime is invisible to
    # the cheap pass, as to make and rsync; the stamp holds the hash for when it is read.
    path = root / "a.md"
    path.write_text(article("Printer jams", "Open the tray."), "utf-8")
    await library.refresh(kb_desk)
    stamp = path.stat()
    path.write_text(article("Printer jamz", "Open the tray."), "utf-8")
    os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns + 1))
    assert (await library.refresh(kb_desk)).updated == 1
    assert await titles(kb_desk, "jamz") == ["Printer jamz"]


async def test_checks_are_throttled_in_long_lived_processes(kb_desk: Desk, root: Path) -> None:
    await library.refresh(kb_desk, force=True)
    (root / "a.md").write_text(article("Printer jams", "Open the tray."), "utf-8")
    assert await library.refresh(kb_desk, force=False) is None  # looked less than CHECK_SECONDS ago
    library._last_check.clear()
    assert await library.refresh(kb_desk, force=False) == library.Refresh(added=1)


async def test_unreadable_files_are_reported_and_the_rest_indexed(kb_desk: Desk, root: Path) -> None:
    (root / "bad.md").write_bytes(b"+++\ntitle = \"x\"\n+++\n\xff\xfe")
    (root / "good.md").write_text(article("Printer jams", "Open the tray."), "utf-8")
    (root / ".git").mkdir()
    (root / ".git" / "x.md").write_text(article("Hidden", "no"), "utf-8")
    result = await library.refresh(kb_desk)
    assert result.added == 1 and result.skipped == ("bad.md: not UTF-8 text",)
    assert await titles(kb_desk, "hidden") == []


async def test_the_folder_going_away_empties_the_index(kb_desk: Desk, root: Path) -> None:
    (root / "a.md").write_text(article("Printer jams", "Open the tray."), "utf-8")
    await library.refresh(kb_desk)
    (root / "a.md").unlink()
    root.rmdir()
    assert await library.refresh(kb_desk) == library.Refresh(removed=1)


# -- parsing and lint ---------------------------------------------------------------------------


def test_front_matter_is_read() -> None:
    a = parse("hu/x.md", '+++\nid = "x"\ntitle = "Jelszó"\nlanguage = "HU"\ntags = ["fiók"]\n'
                         'translation_of = "en"\n+++\nSzöveg\n')
    assert (a.id, a.title, a.language, a.tags, a.translation_of, a.body, a.problems) == \
        ("x", "Jelszó", "hu", ("fiók",), "en", "Szöveg", ())
    assert parse("dir/stem.md", article("T", "b")).id == "stem"  # the id defaults to the file name


@pytest.mark.parametrize(("text", "problem"), [
    ("no front matter\n", "no front matter: the file must start with a +++ line"),
    ("---\ntitle: x\n---\nbody\n", "YAML front matter (---) is not read: use TOML between +++ lines"),
    ("+++\ntitle = \n+++\nbody\n", "front matter is not valid TOML"),
    ("+++\ntitle = \"t\"\n+++\nbody\n", "missing language"),
    ("+++\nlanguage = \"en\"\n+++\nbody\n", "missing title"),
    ("+++\ntitle = \"t\"\nlanguage = \"en\"\n+++\n\n  \n", "empty body"),
    ("+++\ntitle = \"t\"\nlanguage = \"english!\"\n+++\nb\n", "language 'english!': expected a tag"),
    ("+++\ntitle = \"t\"\nlanguage = \"en\"\nautor = \"x\"\n+++\nb\n", "unknown front matter key 'autor'"),
    ("+++\ntitle = \"t\"\nlanguage = \"en\"\nid = \"a b/c\"\n+++\nb\n", "id 'a b/c': use letters"),
    ("+++\ntitle = 5\nlanguage = \"en\"\n+++\nb\n", "title: expected a string"),
])
def test_each_problem_is_named(text: str, problem: str) -> None:
    assert any(p.startswith(problem) for p in parse("x.md", text).problems), parse("x.md", text).problems


def test_lint_finds_duplicates_broken_translation_links_and_broken_links(root: Path) -> None:
    (root / "en").mkdir()
    (root / "hu").mkdir()
    (root / "en" / "a.md").write_text(article("A", "See [b](kb:b) and [gone](kb:nope).", id="a"), "utf-8")
    (root / "en" / "a-copy.md").write_text(article("A again", "x", id="a"), "utf-8")
    (root / "hu" / "a.md").write_text(article("Á", "x", id="a", language="hu",
                                              extra='translation_of = "de"\n'), "utf-8")
    (root / "hu" / "b.md").write_text(article("B", "x", id="b", language="hu",
                                              extra='translation_of = "hu"\n'), "utf-8")
    (root / "empty.md").write_text("+++\nlanguage = \"en\"\n+++\n", "utf-8")
    findings = [tuple(f) for f in lint.lint(root)]
    assert findings == [
        ("empty.md", "missing title"),
        ("empty.md", "empty body"),
        ("en/a.md", "duplicate id 'a' in language 'en' (also en/a-copy.md)"),
        ("en/a.md", "broken link kb:nope: no article has that id"),
        ("hu/a.md", "broken translation link: no 'de' article with id 'a'"),
        ("hu/b.md", "translation_of 'hu' is its own language"),
    ]


def test_the_example_articles_are_clean() -> None:
    assert lint.lint(EXAMPLES) == []


async def test_two_processes_refreshing_at_once_index_each_article_once(kb_desk: Desk, root: Path) -> None:
    import asyncio

    from omnidesk.store.db import Database

    for n in range(40):
        (root / f"a{n}.md").write_text(article(f"Printer {n}", f"Open tray {n}."), "utf-8")
    other = replace(kb_desk, db=await Database.open(kb_desk.db.path))
    try:
        await asyncio.gather(library.refresh(kb_desk), library.refresh(other))
        (root / "a0.md").write_text(article("Scanner", "Lid."), "utf-8")
        (root / "a1.md").unlink()
        await asyncio.gather(library.refresh(other), library.refresh(kb_desk))
    finally:
        await other.db.close()
    stored = await store_kb.all_articles(kb_desk.db)
    assert sorted(a.path for a in stored) == sorted(f"a{n}.md" for n in range(40) if n != 1)
    assert (await kb_desk.db.fetchone("SELECT count(*) FROM kb_fts"))[0] == 39
    assert await titles(kb_desk, "scanner") == ["Scanner"]
