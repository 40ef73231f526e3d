"""`omnidesk kb search|show|index|lint|publish`: the knowledge base from the shell."""

from __future__ import annotations

from pathlib import Path

import typer

from omnidesk.cli.common import desk_session, limit_option, run
from omnidesk.cli.output import FORMAT_OPTION, JSON_OPTION, Column

#: Machine-readable fields of `kb search` (and `kb show --json`, which adds `body`).
ARTICLE_FIELDS = ("id", "language", "title", "languages", "url", "path", "score", "excerpt")
ARTICLE_COLUMNS = (
    Column("id", "Id", "str"),
    Column("language", "Lang", "str"),
    Column("title", "Title", "text", max_width=40),
    Column("languages", "Also in", "list"),
    Column("excerpt", "Excerpt", "text", max_width=60),
)
FINDING_FIELDS = ("path", "problem")
FINDING_COLUMNS = (Column("path", "File", "str"), Column("problem", "Problem", "text"))

kb_app = typer.Typer(help="Knowledge base: search, show, index, lint and publish articles.",
                     no_args_is_help=True)

LANGUAGE_OPTION = typer.Option(None, "--language", "-l", metavar="TAG",
                               help="Prefer this language (hu, zh, ...): its translations, and it first.")


def register(app: typer.Typer) -> None:
    app.add_typer(kb_app, name="kb")


def _folder_or_fail(desk: object) -> Path:
    from omnidesk.errors import UserError
    from omnidesk.kb import library

    found = library.folder(desk)  # type: ignore[arg-type]
    if found is None:
        configured = desk.settings.kb.path  # type: ignore[attr-defined]
        raise UserError(f"no knowledge base: {configured or 'no [kb] path'} is not a folder",
                        hint="set [kb] path in the config (docs/kb.md)")
    return found


@kb_app.command("search")
def search_command(
    ctx: typer.Context,
    query: list[str] = typer.Argument(..., metavar="QUERY...", help="Words, in any language."),
    language: str | None = LANGUAGE_OPTION,
    limit: int = limit_option("At most this many articles."),
    json_flag: bool = JSON_OPTION,
    fmt: str | None = FORMAT_OPTION,
) -> None:
    """Articles for some words, best first, ranked as the console's suggestions are."""

    async def main() -> None:
        from omnidesk.cli.output import choose_format, emit
        from omnidesk.kb import library, suggest

        chosen = choose_format(fmt, json_flag)
        async with desk_session(ctx) as desk:
            _folder_or_fail(desk)
            await library.refresh(desk)
            found = await suggest.suggest(desk, " ".join(query), language, limit=limit, refresh=False)
        rows = [{"id": s.article_id, "language": s.language, "title": s.title, "languages": list(s.languages),
                 "url": s.url, "path": s.path, "score": round(-s.score, 4), "excerpt": s.excerpt}
                for s in found]
        emit(rows, chosen, fields=ARTICLE_FIELDS, columns=ARTICLE_COLUMNS, empty="No article matches.")

    run(main())


@kb_app.command("show")
def show_command(
    ctx: typer.Context,
    article_id: str = typer.Argument(..., metavar="ID", help="The article's id (its file name by default)."),
    language: str | None = LANGUAGE_OPTION,
    json_flag: bool = JSON_OPTION,
) -> None:
    """One article: rendered on a terminal (links shown with their address), its Markdown when piped."""

    async def main() -> None:
        import sys

        from omnidesk.cli.common import output_is_tty
        from omnidesk.cli.output import render_json
        from omnidesk.errors import UserError
        from omnidesk.kb import library
        from omnidesk.kb.article import primary
        from omnidesk.kb.suggest import article_url
        from omnidesk.langpick import normal_tag
        from omnidesk.store import kb as store_kb
        from omnidesk.textsafe import clean

        async with desk_session(ctx) as desk:
            _folder_or_fail(desk)
            await library.refresh(desk)
            versions = (await store_kb.translations(desk.db, [article_id])).get(article_id, [])
            url = {a.language: article_url(desk, a.article_id, a.language) for a in versions}
        if not versions:
            raise UserError(f"no article with id {article_id!r}", hint="`omnidesk kb search WORDS` finds ids")
        wanted = normal_tag(language or "")
        chosen = next((a for a in versions if a.language == wanted), None) or next(
            (a for a in versions if wanted and primary(a.language) == primary(wanted)), None)
        if chosen is None and language:
            have = ", ".join(a.language for a in versions)
            raise UserError(f"article {article_id!r} has no {language!r} translation (it has {have})")
        article = chosen or versions[0]
        languages = [a.language for a in versions]
        if json_flag:
            record = {"id": article.article_id, "language": article.language, "title": article.title,
                      "languages": languages, "url": url[article.language], "path": article.path,
                      "tags": list(article.tags), "body": article.body}
            sys.stdout.write(render_json(record))
        elif output_is_tty():
            from rich.console import Console

            from omnidesk.kb.render import terminal_article

            Console(highlight=False, markup=False, emoji=False).print(
                terminal_article(article.title, article.body, language=article.language, languages=languages,
                                 url=url[article.language]))
        else:
            sys.stdout.write(clean(article.body).rstrip("\n") + "\n")

    run(main())


