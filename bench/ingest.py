#!/usr/bin/env python3
"""Import speed: `omnidesk import maildir` against `notmuch new` on the same generated Maildir.

    python bench/ingest.py                       # 100,000 messages (generated once, then reused)
    python bench/ingest.py --messages 10000
    python bench/ingest.py --maildir /path/to/Maildir --skip-notmuch

Generates the Maildir with ../shared/bench/gen_mail.py (deterministic: same
arguments, same bytes), imports it into a fresh desk with the real CLI (a
subprocess, so the figure includes start-up, the parser pool and every
transaction), then indexes the same Maildir with `notmuch new` (if installed)
in a throw-away notmuch database. Prints both rates, their ratio (target:
omnidesk >= 2x notmuch), omnidesk's conversation count against notmuch's
thread count (target: equal), CPU seconds of each, and the load average: the
machine may be shared, and CPU seconds do not depend on what else runs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GEN_MAIL = REPO.parent / "shared" / "bench" / "gen_mail.py"


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_timed(cmd: list[str], env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], float, float]:
    cpu, started = children_cpu(), time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    return done, time.perf_counter() - started, children_cpu() - cpu


def ensure_maildir(path: Path, messages: int, seed: int) -> Path:
    """Generate the Maildir unless a complete one from an earlier run is there."""
    new = path / "new"
    if new.is_dir() and sum(1 for _ in os.scandir(new)) == messages:
        print(f"reusing {path} ({messages} messages)")
        return path
    if path.exists():
        shutil.rmtree(path)
    if not GEN_MAIL.is_file():
        sys.exit(f"generator not found: {GEN_MAIL} (../shared/bench beside the checkout)")
    print(f"generating {messages} messages into {path} ...", flush=True)
    cmd = [sys.executable, str(GEN_MAIL), str(path), "--messages", str(messages), "--seed", str(seed)]
    subprocess.run(cmd, check=True)
    return path


def bench_omnidesk(maildir: Path, work: Path) -> dict[str, float]:
    data = work / "omnidesk-data"
    shutil.rmtree(data, ignore_errors=True)
    config = work / "omnidesk.toml"
    config.write_text(f'[desk]\nname = "bench"\ndata_dir = "{data}"\n')
    env = {**os.environ, "OMNIDESK_CONFIG": str(config), "OMNIDESK_FORCE_TTY": "0",
           "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    cmd = [sys.executable, "-m", "omnidesk", "import", "maildir", str(maildir), "--channel", "bench",
           "--json"]
    done, wall, cpu = run_timed(cmd, env)
    if done.returncode != 0:
        sys.exit(f"omnidesk import failed:\n{done.stderr}")
    summary = json.loads(done.stdout)
    with sqlite3.connect(data / "omnidesk.db") as conn:
        query = "SELECT count(*) FROM conversations WHERE merged_into IS NULL"
        conversations = conn.execute(query).fetchone()[0]
        stored = conn.execute("SELECT count(*) FROM messages").fetchone()[0]
    rerun, rerun_wall, _ = run_timed(cmd, env)
    again = json.loads(rerun.stdout) if rerun.returncode == 0 else {}
    return {"messages": summary["imported"] + summary["duplicates"], "stored": stored, "wall": wall,
            "cpu": cpu, "conversations": conversations, "quarantined": summary["quarantined"],
            "rerun_imported": again.get("imported", -1), "rerun_wall": rerun_wall}


def bench_notmuch(maildir: Path, work: Path) -> dict[str, float] | None:
    if shutil.which("notmuch") is None:
        return None
    db = work / "notmuch-db"
    shutil.rmtree(db, ignore_errors=True)
    db.mkdir(parents=True)
    config = work / "notmuch-config"
    config.write_text(f"[database]\npath={db}\nmail_root={maildir}\n[user]\nname=Bench\n"
                      "primary_email=bench@example.com\n[new]\ntags=inbox;\n[maildir]\nsynchronize_flags=false\n")
    env = {**os.environ, "NOTMUCH_CONFIG": str(config)}
    done, wall, cpu = run_timed(["notmuch", "new", "--quiet"], env)
    if done.returncode != 0:
        sys.exit(f"notmuch new failed:\n{done.stderr}")
    count = lambda *a: int(subprocess.run(["notmuch", "count", *a], env=env, capture_output=True,  # noqa: E731
                                          text=True, check=True).stdout.strip())
    return {"messages": count("*"), "threads": count("--output=threads", "*"), "wall": wall, "cpu": cpu}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "omnidesk-bench-ingest")
    ap.add_argument("--maildir", type=Path, help="use this Maildir instead of generating one")
    ap.add_argument("--skip-notmuch", action="store_true")
    args = ap.parse_args()
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    generated = work / f"maildir-{args.messages}-s{args.seed}"
    maildir = args.maildir or ensure_maildir(generated, args.messages, args.seed)
    load_before = os.getloadavg()[0]

    ours = bench_omnidesk(maildir, work)
    theirs = None if args.skip_notmuch else bench_notmuch(maildir, work)

    rate = ours["messages"] / ours["wall"]
    print(f"\nmachine: {os.cpu_count()} cores, load average {load_before:.1f} before / "
          f"{os.getloadavg()[0]:.1f} after")
    print(f"omnidesk import maildir: {ours['messages']:.0f} messages in {ours['wall']:.1f} s = "
          f"{rate:,.0f} msg/s "
          f"(CPU {ours['cpu']:.1f} s = {ours['cpu'] / ours['messages'] * 1000:.2f} ms/msg); "
          f"{ours['conversations']:.0f} conversations, {ours['quarantined']:.0f} quarantined")
    print(f"  re-run: imported {ours['rerun_imported']:.0f} in {ours['rerun_wall']:.1f} s")
    if theirs is not None:
        nrate = theirs["messages"] / theirs["wall"]
        print(f"notmuch new:             {theirs['messages']:.0f} messages in {theirs['wall']:.1f} s = "
              f"{nrate:,.0f} msg/s (CPU {theirs['cpu']:.1f} s = "
              f"{theirs['cpu'] / theirs['messages'] * 1000:.2f} ms/msg); {theirs['threads']:.0f} threads")
        verdict = "meets" if rate >= 2 * nrate else "MISSES"
        print(f"ratio: {rate / nrate:.2f}x notmuch by wall clock ({verdict} the 2x target); "
              f"{theirs['cpu'] / ours['cpu'] * 2:.2f}x by CPU on {os.cpu_count()} cores")
        same = "equal" if ours["conversations"] == theirs["threads"] else "DIFFERENT"
        print(f"conversations {ours['conversations']:.0f} vs notmuch threads {theirs['threads']:.0f}: {same}")
    source = f"--maildir {args.maildir}" if args.maildir else f"--messages {args.messages} --seed {args.seed}"
    print(f"\nreproduce: python bench/ingest.py {source}")


if __name__ == "__main__":
    main()
