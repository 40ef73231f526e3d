"""`--version`, shell completion and the manual page, all from the one click command tree."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap

import pytest
import typer.main

from omnidesk.cli.app import build_app
from omnidesk.cli.manpage import options, walk
from tests.cli.conftest import REPO, CliEnv

DOC = (REPO / "docs" / "cli.md").read_text("utf-8")


def _tree() -> list[tuple[str, list[str]]]:
    """(command path, long option names) for every command, the root included."""
    group = typer.main.get_command(build_app())
    found = []
    for command, ctx in walk(group, "omnidesk"):
        names = [n for p in command.get_params(ctx) if p.param_type_name == "option" and not p.hidden
                 for n in p.opts + p.secondary_opts if n.startswith("--")]
        found.append((ctx.command_path, names))
    return found


def test_version_is_the_package_metadata_and_imports_nothing_heavy(cli_env: CliEnv) -> None:
    from importlib.metadata import version

    probe = textwrap.dedent("""
        import sys
        sys.argv = ["omnidesk", "--version"]
        from omnidesk.cli import main
        try:
            main()
        except SystemExit as exc:
            code = exc.code
        heavy = sorted(m for m in ("rich", "textual", "aiosqlite", "omnidesk.store", "omnidesk.cli.actions")
                       if m in sys.modules)
        print("HEAVY=" + ",".join(heavy), "CODE=" + str(code), file=sys.stderr)
    """)
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60,
                          cwd=cli_env.tmp, env={**os.environ, **cli_env.env})
    assert done.stdout == f"omnidesk {version('omnidesk')}\n"
    assert "HEAVY= CODE=0" in done.stderr, done.stderr


def test_version_after_a_global_option(cli_env: CliEnv) -> None:
    done = cli_env.process("--as", "bob", "--version")
    assert done.returncode == 0 and done.stdout.startswith("omnidesk ")


@pytest.mark.parametrize(("shell", "marker"), [
    ("bash", "complete -o default -F"), ("zsh", "#compdef omnidesk"), ("fish", "complete --command omnidesk"),
])
def test_completion_prints_the_script(cli_env: CliEnv, shell: str, marker: str) -> None:
    done = cli_env.process("completion", shell)
    assert done.returncode == 0, done.stderr
    assert marker in done.stdout and "_OMNIDESK_COMPLETE=complete_" + shell in done.stdout


def test_completion_refuses_an_unknown_shell(cli_env: CliEnv) -> None:
    done = cli_env.process("completion", "tcsh")
    assert done.returncode == 2 and "tcsh" in done.stderr


@pytest.mark.parametrize(("env", "expected"), [
    ({"COMP_WORDS": "omnidesk li", "COMP_CWORD": "1", "_OMNIDESK_COMPLETE": "complete_bash"}, "list"),
    ({"_TYPER_COMPLETE_ARGS": "omnidesk sync --on", "_OMNIDESK_COMPLETE": "complete_zsh"}, "--once"),
    ({"_TYPER_COMPLETE_ARGS": "omnidesk outbox ca", "_TYPER_COMPLETE_FISH_ACTION": "get-args",
      "_OMNIDESK_COMPLETE": "complete_fish"}, "cancel"),
])
def test_the_program_answers_the_scripts(cli_env: CliEnv, env: dict[str, str], expected: str) -> None:
    done = cli_env.process(env=env)
    assert done.returncode == 0, done.stderr
    assert expected in done.stdout


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completes_through_the_script(cli_env: CliEnv) -> None:
    """The printed script, sourced by a real bash, completes a command name."""
    script = cli_env.process("completion", "bash").stdout
    shim = cli_env.tmp / "omnidesk"
    shim.write_text(f'#!/bin/sh\nexec {sys.executable} -m omnidesk "$@"\n')
    shim.chmod(0o755)
    drive = script + '\nCOMP_WORDS=(omnidesk doc); COMP_CWORD=1; _omnidesk_completion omnidesk\n' \
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    done = subprocess.run(["bash", "-c", drive], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **cli_env.env, "PATH": f"{cli_env.tmp}:{os.environ['PATH']}"})
    assert done.stdout.split() == ["doctor"], done.stderr


def test_man_page_has_every_command_and_option(cli_env: CliEnv) -> None:
    done = cli_env.process("man")
    assert done.returncode == 0, done.stderr
    page = done.stdout.replace("\\-", "-")
    assert page.startswith('.TH "OMNIDESK" 1')
    for path, names in _tree():
        if path != "omnidesk":
            assert re.search(rf'^\.SS "{re.escape(path)}[ "]', page, re.M), path
        for name in names:
            assert name in page, f"{path} {name}"


def test_man_page_is_valid_roff(cli_env: CliEnv) -> None:
    out = cli_env.tmp / "omnidesk.1"
    assert cli_env.process("man", "--output", str(out)).returncode == 0
    if shutil.which("groff") is None:
        pytest.skip("groff is not installed (apt-get install groff-base)")
    done = subprocess.run(["groff", "-man", "-Tutf8", "-ww", str(out)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert "omnidesk sync" in re.sub(".\b", "", done.stdout)  # without grotty's overstrikes


def test_man_page_help_matches_help_output(cli_env: CliEnv) -> None:
    """The page and `--help` print the same option help, from the same objects."""
    group = typer.main.get_command(build_app())
    page = cli_env.process("man").stdout.replace("\\-", "-").replace("\\e", "\\")
    for command, ctx in walk(group, "omnidesk"):
        for _, text in options(command, ctx):
            assert " ".join(text.split()) in page


def test_docs_name_every_command_and_option() -> None:
    """Each command's section of docs/cli.md names each of its options."""
    sections = _doc_sections()
    common = _section("Output formats") + _section("Global options") + _section("Choosing conversations")
    for path, names in _tree():
        top = " ".join(path.split()[:2])
        body = common if path == "omnidesk" else sections.get(top)
        assert body is not None, f"docs/cli.md has no section for {top}"
        missing = [n for n in names if n != "--help" and n not in body and n not in common]
        assert missing == [], f"docs/cli.md: {path} {missing}"


def _doc_sections() -> dict[str, str]:
    """"omnidesk NAME" -> the text of each `### ...` section whose heading names it."""
    found: dict[str, str] = {}
    for block in DOC.split("\n### ")[1:]:
        for name in re.findall(r"`(omnidesk [\w-]+)", block.split("\n", 1)[0]):
            found[name] = found.get(name, "") + block
    return found


def _section(title: str) -> str:
    return DOC.split(f"## {title}", 1)[1].split("\n## ", 1)[0]
