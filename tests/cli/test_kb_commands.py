"""`omnidesk kb search|show|index|lint|publish` on a desk whose kb/ folder holds the examples."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.cli.conftest import REPO, CliEnv


@pytest.fixture
def kb_env(cli_env: CliEnv) -> CliEnv:
    shutil.copytree(REPO / "config" / "kb", cli_env.tmp / "kb")  # the default: kb/ beside the config
    return cli_env


def test_search_ranks_in_the_preferred_language_and_pipes_tab_separated(kb_env: CliEnv) -> None:
    result = kb_env.invoke("kb", "search", "jelszo", "fiok")
    assert result.exit_code == 0, result.stderr
    first = result.stdout.splitlines()[0].split("\t")
    assert first[:3] == ["reset-password", "hu", "Jelszó visszaállítása"]
    data = json.loads(kb_env.invoke("kb", "search", "password", "--language", "fa", "--json").stdout)
    assert (data[0]["id"], data[0]["language"]) == ("reset-password", "fa")
    assert set(data[0]) == {"id", "language", "title", "languages", "url", "path", "score", "excerpt"}


def test_search_on_a_terminal_is_a_table(kb_env: CliEnv) -> None:
    result = kb_env.invoke("kb", "search", "退款", env={"OMNIDESK_FORCE_TTY": "1"})
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0].split()[:2] == ["Id", "Lang"]
    assert "取消订单的退款" in result.stdout


def test_show_renders_on_a_terminal_and_gives_the_markdown_when_piped(kb_env: CliEnv) -> None:
    tty = kb_env.invoke("kb", "show", "reset-password", "-l", "en", env={"OMNIDESK_FORCE_TTY": "1"})
    assert tty.exit_code == 0
    assert "Why do I not get your emails? (kb:missing-emails)" in tty.stdout  # the link's address shown
    assert "\x1b]8;" not in tty.stdout and "**" not in tty.stdout
    piped = kb_env.invoke("kb", "show", "reset-password", "-l", "hu")
    assert piped.stdout.startswith("Ha elfelejtette a jelszavát") and "**Elfelejtett jelszó**" in piped.stdout
    missing = kb_env.invoke("kb", "show", "reset-password", "-l", "de")
    assert missing.exit_code == 1
    assert missing.stderr.splitlines() == [
        "omnidesk: article 'reset-password' has no 'de' translation (it has en, fa, hu, uz, zh)"]
    assert kb_env.invoke("kb", "show", "nope").stderr.startswith("omnidesk: no article with id 'nope'")


def test_index_reports_what_changed(kb_env: CliEnv) -> None:
    first = kb_env.invoke("kb", "index")
    assert first.stdout.endswith(": 13 added, 0 updated, 0 removed, 0 unchanged\n")
    (kb_env.tmp / "kb" / "en" / "refund.md").unlink()
    assert json.loads(kb_env.invoke("kb", "index", "--json").stdout)["removed"] == 1


def test_lint_is_quiet_on_clean_articles_and_exits_1_naming_each_problem(kb_env: CliEnv) -> None:
    clean = kb_env.invoke("kb", "lint")
    assert (clean.exit_code, clean.stdout) == (0, "")
    (kb_env.tmp / "kb" / "bad.md").write_text("+++\nlanguage = \"en\"\n+++\n", "utf-8")
    bad = kb_env.invoke("kb", "lint")
    assert bad.exit_code == 1
    assert bad.stdout == "bad.md\tmissing title\nbad.md\tempty body\n"


def test_publish_writes_the_help_centre(kb_env: CliEnv) -> None:
    result = kb_env.invoke("kb", "publish", str(kb_env.tmp / "site"))
    assert result.exit_code == 0, result.stderr
    assert "Wrote 13 pages in 5 languages (en, fa, hu, uz, zh)" in result.stdout
    assert (kb_env.tmp / "site" / "hu" / "reset-password.html").is_file()
    (kb_env.tmp / "other").mkdir()
    (kb_env.tmp / "other" / "keep.txt").write_text("x", "utf-8")
    refused = kb_env.invoke("kb", "publish", str(kb_env.tmp / "other"))
    assert refused.exit_code == 1 and "not empty and not a help centre" in refused.stderr


def test_without_a_folder_each_command_says_so_in_one_line(cli_env: CliEnv) -> None:
    result = cli_env.invoke("kb", "search", "x")
    assert result.exit_code == 1
    folder = cli_env.tmp / "kb"
    assert result.stderr.splitlines()[0] == f"omnidesk: no knowledge base: {folder} is not a folder"


def test_kb_in_a_real_process(kb_env: CliEnv, tmp_path: Path) -> None:
    done = kb_env.process("kb", "search", "Parolimni", "unutdim")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\t")[:2] == ["reset-password", "uz"]
