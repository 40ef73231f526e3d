"""`omnidesk rules check|test`, `agent away`, `assign --auto`, and routing from `sync --once`."""

from __future__ import annotations

import sqlite3

from tests.cli.conftest import CliEnv, seed_emails

RULES = """
[[rules]]
name = "Hungarian billing"
when = { query = "számla OR invoice" }
then = { assign = "alice", tag = "billing", priority = "high" }

[[rules]]
name = "Everyone else"
then = { strategy = "round-robin" }
"""


def _rules(cli_env: CliEnv, text: str = RULES) -> None:
    (cli_env.config.parent / "rules.toml").write_text(text, encoding="utf-8")


def _db(cli_env: CliEnv) -> sqlite3.Connection:
    return sqlite3.connect(cli_env.data_dir / "omnidesk.db")


def test_check_counts_rules_and_names_a_mistake(cli_env: CliEnv) -> None:
    _rules(cli_env)
    done = cli_env.process("rules", "check")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("rules.toml: 2 rules, ok")
    bad = cli_env.tmp / "bad.toml"
    bad.write_text('[[rules]]\nname = "Ünnep"\nthen = { assign = "zoltán" }\n', encoding="utf-8")
    done = cli_env.process("rules", "check", str(bad))
    assert done.returncode == 1
    first = done.stderr.splitlines()[0]
    assert first.startswith(f"omnidesk: {bad}:3: rule 'Ünnep': then.assign: unknown agent 'zoltán'"), first
    assert "Traceback" not in done.stderr


def test_rules_test_shows_why_and_changes_nothing(cli_env: CliEnv) -> None:
    _rules(cli_env)
    ids = cli_env.run(lambda desk: seed_emails(desk, [("ann@example.hu", "Számla", "hol a számla?"),
                                                       ("wei@example.cn", "退款", "我要退款")]))
    c = _db(cli_env)
    before = (c.execute("SELECT * FROM conversations").fetchall(), c.execute("SELECT count(*) FROM events")
              .fetchone(), c.execute("SELECT count(*) FROM pending_routing").fetchone())
    c.close()
    done = cli_env.process("rules", "test", "--conversation", str(ids[0]))
    assert done.returncode == 0, done.stderr
    assert "fires Hungarian billing: query 'számla OR invoice' matches -> assign to alice" in done.stdout
    done = cli_env.process("rules", "test", "--conversation", str(ids[1]))
    assert "fires Everyone else: no conditions -> assign by round-robin" in done.stdout
    assert "(1 other rule does not fire; -v says why)" in done.stdout
    done = cli_env.process("rules", "test", "-v", "--conversation", str(ids[1]))
    assert "no    Hungarian billing: query 'számla OR invoice' does not match" in done.stdout
    done = cli_env.process("rules", "test", "--query", "status:open", "--json")
    assert done.returncode == 0, done.stderr
    eml = cli_env.tmp / "mail.eml"
    eml.write_bytes("From: Dániel <d@example.hu>\r\nTo: support@acme.test\r\nSubject: invoice\r\n"
                    "Message-ID: <new@example.hu>\r\n\r\nkérem\r\n".encode())
    done = cli_env.process("rules", "test", str(eml))
    assert done.returncode == 0, done.stderr
    assert "the message" not in done.stdout and "on new_conversation" in done.stdout
    assert "fires Hungarian billing" in done.stdout
    c = _db(cli_env)
    after = (c.execute("SELECT * FROM conversations").fetchall(), c.execute("SELECT count(*) FROM events")
             .fetchone(), c.execute("SELECT count(*) FROM pending_routing").fetchone())
    c.close()
    assert after == before


def test_sync_once_routes_pending_and_away_is_skipped(cli_env: CliEnv) -> None:
    _rules(cli_env, '[[rules]]\nname = "rr"\nthen = { strategy = "round-robin" }\n')
    assert cli_env.process("agent", "away", "bob").stdout.strip() == "bob is away"
    assert cli_env.process("agent", "away", "tester").returncode == 0
    cli_env.run(lambda desk: seed_emails(desk, [(f"c{i}@example.com", "hi", "hello") for i in range(3)]))
    for sub in ("cur", "new", "tmp"):
        (cli_env.tmp / "Maildir" / sub).mkdir(parents=True)
    done = cli_env.process("sync", "--once")
    assert done.returncode == 0, done.stderr
    c = _db(cli_env)
    names = {r[0] for r in c.execute("SELECT a.name FROM conversations c JOIN agents a"
                                     " ON a.id = c.assignee_id")}
    assert names == {"alice"}
    assert c.execute("SELECT count(*) FROM pending_routing").fetchone() == (0,)
    c.close()
    assert cli_env.process("agent", "away", "bob", "--back").stdout.strip() == "bob is back"


def test_assign_auto(cli_env: CliEnv) -> None:
    mails = [(f"c{i}@example.com", "hi", "hello") for i in range(4)]
    ids = cli_env.run(lambda desk: seed_emails(desk, mails))
    done = cli_env.process("assign", "--auto", "--strategy", "round-robin", "--query", "is:unassigned",
                           "--yes")
    assert done.returncode == 0, done.stderr
    c = _db(cli_env)
    counts = dict(c.execute("SELECT a.name, count(*) FROM conversations c JOIN agents a"
                            " ON a.id = c.assignee_id GROUP BY a.name"))
    c.close()
    assert sum(counts.values()) == len(ids) and max(counts.values()) - min(counts.values()) <= 1
    done = cli_env.process("assign", "--auto", "--strategy", "nearest", str(ids[0]))
    assert done.returncode == 2 and "round-robin, least-open, skills" in done.stderr


def test_doctor_checks_the_rules_file(cli_env: CliEnv) -> None:
    _rules(cli_env)
    done = cli_env.process("doctor", "--json")
    assert '"check": "rules"' in done.stdout and "2 rules" in done.stdout
    _rules(cli_env, '[[rules]]\nname = "VIP"\nwhen = { query = "tga:x" }\nthen = { tag = "x" }\n')
    done = cli_env.process("doctor")
    assert done.returncode == 1
    assert "rules.toml:3: rule 'VIP': when.query: bad query at column 1: unknown field" in done.stdout
