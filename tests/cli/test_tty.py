"""A real pseudo-terminal: the bulk question appears on a TTY and is answered there."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time

import pytest

from tests.cli.conftest import CliEnv, seed_calls

pytestmark = pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a POSIX pseudo-terminal")


def read_until(fd: int, marker: bytes, timeout: float = 30.0) -> bytes:
    """Read the terminal until `marker` shows up (polling, never a bare sleep)."""
    seen = b""
    deadline = time.monotonic() + timeout
    while marker not in seen:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"{marker!r} never appeared; got {seen[-500:]!r}")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
    return seen


def run_on_tty(env: CliEnv, args: list[str], answer: bytes) -> tuple[int, bytes]:
    master, slave = os.openpty()
    environ = {**os.environ, **env.env, "OMNIDESK_FORCE_TTY": "", "TERM": "xterm"}
    proc = subprocess.Popen([sys.executable, "-m", "omnidesk", *args], stdin=slave, stdout=slave,
                            stderr=slave, cwd=env.tmp, env=environ, close_fds=True)
    os.close(slave)
    try:
        out = read_until(master, b"Go ahead?")
        os.write(master, answer)
        code = proc.wait(timeout=60)
        try:
            while select.select([master], [], [], 0.2)[0]:
                chunk = os.read(master, 4096)
                if not chunk:
                    break
                out += chunk
        except OSError:
            pass
        return code, out
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)


def test_bulk_change_asks_on_a_real_terminal(cli_env: CliEnv) -> None:
    ids = cli_env.run(lambda desk: seed_calls(desk, [("+3611111111", "a"), ("+3622222222", "b")]))
    code, out = run_on_tty(cli_env, ["priority", "urgent", "--query", "status:open"], b"n\n")
    assert code == 1
    assert b"would change 2 conversations" in out and b"cancelled" in out
    code, out = run_on_tty(cli_env, ["priority", "urgent", "--query", "status:open"], b"y\n")
    assert code == 0, out
    rows = json.loads(cli_env.process("list", "--json").stdout)
    assert {r["id"] for r in rows if r["priority"] == "urgent"} == set(ids)
