"""The design's boundaries, checked on every run so they hold as the code grows.

- nothing outside omnidesk/tui/ imports textual;
- adapters/ imports nothing of omnidesk;
- only omnidesk/store/ holds SQL;
- the import-linter contracts of pyproject.toml (the store imports nothing above it, the core
  no concrete adapter, ...), which must run in CI: there a missing `lint-imports` fails.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _python_files(*parts: str) -> list[Path]:
    return sorted((ROOT.joinpath(*parts)).rglob("*.py"))


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_only_the_tui_imports_textual() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in _python_files("omnidesk") + _python_files("adapters")
        if "tui" not in path.relative_to(ROOT).parts
        and any(m == "textual" or m.startswith("textual.") for m in _imported_modules(path))
    ]
    assert offenders == []


def test_adapters_import_nothing_of_omnidesk() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in _python_files("adapters")
        if any(m == "omnidesk" or m.startswith("omnidesk.") for m in _imported_modules(path))
    ]
    assert offenders == []


_SQL = re.compile(
    r"\b(SELECT\b[\s\S]+?\bFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|"
    r"CREATE\s+(TABLE|INDEX|VIRTUAL)|PRAGMA\s+\w+)\b"
)


def _string_constants(path: Path) -> list[str]:
    """String literals that are not docstrings (prose may mention `PRAGMA data_version`)."""
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
    }
    return [n.value for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings]


def test_only_the_store_holds_sql() -> None:
    offenders = []
    for path in _python_files("omnidesk") + _python_files("adapters"):
        rel = path.relative_to(ROOT)
        if rel.parts[:2] == ("omnidesk", "store"):
            continue
        if any(_SQL.search(s) for s in _string_constants(path)):
            offenders.append(str(rel))
    assert offenders == []


def test_import_linter_contracts_hold() -> None:
    lint_imports = shutil.which("lint-imports")
    if lint_imports is None:
        missing = "import-linter is not installed (pip install -e '.[test]')"
        if os.environ.get("CI"):  # CI=true on every CI runner: the contracts must not go unchecked there
            pytest.fail(missing)
        pytest.skip(missing)
    env = {"PYTHONPATH": str(ROOT), "PATH": str(Path(sys.executable).parent)}
    result = subprocess.run([lint_imports, "--no-cache"], cwd=ROOT, capture_output=True, text=True,
                            check=False, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