@kb_app.command("index")
def index_command(ctx: typer.Context, json_flag: bool = JSON_OPTION) -> None:
    """Bring the index in step with the folder now (the console and the daemon also do it on their own)."""

    async def main() -> None:
        import sys

        from omnidesk.cli.output import render_json
        from omnidesk.kb import library

        async with desk_session(ctx) as desk:
            root = _folder_or_fail(desk)
            result = await library.refresh(desk)
        assert result is not None  # forced: never skipped
        for line in result.skipped:
            sys.stderr.write(f"omnidesk: skipped {line}\n")
        if json_flag:
            sys.stdout.write(render_json({**result._asdict(), "skipped": list(result.skipped),
                                          "folder": str(root)}))
            return
        total = result.added + result.updated + result.unchanged
        sys.stdout.write(f"{total} articles in {root}: {result.added} added, {result.updated} updated,"
                         f" {result.removed} removed, {result.unchanged} unchanged\n")

    run(main())


@kb_app.command("lint")
def lint_command(ctx: typer.Context, json_flag: bool = JSON_OPTION, fmt: str | None = FORMAT_OPTION) -> None:
    """Check every article: front matter, missing title or language, empty bodies, duplicate ids,
    broken translation links and `kb:` links. Exit 1 when anything is found."""

    async def main() -> int:
        import asyncio

        from omnidesk.cli.output import choose_format, emit
        from omnidesk.kb import lint

        chosen = choose_format(fmt, json_flag)
        async with desk_session(ctx) as desk:
            root = _folder_or_fail(desk)
        findings = await asyncio.to_thread(lint.lint, root)
        emit([{"path": f.path, "problem": f.message} for f in findings], chosen, fields=FINDING_FIELDS,
             columns=FINDING_COLUMNS, empty=f"No problems in {root}.")
        return 1 if findings else 0

    raise typer.Exit(run(main()))


@kb_app.command("publish")
def publish_command(
    ctx: typer.Context,
    out: Path = typer.Argument(..., metavar="DIR", help="Where the help centre goes (empty, new, or"
                               " one written before: it is replaced whole).", file_okay=False),
    json_flag: bool = JSON_OPTION,
) -> None:
    """Write a static help centre: a page per article and language, an index, and a search page
    that works without a server. Serve DIR as it is, or open DIR/index.html."""

    async def main() -> None:
        import asyncio
        import sys

        from omnidesk.cli.output import render_json
        from omnidesk.kb import lint, publish

        async with desk_session(ctx) as desk:
            root = _folder_or_fail(desk)
            site = desk.settings.desk.name
        articles, unreadable = await asyncio.to_thread(lint.read_all, root)
        result = await asyncio.to_thread(publish.publish, articles, out, site=site)
        for line in [f"{f.path}: {f.message}" for f in unreadable] + list(result.skipped):
            sys.stderr.write(f"omnidesk: {line}\n")
        if json_flag:
            sys.stdout.write(render_json({"pages": result.pages, "languages": list(result.languages),
                                          "skipped": list(result.skipped), "dir": str(out)}))
            return
        sys.stdout.write(f"Wrote {result.pages} pages in {len(result.languages)} languages"
                         f" ({', '.join(result.languages)}) to {out}; open {out / 'index.html'}\n")

    run(main())
