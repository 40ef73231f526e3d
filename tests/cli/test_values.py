"""Absurd values, typed or already stored, end in one clear line or are shown clamped: never a traceback."""

from __future__ import annotations

import sqlite3

import pytest

from tests.cli.conftest import CliEnv, seed_calls, seed_emails

FORMATS = (("--json",), ("--format", "tsv"), ("--format", "csv"), ("--format", "nl"), ("--format", "table"))
STORED = (2**62, -(2**62), 2**63 - 1, -(2**63), 0)


def _one_line_error(result: object, code: int = 1) -> str:
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)  # type: ignore[attr-defined]
    err = result.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in err and err.startswith("omnidesk: ") and err.count("\n") == 1, err
    return err


@pytest.fixture
def one_call(cli_env: CliEnv) -> CliEnv:
    (cid,) = cli_env.run(lambda desk: seed_calls(desk, [("+36 30 123 4567", "Árvíztűrő tükörfúrógép")]))
    assert cid == 1
    return cli_env


@pytest.mark.parametrize("until", ["99999999999d", "99999999999999d", "9" * 5000 + "d", "3653d",
                                   "9999-12-31", "9999-12-31T23:59:59+14:00", "2040-01-01"])
def test_a_snooze_past_ten_years_is_one_line_and_stores_nothing(one_call: CliEnv, until: str) -> None:
    err = _one_line_error(one_call.invoke("status", "snoozed", "1", "--until", until))
    assert "too far ahead" in err and "10 years" in err
    assert one_call.invoke("show", "1", "--json").stdout.count('"snoozed_until": null') == 1


def test_a_snooze_within_ten_years_is_kept(one_call: CliEnv) -> None:
    assert one_call.invoke("status", "snoozed", "1", "--until", "3650d").exit_code == 0
    assert '"status": "snoozed"' in one_call.invoke("show", "1", "--json").stdout


@pytest.mark.parametrize("stored", STORED)
def test_every_reader_survives_any_stored_time(one_call: CliEnv, stored: int) -> None:
    db = sqlite3.connect(one_call.data_dir / "omnidesk.db")
    with db:
        db.execute("UPDATE conversations SET status = 'snoozed', snoozed_until = ?, last_activity_at = ?, "
                   "created_at = ?, sla_due_at = ?, last_inbound_at = ?", (stored,) * 5)
        db.execute("UPDATE messages SET sent_at = ?, received_at = ?", (stored, stored))
        db.execute("UPDATE events SET created_at = ?", (stored,))
    db.close()
    for command in (("list", "--all"), ("list", "status:snoozed"), ("show", "1"), ("search", "tükörfúrógép"),
                    ("customer", "show", "1")):
        for fmt in FORMATS:
            result = one_call.invoke(*command, *fmt)
            assert result.exit_code == 0, (command, fmt, result.stderr)
            assert "Traceback" not in result.stderr
    shown = one_call.invoke("show", "1", "--json").stdout
    assert ("9999-12-30T23:59:59Z" if stored > 0 else "1970-01-01T00:00:00Z" if stored == 0
            else "0001-01-02T00:00:00Z") in shown


def test_time_conversions_clamp_instead_of_raising() -> None:
    from datetime import UTC
    from zoneinfo import ZoneInfo

    from omnidesk.cli.output import human_value, relative_time
    from omnidesk.conversations.eventtext import _when
    from omnidesk.timeutil import MAX_MS, MIN_MS, from_ms, iso, local
    from omnidesk.tui.textfmt import clock, offset_clock, relative

    for ms in (*STORED, 10**30, -(10**30), float("inf")):
        assert MIN_MS <= local(ms, UTC).timestamp() * 1000 <= MAX_MS
        assert iso(ms) is not None and from_ms(ms, 14 * 60) and from_ms(ms, -14 * 60)
        assert clock(ms, ZoneInfo("Pacific/Kiritimati")) and offset_clock(ms, -720)
        assert _when(ms, ZoneInfo("Asia/Tehran")) and relative(ms, 0)
        if ms not in (0, float("inf")):
            assert relative_time(ms, 0) in ("9999-12-30", "1-01-02")  # a date, not "in 146 million years"
        assert human_value(iso(ms), "time", 1_795_176_000_000)


def test_the_console_snooze_is_bounded_too() -> None:
    from datetime import UTC, datetime

    from omnidesk.errors import UserError
    from omnidesk.tui.when import parse_when

    now = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    assert parse_when("520w", now, UTC).year == 2036
    for text in ("99999999999999d", "9" * 5000 + "w", "9999-12-31 23:59", "2037-01-01"):
        with pytest.raises(UserError, match="too far ahead"):
            parse_when(text, now, UTC)


