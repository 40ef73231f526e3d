"""The desk's macros: every `*.toml` file in the macro folder (`[macros] dir`, default `macros/`
next to the config file). A file that cannot be read is a problem of its own, not the end of
the others: `omnidesk macro lint` lists it, `macro show` of it names it."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from omnidesk.macros.definition import Macro, MacroError, load
from omnidesk.settings import Settings

#: More macro files than this in one folder is a mistake (a folder of something else).
MAX_MACROS = 2_000


class Library(NamedTuple):
    """The macros read from a folder, by name, and one line per file that could not be read."""

    folder: Path
    macros: dict[str, Macro]
    problems: dict[str, str]  # name (file stem) -> what is wrong

    def get(self, name: str) -> Macro:
        """The macro called `name`; MacroError naming the known ones (or the file's problem)."""
        if name in self.macros:
            return self.macros[name]
        if name in self.problems:
            raise MacroError(self.problems[name])
        known = ", ".join(sorted(self.macros)[:20]) or f"none in {self.folder}"
        raise MacroError(f"no macro called {name!r}", hint=f"known macros: {known}")


def macro_folder(settings: Settings) -> Path:
    if settings.macros.dir is not None:
        return settings.macros.dir
    base = settings.source.parent if settings.source is not None else Path.cwd()
    return base / "macros"


def load_library(settings: Settings) -> Library:
    """Every macro of the desk, read now (a folder that does not exist holds none)."""
    folder = macro_folder(settings)
    macros: dict[str, Macro] = {}
    problems: dict[str, str] = {}
    try:
        paths = sorted(p for p in folder.glob("*.toml") if p.is_file())
    except OSError as exc:
        raise MacroError(f"{folder}: cannot read the macro folder: {exc.strerror or exc}") from None
    if len(paths) > MAX_MACROS:
        raise MacroError(f"{folder}: more than {MAX_MACROS:,} macro files; is this the macro folder?")
    for path in paths:
        try:
            macro = load(path)
        except MacroError as exc:
            problems[path.stem] = str(exc)
            continue
        macros[macro.name] = macro
    return Library(folder, macros, problems)
