"""The CLI as a real process: exit codes, stderr, pipes, and what start-up imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests.cli.conftest import REPO, CliEnv


def test_list_json_on_an_empty_desk_does_not_import_textual(cli_env: CliEnv) -> None:
    """Start-up stays lean: the scripting path never loads the TUI stack (nor jinja2/slack)."""
    probe = textwrap.dedent("""
        import sys
        sys.argv = ["omnidesk", "list", "--json"]
        from omnidesk.cli import main
        try:
            main()
        except SystemExit as exc:
            code = exc.code
        else:
            code = 0
        heavy = sorted(m for m in ("textual", "jinja2", "slack_sdk", "aioimaplib", "aiosmtplib")
                       if m in sys.modules)
        print("HEAVY=" + ",".join(heavy), "CODE=" + str(code), file=sys.stderr)
    """)
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60,
                          cwd=cli_env.tmp, env={**os.environ, **cli_env.env})
    assert done.stdout == "[]\n"
    assert "HEAVY= CODE=0" in done.stderr, done.stderr


def test_importtime_shows_no_textual(cli_env: CliEnv) -> None:
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "omnidesk", "list", "--json"],
                          capture_output=True, text=True, timeout=60, cwd=cli_env.tmp,
                          env={**os.environ, **cli_env.env})
    assert done.returncode == 0
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    assert "omnidesk.cli.app" in imported  # the probe does see our imports
    assert not {m for m in imported if m == "textual" or m.startswith("textual.")}


def test_config_error_in_a_process_is_one_line_no_traceback(cli_env: CliEnv) -> None:
    bad = cli_env.tmp / "bad.toml"
    bad.write_text("[channels.support]\nkind = 'email'\naddress = 'a@b.test'\nimap_host = 'h'\n"
                   "imap_prot = 993\n")
    done = cli_env.process("--config", str(bad), "list", "--json")
    assert done.returncode == 1
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1
    assert str(bad) in lines[0] and "channels.support.imap_prot" in lines[0] and "unknown key" in lines[0]


@pytest.mark.parametrize(
    ("text", "key"),
    [("[desk]\nundo_seconds = 'soon'\n", "desk.undo_seconds"),  # wrong type
     ("[[views]]\nname = 'x'\n", "views[0].query")],  # missing required key
)
def test_wrong_type_and_missing_key_in_a_process(cli_env: CliEnv, text: str, key: str) -> None:
    bad = cli_env.tmp / "bad.toml"
    bad.write_text(text)
    done = cli_env.process("--config", str(bad), "doctor")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert key in done.stdout + done.stderr


def test_usage_error_exits_2(cli_env: CliEnv) -> None:
    done = cli_env.process("list", "--limit", "many")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr


def test_piped_output_is_tsv_and_a_bulk_query_refuses_without_yes(cli_env: CliEnv) -> None:
    from tests.cli.conftest import seed_calls

    ids = cli_env.run(lambda desk: seed_calls(desk, [("+3612345678", "a"), ("+3612345679", "b")]))
    listed = cli_env.process("list", env={"OMNIDESK_FORCE_TTY": ""})
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert [int(line.split("\t")[0]) for line in lines] == sorted(ids, reverse=True)
    refused = cli_env.process("status", "resolved", "--query", "status:open", env={"OMNIDESK_FORCE_TTY": ""})
    assert refused.returncode == 1
    assert "--yes is required when not running interactively" in refused.stderr
    assert "2 conversations" in refused.stderr
    still_open = json.loads(cli_env.process("list", "status:open", "--json").stdout)
    assert len(still_open) == 2


def test_stdin_reply_in_a_process(cli_env: CliEnv) -> None:
    from tests.cli.conftest import seed_emails

    (cid,) = cli_env.run(lambda desk: seed_emails(desk, [("ann@example.com", "Help", "call me")]))
    done = cli_env.process("reply", str(cid), "--json", input="Szia! 你好\n")
    assert done.returncode == 0, done.stderr
    (action,) = json.loads(done.stdout)
    conv = json.loads(cli_env.process("show", str(cid), "--json").stdout)
    reply = next(m for m in conv["messages"] if m["id"] == action["message_id"])
    assert reply["text"].startswith("Szia! 你好") and reply["delivery"] == "queued"


def test_broken_pipe_is_quiet(cli_env: CliEnv) -> None:
    from tests.cli.conftest import seed_calls

    cli_env.run(lambda desk: seed_calls(desk, [(f"+361234{n:04d}", "x") for n in range(30)]))
    cmd = f"{sys.executable} -m omnidesk list --all | head -n 1"
    done = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=60, cwd=cli_env.tmp,
                          env={**os.environ, **cli_env.env})
    assert len(done.stdout.splitlines()) == 1
    assert "Traceback" not in done.stderr


def test_module_entry_point_help(cli_env: CliEnv) -> None:
    done = cli_env.process("--help")
    assert done.returncode == 0 and "omnidesk" in done.stdout
    assert str(REPO)  # the repo is importable from the subprocess (installed editable)


def test_a_damaged_database_file_is_one_clear_line(cli_env: CliEnv) -> None:
    cli_env.data_dir.mkdir(parents=True, exist_ok=True)
    (cli_env.data_dir / "omnidesk.db").write_bytes(b"this is not sqlite, just junk " * 200)
    done = cli_env.process("list", "--json")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "omnidesk.db" in done.stderr and "cannot open the database" in done.stderr


def test_a_data_dir_that_cannot_be_created_is_one_clear_line(cli_env: CliEnv) -> None:
    """A file where the data directory should be (works even as root, unlike chmod)."""
    cli_env.data_dir.write_text("not a directory")
    done = cli_env.process("list", "--json")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert str(cli_env.data_dir) in done.stderr


def _blocked_reading_stdin(pid: int) -> bool:
    """Linux: the process sits in read(0, ...) (syscall 0 on x86-64, fd 0x0)."""
    try:
        with open(f"/proc/{pid}/syscall") as handle:
            fields = handle.read().split()
    except OSError:
        return False
    return len(fields) > 1 and fields[0] == "0" and fields[1] == "0x0"


@pytest.mark.skipif(not sys.platform.startswith("linux") or os.uname().machine != "x86_64",
                    reason="watches /proc/PID/syscall for read(0) (Linux x86-64)")
def test_ctrl_c_exits_130_quietly(cli_env: CliEnv) -> None:
    import signal
    import time

    if not os.access("/proc/self/syscall", os.R_OK):
        pytest.skip("/proc/PID/syscall is not readable here")
    proc = subprocess.Popen([sys.executable, "-m", "omnidesk", "note", "1"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cli_env.tmp,
                            env={**os.environ, **cli_env.env})
    try:
        deadline = time.monotonic() + 30
        while not _blocked_reading_stdin(proc.pid):  # waiting for the note text on stdin
            assert proc.poll() is None and time.monotonic() < deadline, "never started reading stdin"
            time.sleep(0.01)  # polling a condition with a deadline, not waiting blindly
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130
    assert "Traceback" not in err and "interrupted" in err


def test_concurrent_cli_writers_all_succeed(cli_env: CliEnv) -> None:
    """Several agents' commands at once on one file: no "database is locked", no lost tag."""
    from tests.cli.conftest import seed_calls

    (cid,) = cli_env.run(lambda desk: seed_calls(desk, [("+3613333333", "busy")]))
    procs = [
        subprocess.Popen([sys.executable, "-m", "omnidesk", "tag", str(cid), "--add", f"t{n}"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cli_env.tmp,
                         env={**os.environ, **cli_env.env})
        for n in range(6)
    ]
    results = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in procs]
    for p in procs:
        for stream in (p.stdout, p.stderr):
            if stream:
                stream.close()
    assert all(code == 0 for code, _ in results), results
    assert not any("locked" in err for _, err in results)
    (row,) = json.loads(cli_env.process("list", "--json").stdout)
    assert sorted(row["tags"]) == [f"t{n}" for n in range(6)]