BIG = str(2**63)
ID_COMMANDS = (
    ("show", BIG), ("show", f"#{BIG}"), ("tag", BIG, "--add", "x"), ("assign", "me", BIG),
    ("status", "open", BIG), ("priority", "high", BIG), ("note", BIG, "called"), ("reply", BIG, "Thanks"),
    ("merge", BIG, "--into", "1"), ("merge", "1", "--into", BIG),
    ("customer", "show", BIG), ("customer", "merge", BIG, "--into", "1"),
    ("customer", "merge", "1", "--into", BIG),
    ("customer", "unmerge", BIG), ("outbox", "cancel", BIG), ("outbox", "retry", "1", BIG),
    ("call", "log", "--customer", BIG), ("call", "log", "--conversation", BIG, "--duration", "1m"),
    ("search", "refund", "--limit", BIG), ("list", "--limit", BIG), ("customer", "list", "--limit", BIG),
    ("show", "9" * 5000), ("show", "0"), ("outbox", "cancel", "0" * 5000 + "1" + "0" * 19),
)


@pytest.mark.parametrize("args", ID_COMMANDS, ids=lambda a: " ".join(a)[:40])
def test_an_id_or_limit_past_sqlite_integers_is_a_usage_error(one_call: CliEnv, args: tuple[str, ...]
                                                              ) -> None:
    err = _one_line_error(one_call.invoke(*args), code=2)
    assert "range" in err and ("id" in err or "--limit" in err)


@pytest.mark.parametrize("query", [f"customer:{BIG}", f"#{BIG}", "customer:" + "9" * 5000,
                                   "#" + "0" * 5000 + "1"])
def test_ids_inside_a_query_are_bounded_too(one_call: CliEnv, query: str) -> None:
    if query.startswith("#0"):  # leading zeros are still the number 1
        assert one_call.invoke("list", query, "--json").exit_code == 0
        return
    for command in ("list", "search"):
        err = _one_line_error(one_call.invoke(command, query))
        assert "too large" in err and query[:20] in err


def test_the_largest_id_is_accepted_and_simply_not_found(one_call: CliEnv) -> None:
    biggest = str(2**63 - 1)
    err = _one_line_error(one_call.invoke("show", biggest))
    assert biggest in err and "out of range" not in err
    assert one_call.invoke("list", f"customer:{biggest}", "--json").stdout == "[]\n"


@pytest.mark.parametrize(("args", "hint"), [(("tui",), "ssh -t"), (("demo",), "--headless"),
                                            ((), "commands")])
def test_the_console_refuses_to_start_without_a_terminal(cli_env: CliEnv, args: tuple[str, ...],
                                                         hint: str) -> None:
    # A real process, stdin and stdout on pipes, nothing forced: as cron or `ssh host omnidesk tui` runs it.
    done = cli_env.process(*args, env={"OMNIDESK_FORCE_TTY": "", "TMPDIR": str(cli_env.tmp)}, timeout=30)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("omnidesk: no terminal for the") and hint in lines[0]
    assert "\x1b" not in done.stderr + done.stdout  # nothing painted
    assert not list(cli_env.tmp.glob("omnidesk-demo-*"))


@pytest.fixture
def one_mail(cli_env: CliEnv) -> CliEnv:
    (cid,) = cli_env.run(lambda desk: seed_emails(desk, [("ann@example.com", "Számla", "Hol a számlám?")]))
    assert cid == 1
    return cli_env


@pytest.mark.parametrize("to", ["a@b@c", "x@-.com", "x@y", "ann@", "@example.com", "a..b@example.com",
                                "ann@exa_mple.com", "Ann <ann@example.com>",
                                "ann@example.com, bob@example.com",
                                "ann@[999.0.0.1]", "ann@example.com\u202e"])
def test_reply_to_a_malformed_address_is_refused_naming_it(one_mail: CliEnv, to: str) -> None:
    err = _one_line_error(one_mail.invoke("reply", "1", "Thanks", "--to", to))
    assert "not an email address" in err and to[:8] in err
    assert one_mail.invoke("outbox", "list", "--json").stdout == "[]\n"


@pytest.mark.parametrize("option", ["--cc", "--bcc"])
@pytest.mark.parametrize("copy", ["a@b@c", "x@-.com", "x@y", "Bob <bob@localhost>"])
def test_a_malformed_copy_address_is_refused_too(one_mail: CliEnv, option: str, copy: str) -> None:
    err = _one_line_error(one_mail.invoke("reply", "1", "Thanks", option, copy))
    assert "not an email address" in err and copy.split("<")[-1].rstrip(">")[:8] in err
    assert one_mail.invoke("outbox", "list", "--json").stdout == "[]\n"


@pytest.mark.parametrize("to", ["ann.lee+billing@example.com", "kovács.dániel@példa.hu", "zahra@مثال.ایران",
                                "ops@[192.0.2.1]", "ANN@Example.COM"])
def test_reply_to_a_well_formed_address_is_queued(one_mail: CliEnv, to: str) -> None:
    result = one_mail.invoke("reply", "1", "Thanks", "--to", to)
    assert result.exit_code == 0, result.stderr
    assert to.lower() in one_mail.invoke("outbox", "list", "--json").stdout


@pytest.mark.parametrize("group", ["customer", "outbox", "call"])
def test_a_command_group_alone_prints_its_help(cli_env: CliEnv, group: str) -> None:
    result = cli_env.invoke(group)
    assert result.exit_code == 2 and "Usage" in result.stdout and result.stderr == ""
