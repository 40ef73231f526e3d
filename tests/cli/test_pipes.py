"""Real processes writing where nobody reads (a closed pipe) or nothing fits (/dev/full)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import CliEnv, seed_calls

WRITERS = (("--help",), ("list", "--help"), ("list", "--all"), ("list", "--all", "--json"),
           ("list", "--all", "--format", "table"), ("show", "1"), ("show", "1", "--format", "table"))


@pytest.fixture
def many(cli_env: CliEnv) -> CliEnv:
    # Enough rows that the output outgrows a pipe's buffer and the write itself meets the closed end.
    phones = [(f"+3630{n:07d}", "Árvíztűrő " * 40 + f"退款 {n}") for n in range(300)]
    cli_env.run(lambda desk: seed_calls(desk, phones))
    return cli_env


def _run(env: CliEnv, args: tuple[str, ...], stdout: int) -> subprocess.CompletedProcess[str]:
    force = {"OMNIDESK_FORCE_TTY": "1"} if "table" in args else {}
    return subprocess.run([sys.executable, "-m", "omnidesk", *args], stdin=subprocess.DEVNULL, stdout=stdout,
                          stderr=subprocess.PIPE, text=True, timeout=60, cwd=env.tmp,
                          env={**os.environ, **env.env, **force})


@pytest.mark.parametrize("args", WRITERS, ids=" ".join)
def test_a_reader_that_left_is_exit_0_and_silence(many: CliEnv, args: tuple[str, ...]) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # `| head -c1` that has already had its byte
    try:
        done = _run(many, args, write_end)
    finally:
        os.close(write_end)
    assert (done.returncode, done.stderr) == (0, "")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
@pytest.mark.parametrize("args", WRITERS, ids=" ".join)
def test_a_full_disk_is_one_line_and_exit_1(many: CliEnv, args: tuple[str, ...]) -> None:
    with open("/dev/full", "w") as full:
        done = _run(many, args, full.fileno())
    assert done.returncode == 1, done.stderr
    assert done.stderr == "omnidesk: cannot write the output: No space left on device\n"


@pytest.mark.parametrize("args", (("--help",), ("list", "--all", "--json"), ("show", "1")), ids=" ".join)
def test_a_closed_stdout_is_one_line_and_exit_1(many: CliEnv, args: tuple[str, ...]) -> None:
    # `omnidesk ... >&-`: fd 1 is not open at all, so sys.stdout is None.
    done = subprocess.run([sys.executable, "-m", "omnidesk", *args], stdin=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, timeout=60, cwd=many.tmp,
                          env={**os.environ, **many.env}, preexec_fn=lambda: os.close(1))
    assert done.returncode == 1
    assert done.stderr == "omnidesk: cannot write the output: standard output is closed\n"
    assert len(json.loads(many.invoke("list", "--all", "--json").stdout)) == 300  # the database is intact
