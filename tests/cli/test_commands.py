"""The CLI end to end through typer's runner: every command, on a real desk on disk."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from omnidesk.cli.records import CONVERSATION_FIELDS, OUTBOX_FIELDS
from tests.cli.conftest import CliEnv, seed_calls, seed_emails

PHONES = [("+36 30 123 4567", "Számlázási kérdés, ügyfélszolgálat"),
          ("+1 415 555 0100", "退款 refund please"),
          ("+98 912 345 6789", "سلام، سفارش من نرسیده است")]


@pytest.fixture
def seeded(cli_env: CliEnv) -> tuple[CliEnv, list[int]]:
    ids = cli_env.run(lambda desk: seed_calls(desk, PHONES))
    assert len(ids) == 3
    return cli_env, ids


def test_init_writes_a_private_config_and_creates_the_database(tmp_path: Path, cli_env: CliEnv) -> None:
    target = tmp_path / "fresh" / "omnidesk.toml"
    result = cli_env.invoke("--config", str(target), "init", "--data-dir", str(tmp_path / "fresh-data"),
                            "--agent", "ann", "--timezone", "Europe/Budapest")
    assert result.exit_code == 0, result.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    text = target.read_text("utf-8")
    assert 'name = "ann"' in text and "# " in text
    assert stat.S_IMODE((tmp_path / "fresh-data").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "fresh-data" / "omnidesk.db").stat().st_mode) == 0o600
    assert f"Wrote {target}" in result.stdout
    again = cli_env.invoke("--config", str(target), "init")
    assert again.exit_code == 1 and "already exists" in again.stderr and "--force" in again.stderr


def test_init_rejects_a_bad_timezone_without_writing(tmp_path: Path, cli_env: CliEnv) -> None:
    target = tmp_path / "x.toml"
    result = cli_env.invoke("--config", str(target), "init", "--timezone", "Mars/Base")
    assert result.exit_code == 1 and "time zone" in result.stderr
    assert not target.exists()


def test_list_json_on_an_empty_desk_is_an_empty_array(cli_env: CliEnv) -> None:
    result = cli_env.invoke("list", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "[]\n"


def test_list_json_schema_and_tsv_shape(seeded: tuple[CliEnv, list[int]]) -> None:
    env, ids = seeded
    result = env.invoke("list", "--json")
    rows = json.loads(result.stdout)
    assert [r["id"] for r in rows] == sorted(ids, reverse=True)  # newest activity first
    assert all(tuple(r) == CONVERSATION_FIELDS for r in rows)
    assert {r["customer_address"] for r in rows} == {"+36301234567", "+14155550100", "+989123456789"}
    assert all(r["last_activity_at"].endswith("Z") for r in rows)
    # Piped (no TTY): tab-separated, no header, every field, one line per conversation.
    tsv = env.invoke("list")
    lines = tsv.stdout.splitlines()
    assert len(lines) == 3
    assert all(len(line.split("\t")) == len(CONVERSATION_FIELDS) for line in lines)
    assert lines[0].split("\t")[0] == str(max(ids))
    nl = env.invoke("list", "--format", "nl")
    assert [json.loads(line)["id"] for line in nl.stdout.splitlines()] == [r["id"] for r in rows]
    csv_out = env.invoke("list", "-F", "csv")
    assert csv_out.stdout.splitlines()[0] == ",".join(CONVERSATION_FIELDS)


def test_list_query_and_limit(seeded: tuple[CliEnv, list[int]]) -> None:
    env, ids = seeded
    one = json.loads(env.invoke("list", "--json", "--limit", "1").stdout)
    assert [r["id"] for r in one] == [max(ids)]
    everything = json.loads(env.invoke("list", "--json", "--all").stdout)
    assert len(everything) == 3
    env.invoke("status", "resolved", str(ids[0]))
    open_rows = json.loads(env.invoke("list", "status:open", "--json").stdout)
    assert sorted(r["id"] for r in open_rows) == sorted(ids[1:])


def test_bad_query_exits_1_naming_the_token(seeded: tuple[CliEnv, list[int]]) -> None:
    env, _ = seeded
    result = env.invoke("list", "status:bogus", "--json")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "bogus" in result.stderr and result.stderr.count("\n") <= 2
    assert "Traceback" not in result.stderr


def test_table_on_a_terminal_shows_hash_ids_and_relative_times(seeded: tuple[CliEnv, list[int]]) -> None:
    env, ids = seeded
    result = env.invoke("list", env={"OMNIDESK_FORCE_TTY": "1"})
    assert result.exit_code == 0, result.stderr
    assert f"#{ids[0]}" in result.stdout
    assert "just now" in result.stdout or "minute" in result.stdout
    assert "\t" not in result.stdout


def test_show_json_plain_and_table(seeded: tuple[CliEnv, list[int]]) -> None:
    env, ids = seeded
    conv = json.loads(env.invoke("show", f"#{ids[1]}", "--json").stdout)
    assert conv["id"] == ids[1]
    assert conv["messages"][0]["text"].startswith("退款")
    assert conv["messages"][0]["channel_kind"] == "phone"
    assert conv["customer"]["identities"][0]["address"] == "+14155550100"
    plain = env.invoke("show", str(ids[1]))
    assert plain.exit_code == 0
    assert plain.stdout.startswith(f"id:\t{ids[1]}\n")
    assert "退款 refund please" in plain.stdout
    table = env.invoke("show", str(ids[2]), env={"OMNIDESK_FORCE_TTY": "1"})
    assert f"#{ids[2]}" in table.stdout and "سلام" in table.stdout
    rows = env.invoke("show", str(ids[2]), "--format", "tsv").stdout.splitlines()
    assert len(rows) == 1 and rows[0].split("\t")[2] == "in"


def test_show_missing_conversation_is_a_clean_error(cli_env: CliEnv) -> None:
    result = cli_env.invoke("show", "999")
    assert result.exit_code == 1
    assert "999" in result.stderr and "Traceback" not in result.stderr
    bad = cli_env.invoke("show", "abc")
    assert bad.exit_code == 2 and "not a conversation id" in bad.stderr


def test_search_finds_chinese_and_unaccented(seeded: tuple[CliEnv, list[int]]) -> None:
    env, ids = seeded
    hits = json.loads(env.invoke("search", "退款", "--json").stdout)
    assert [h["conversation_id"] for h in hits] == [ids[1]]
    assert set(hits[0]) >= {"message_id", "conversation_id", "snippet", "highlights", "rank", "sent_at"}
    hu = json.loads(env.invoke("search", "ugyfelszolgalat", "--json").stdout)
    assert [h["conversation_id"] for h in hu] == [ids[0]]
    table = env.invoke("search", "refund", env={"OMNIDESK_FORCE_TTY": "1"})
    assert f"#{ids[1]}" in table.stdout
    none = env.invoke("search", "zzzznothing", env={"OMNIDESK_FORCE_TTY": "1"})
    assert none.exit_code == 0 and "No messages match" in none.stderr


def test_assign_tag_priority_status_on_explicit_ids(seeded: tuple[CliEnv, list[int]]) -> None:
    env, ids = seeded
    a, b, _ = ids
    assert env.invoke("assign", "alice", str(a), f"#{b}").exit_code == 0
    assert env.invoke("tag", str(a), "--add", "billing", "--add", "hu").exit_code == 0
    assert env.invoke("priority", "urgent", str(a)).exit_code == 0
    result = env.invoke("status", "snoozed", str(b), "--until", "2d", "--json")
    assert result.exit_code == 0, result.stderr
    actions = json.loads(result.stdout)
    assert actions[0]["action"] == "status" and actions[0]["conversation_ids"] == [b]
    rows = {r["id"]: r for r in json.loads(env.invoke("list", "status:any", "--json").stdout)}
    assert rows[a]["assignee"] == "alice" and rows[b]["assignee"] == "alice"
    assert sorted(rows[a]["tags"]) == ["billing", "hu"] and rows[a]["priority"] == "urgent"
    assert rows[b]["status"] == "snoozed" and rows[b]["snoozed_until"] is not None
    assert env.invoke("tag", str(a), "--remove", "hu").exit_code == 0
    assert env.invoke("assign", "none", str(a)).exit_code == 0
    rows = {r["id"]: r for r in json.loads(env.invoke("list", "status:any", "--json").stdout)}
    assert rows[a]["tags"] == ["billing"] and rows[a]["assignee"] is None
    # Every change is in the timeline as an event by the acting agent.
    events = json.loads(env.invoke("show", str(a), "--json").stdout)["events"]
    assert {e["agent"] for e in events if e["kind"] != "created"} <= {"tester"}
    assert len(events) >= 5


def test_as_selects_the_agent_and_unknown_agent_is_an_error(seeded: tuple[CliEnv, list[int]]) -> None:
    env, ids = seeded
    assert env.invoke("--as", "bob", "assign", "me", str(ids[0])).exit_code == 0
    rows = {r["id"]: r for r in json.loads(env.invoke("list", "--json").stdout)}
    assert rows[ids[0]]["assignee"] == "bob"
    bad = env.invoke("--as", "mallory", "tag", str(ids[0]), "--add", "x")
    assert bad.exit_code == 1 and "mallory" in bad.stderr and "Traceback" not in bad.stderr


def test_mutating_without_a_known_agent_says_how_to_fix_it(seeded: tuple[CliEnv, list[int]]) -> None:
    env, ids = seeded
    result = env.invoke("tag", str(ids[0]), "--add", "x", env={"USER": "stranger", "LOGNAME": "stranger"})
    assert result.exit_code == 1
    assert "stranger" in result.stderr and "--as" in result.stderr
    # Reading still works for a login without an agent.
    assert env.invoke("list", "--json", env={"USER": "stranger", "LOGNAME": "stranger"}).exit_code == 0


def test_query_touching_several_without_tty_needs_yes(seeded: tuple[CliEnv, list[int]]) -> None:
    env, _ = seeded
    result = env.invoke("tag", "--query", "status:open", "--add", "bulk")
    assert result.exit_code == 1
    assert "3 conversations" in result.stderr and "--yes" in result.stderr
    rows = json.loads(env.invoke("list", "--json").stdout)
    assert all("bulk" not in r["tags"] for r in rows)  # nothing changed
    ok = env.invoke("tag", "--query", "status:open", "--add", "bulk", "--yes")
    assert ok.exit_code == 0, ok.stderr
    rows = json.loads(env.invoke("list", "--json").stdout)
    assert all("bulk" in r["tags"] for r in rows)


def test_query_touching_one_needs_no_yes(seeded: tuple[CliEnv, list[int]]) -> None:
    env, ids = seeded
    result = env.invoke("priority", "high", "--query", f"#{ids[0]}")
    assert result.exit_code == 0, result.stderr


def test_query_on_a_tty_previews_and_asks(seeded: tuple[CliEnv, list[int]]) -> None:
    env, ids = seeded
    tty = {"OMNIDESK_FORCE_TTY": "1"}
    no = env.invoke("status", "resolved", "--query", "status:open", input="n\n", env=tty)
    assert no.exit_code == 1 and "cancelled" in no.stderr
    assert "would change 3 conversations" in no.stderr
    assert all(f"#{i}" in no.stderr for i in ids)  # the preview lists them
    assert len(json.loads(env.invoke("list", "status:open", "--json").stdout)) == 3
    yes = env.invoke("status", "resolved", "--query", "status:open", input="y\n", env=tty)
    assert yes.exit_code == 0, yes.stderr
    assert json.loads(env.invoke("list", "status:open", "--json").stdout) == []


def test_ids_and_query_together_is_an_error(seeded: tuple[CliEnv, list[int]]) -> None:
    env, ids = seeded
    result = env.invoke("tag", str(ids[0]), "--query", "status:open", "--add", "x")
    assert result.exit_code == 1 and "not both" in result.stderr


def test_query_matching_nothing_is_an_error(seeded: tuple[CliEnv, list[int]]) -> None:
    env, _ = seeded
    result = env.invoke("tag", "--query", "tag:nonexistent", "--add", "x", "--yes")
    assert result.exit_code == 1 and "no conversation matches" in result.stderr


def test_usage_errors_exit_2(cli_env: CliEnv) -> None:
    assert cli_env.invoke("list", "--limit", "zero").exit_code == 2
    assert cli_env.invoke("frobnicate").exit_code == 2
    assert cli_env.invoke("status").exit_code == 2


def test_invalid_values_exit_1(seeded: tuple[CliEnv, list[int]]) -> None:
    env, ids = seeded
    assert "unknown status" in env.invoke("status", "closed", str(ids[0])).stderr
    assert "--until" in env.invoke("status", "snoozed", str(ids[0])).stderr
    assert "unknown priority" in env.invoke("priority", "meh", str(ids[0])).stderr
    assert "nothing to do" in env.invoke("tag", str(ids[0])).stderr
    assert "unknown format" in env.invoke("list", "--format", "xml").stderr
    past = env.invoke("status", "snoozed", str(ids[0]), "--until", "2001-01-01")
    assert past.exit_code == 1 and "past" in past.stderr


def test_note_from_text_file_and_stdin(seeded: tuple[CliEnv, list[int]], tmp_path: Path) -> None:
    env, ids = seeded
    cid = str(ids[0])
    assert env.invoke("note", cid, "--text", "first note").exit_code == 0
    assert env.invoke("note", cid, "a note as the last argument").exit_code == 0
    note_file = tmp_path / "note.txt"
    note_file.write_text("second note from a file\n", "utf-8")
    assert env.invoke("note", cid, "--file", str(note_file)).exit_code == 0
    assert env.invoke("note", cid, input="third note from stdin\n").exit_code == 0
    empty = env.invoke("note", cid, input="   \n")
    assert empty.exit_code == 1 and "empty" in empty.stderr
    texts = [m["text"] for m in json.loads(env.invoke("show", cid, "--json").stdout)["messages"]
             if m["direction"] == "note"]
    assert texts == ["first note", "a note as the last argument", "second note from a file",
                     "third note from stdin"]
    both = env.invoke("note", cid, "text", "--text", "more")
    assert both.exit_code == 1 and "not both" in both.stderr


@pytest.fixture
def email_conv(cli_env: CliEnv) -> tuple[CliEnv, list[int]]:
    ids = cli_env.run(lambda desk: seed_emails(desk, [
        ("adam@example.hu", "Számla hiányzik", "Jó napot! A számla hiányzik."),
        ("wang@example.cn", "退款申请", "我要退款"),
    ]))
    assert len(ids) == 2
    return cli_env, ids


def test_reply_queues_and_outbox_lists_and_cancels(email_conv: tuple[CliEnv, list[int]]) -> None:
    env, ids = email_conv
    result = env.invoke("reply", str(ids[0]), "Köszönjük, intézzük!", "--json")
    assert result.exit_code == 0, result.stderr
    (action,) = json.loads(result.stdout)
    message_id = action["message_id"]
    assert message_id is not None
    items = json.loads(env.invoke("outbox", "list", "--json").stdout)
    assert [i["message_id"] for i in items] == [message_id]
    assert tuple(items[0]) == OUTBOX_FIELDS and items[0]["state"] == "queued"
    cancel = env.invoke("outbox", "cancel", str(message_id))
    assert cancel.exit_code == 0, cancel.stderr
    assert json.loads(env.invoke("outbox", "list", "--json").stdout) == []
    again = env.invoke("outbox", "cancel", str(message_id))
    assert again.exit_code == 1 and "Traceback" not in again.stderr


def test_reply_without_any_text_source_and_no_tty_fails(email_conv: tuple[CliEnv, list[int]]) -> None:
    env, ids = email_conv
    result = env.invoke("reply", str(ids[0]), input="")
    assert result.exit_code == 1 and "empty" in result.stderr


def test_reply_after_another_agents_reply_asks_on_a_terminal_and_needs_force_in_a_script(
        email_conv: tuple[CliEnv, list[int]]) -> None:
    env, ids = email_conv
    cid = str(ids[0])
    assert env.invoke("--as", "bob", "reply", cid, "Bob válaszol").exit_code == 0

    def replies() -> list[str]:
        conv = json.loads(env.invoke("show", cid, "--json").stdout)
        return [m["text"].split("\n")[0] for m in conv["messages"] if m["direction"] == "out"]

    refused = env.process("reply", cid, "Én is válaszolok")  # a real process: no terminal
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr.splitlines() == [
        f"omnidesk: bob replied to #{cid} after you last read it; --force sends it anyway"
        " (required when not running interactively)"]
    assert replies() == ["Bob válaszol"]
    tty = {"OMNIDESK_FORCE_TTY": "1"}
    declined = env.invoke("reply", cid, "Mégsem", input="n\n", env=tty)
    assert declined.exit_code == 0 and "Send anyway?" in declined.stderr
    assert f"not sent to #{cid}" in declined.stderr
    assert replies() == ["Bob válaszol"]
    accepted = env.invoke("reply", cid, "Igen, küldöm", input="y\n", env=tty)
    assert accepted.exit_code == 0, accepted.stderr
    forced = env.invoke("reply", cid, "Erővel", "--force")
    assert forced.exit_code == 0, forced.stderr
    assert replies() == ["Bob válaszol", "Igen, küldöm", "Erővel"]


def test_merge_conversations(seeded: tuple[CliEnv, list[int]]) -> None:
    env, ids = seeded
    result = env.invoke("merge", str(ids[1]), "--into", str(ids[0]))
    assert result.exit_code == 0, result.stderr
    conv = json.loads(env.invoke("show", str(ids[0]), "--json").stdout)
    assert len([m for m in conv["messages"] if m["direction"] == "in"]) == 2
    listed = [r["id"] for r in json.loads(env.invoke("list", "--json").stdout)]
    assert ids[1] not in listed  # merged-away conversations leave the default list


def test_customer_list_show_merge_unmerge(seeded: tuple[CliEnv, list[int]]) -> None:
    env, ids = seeded
    customers = json.loads(env.invoke("customer", "list", "--json").stdout)
    assert len(customers) == 3
    by_phone = {c["identities"][0]["address"]: c for c in customers}
    hu = by_phone["+36301234567"]["id"]
    us = by_phone["+14155550100"]["id"]
    shown = json.loads(env.invoke("customer", "show", str(hu), "--json").stdout)
    assert [c["id"] for c in shown["conversations"]] == [ids[0]]
    tsv = env.invoke("customer", "list").stdout.splitlines()
    assert any("phone:+36301234567" in line for line in tsv)
    assert env.invoke("customer", "merge", str(us), "--into", str(hu)).exit_code == 0
    merged = json.loads(env.invoke("customer", "show", str(hu), "--json").stdout)
    assert {i["address"] for i in merged["identities"]} == {"+36301234567", "+14155550100"}
    assert env.invoke("customer", "unmerge", str(hu)).exit_code == 0
    back = json.loads(env.invoke("customer", "show", str(hu), "--json").stdout)
    assert {i["address"] for i in back["identities"]} == {"+36301234567"}
    table = env.invoke("customer", "show", str(hu), env={"OMNIDESK_FORCE_TTY": "1"})
    assert "+36301234567" in table.stdout and f"#{ids[0]}" in table.stdout


def test_call_log(cli_env: CliEnv) -> None:
    result = cli_env.invoke("call", "log", "--phone", "+36 1 234 5678", "--duration", "4:30",
                            "--direction", "out", "-m", "called back about the invoice", "--json")
    assert result.exit_code == 0, result.stderr
    (action,) = json.loads(result.stdout)
    conv = json.loads(cli_env.invoke("show", str(action["conversation_ids"][0]), "--json").stdout)
    (message,) = conv["messages"]
    assert message["channel_kind"] == "phone" and message["direction"] == "out"
    assert message["meta"]["duration_seconds"] == 270
    bad = cli_env.invoke("call", "log", "--duration", "4:30", "-m", "x")
    assert bad.exit_code == 1 and "who called" in bad.stderr
    bad_phone = cli_env.invoke("call", "log", "--phone", "not a number", "-m", "x")
    assert bad_phone.exit_code == 1 and "Traceback" not in bad_phone.stderr


def test_agent_add_and_list(cli_env: CliEnv) -> None:
    result = cli_env.invoke("agent", "add", "dora", "--display-name", "Dóra", "--skill", "hu",
                            "--os-user", "dora")
    assert result.exit_code == 0, result.stderr
    agents = json.loads(cli_env.invoke("agent", "list", "--json").stdout)
    assert {a["name"] for a in agents} == {"tester", "alice", "bob", "dora"}
    dora = next(a for a in agents if a["name"] == "dora")
    assert dora["skills"] == ["hu"] and dora["display_name"] == "Dóra"
    dup = cli_env.invoke("agent", "add", "dora")
    assert dup.exit_code == 1 and "Traceback" not in dup.stderr


def test_agent_add_with_chat_identities(cli_env: CliEnv) -> None:
    added = cli_env.invoke("agent", "add", "erin", "--email", "Erin@Acme.Example",
                           "--slack", "u0123@t0team01", "--telegram", "5550001", "--telegram", "5550002",
                           "--json")
    assert added.exit_code == 0, added.stderr
    [erin] = json.loads(added.stdout)
    assert erin["identities"] == ["email:erin@acme.example", "slack:U0123@T0TEAM01",
                                  "telegram:5550001", "telegram:5550002"]
    taken = cli_env.invoke("agent", "add", "fay", "--telegram", "5550001")
    assert taken.exit_code == 1 and "already agent 'erin'" in taken.stderr
    bad = cli_env.invoke("agent", "add", "gus", "--slack", "U0123")
    assert bad.exit_code == 1 and "not a Slack user" in bad.stderr and "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def test_doctor_reports_ok_and_fails_on_a_bad_config(cli_env: CliEnv, tmp_path: Path) -> None:
    ok = cli_env.invoke("doctor", "--json")
    assert ok.exit_code == 0, ok.stdout + ok.stderr
    checks = {c["check"]: c for c in json.loads(ok.stdout)}
    assert checks["config"]["status"] == "ok" and checks["database"]["status"] == "ok"
    assert checks["agent"]["detail"] == "acting as tester"
    bad = tmp_path / "bad.toml"
    bad.write_text("[desk]\nundo_secs = 3\n")
    failed = cli_env.invoke("--config", str(bad), "doctor", "--json")
    assert failed.exit_code == 1
    (check,) = json.loads(failed.stdout)
    assert check["status"] == "fail" and "desk.undo_secs" in check["detail"]


def test_doctor_warns_when_others_can_read_the_data(cli_env: CliEnv) -> None:
    fresh = cli_env.invoke("doctor", "--json")
    assert fresh.exit_code == 0 and "file permissions" not in fresh.stdout  # made private from the start
    db = cli_env.data_dir / "omnidesk.db"
    cli_env.data_dir.chmod(0o755)
    db.chmod(0o644)
    result = cli_env.invoke("doctor", "--json")
    assert result.exit_code == 0, result.stdout + result.stderr  # a warning, not a failure
    warned = [c["detail"] for c in json.loads(result.stdout) if c["check"] == "file permissions"]
    files = (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm"))
    assert warned == [
        f"data directory {cli_env.data_dir} is open to group/others (mode 0755): customer data is "
        f"readable; run: chmod 700 {cli_env.data_dir}",
        *(f"database file {f} is open to group/others (mode 0644): customer data is readable; "
          f"run: chmod 600 {f}" for f in files),
    ]  # SQLite makes -wal and -shm (while doctor reads) with the database's own mode


def test_doctor_flags_missing_password_env(cli_env: CliEnv) -> None:
    text = cli_env.config.read_text("utf-8") + (
        '\n[channels.mail]\nkind = "email"\naddress = "s@x.test"\nimap_host = "localhost"\n'
        'password_env = "OMNIDESK_TEST_NO_SUCH_VAR"\n')
    cli_env.config.write_text(text, "utf-8")
    result = cli_env.invoke("doctor", "--json")
    assert result.exit_code == 1
    checks = {c["check"]: c for c in json.loads(result.stdout)}
    assert checks["secret mail"]["status"] == "fail"
    assert "OMNIDESK_TEST_NO_SUCH_VAR" in checks["secret mail"]["detail"]
    assert checks["channel mail"]["status"] == "warn"  # configured, never synced


def test_config_error_is_one_line_exit_1(cli_env: CliEnv, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[[agents]]\nname = 5\n")
    result = cli_env.invoke("--config", str(bad), "list", "--json")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == f"omnidesk: {bad}: agents[0].name: expected a string, got integer 5\n"


def test_missing_explicit_config_is_an_error(cli_env: CliEnv, tmp_path: Path) -> None:
    result = cli_env.invoke("--config", str(tmp_path / "nope.toml"), "list")
    assert result.exit_code == 1
    assert "config file not found" in result.stderr and "omnidesk init" in result.stderr


def test_no_config_anywhere_uses_defaults(cli_env: CliEnv, tmp_path: Path) -> None:
    env = {"OMNIDESK_CONFIG": ""}
    result = cli_env.invoke("list", "--json", env=env)
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "xdg-data" / "omnidesk" / "omnidesk.db").exists()


def test_help_for_every_command(cli_env: CliEnv) -> None:
    import typer.main

    from omnidesk.cli.app import build_app

    group = typer.main.get_command(build_app())
    names = list(group.commands)  # type: ignore[attr-defined]
    for expected in ("init", "list", "show", "search", "assign", "tag", "status", "priority", "note", "reply",
                     "merge", "customer", "call", "agent", "outbox", "doctor"):
        assert expected in names
    for name in names:
        result = cli_env.invoke(name, "--help")
        assert result.exit_code == 0, name
        assert "Usage" in result.stdout
    for sub in (("customer", "merge"), ("customer", "unmerge"), ("customer", "list"), ("customer", "show"),
                ("call", "log"), ("agent", "add"), ("outbox", "retry"), ("outbox", "cancel")):
        assert cli_env.invoke(*sub, "--help").exit_code == 0


def test_reply_to_a_query_of_several_needs_yes_then_queues_each(email_conv: tuple[CliEnv, list[int]]) -> None:
    env, ids = email_conv
    refused = env.invoke("reply", "--query", "channel:support", "--text", "Outage fixed.")
    assert refused.exit_code == 1 and "--yes is required" in refused.stderr
    assert json.loads(env.invoke("outbox", "list", "--json").stdout) == []
    done = env.invoke("reply", "--query", "channel:support", "--text", "Outage fixed.", "--yes", "--json")
    assert done.exit_code == 0, done.stderr
    assert sorted(a["conversation_ids"][0] for a in json.loads(done.stdout)) == sorted(ids)
    assert len(json.loads(env.invoke("outbox", "list", "--json").stdout)) == 2


def test_email_list_show_and_search(email_conv: tuple[CliEnv, list[int]]) -> None:
    env, ids = email_conv
    rows = {r["id"]: r for r in json.loads(env.invoke("list", "channel:support", "--json").stdout)}
    assert rows[ids[0]]["subject"] == "Számla hiányzik" and rows[ids[0]]["channel"] == "support"
    assert rows[ids[0]]["customer_address"] == "adam@example.hu"
    hits = json.loads(env.invoke("search", "退款", "--json").stdout)
    assert {h["conversation_id"] for h in hits} == {ids[1]}
    plain = env.invoke("show", str(ids[0])).stdout
    assert "subject:\tSzámla hiányzik" in plain and "adam@example.hu" in plain


def test_failed_reply_shows_in_outbox_and_doctor_then_retry(email_conv: tuple[CliEnv, list[int]]) -> None:
    """The dispatcher's permanent failure (through its store calls) as the CLI reports it."""
    from omnidesk.store import outbox as store_outbox
    from omnidesk.timeutil import now_ms

    env, ids = email_conv
    (action,) = json.loads(env.invoke("reply", str(ids[0]), "Hello", "--json").stdout)

    async def fail_it(desk: object) -> None:
        later = now_ms() + 3_600_000  # past the undo window
        (claimed,) = await store_outbox.claim_due(desk.db, owner="test", now=later, lease_ms=60_000)  # type: ignore[attr-defined]
        await store_outbox.mark_failed(desk.db, claimed.id, owner="test",  # type: ignore[attr-defined]
                                       error="550 5.1.1 mailbox unavailable", now=later)

    env.run(fail_it)
    (item,) = json.loads(env.invoke("outbox", "list", "--json").stdout)
    assert item["message_id"] == action["message_id"]
    assert item["state"] == "failed" and "550" in item["last_error"]
    checks = {c["check"]: c for c in json.loads(env.invoke("doctor", "--json").stdout)}
    assert checks["outbox"]["status"] == "warn" and "1 failed" in checks["outbox"]["detail"]
    retried = env.invoke("outbox", "retry", str(action["message_id"]))
    assert retried.exit_code == 0, retried.stderr
    (item,) = json.loads(env.invoke("outbox", "list", "--json").stdout)
    assert item["state"] == "queued"
    bad = env.invoke("outbox", "retry", "abc")
    assert bad.exit_code == 2 and "not a message id" in bad.stderr


def test_customer_list_filters_by_text(seeded: tuple[CliEnv, list[int]]) -> None:
    env, _ = seeded
    found = json.loads(env.invoke("customer", "list", "+3630", "--json").stdout)
    assert [c["identities"][0]["address"] for c in found] == ["+36301234567"]
    none = env.invoke("customer", "list", "zzz-nobody", env={"OMNIDESK_FORCE_TTY": "1"})
    assert none.exit_code == 0 and "No customers match" in none.stderr


def test_init_without_config_option_uses_xdg_config_home(cli_env: CliEnv, tmp_path: Path) -> None:
    env = {"OMNIDESK_CONFIG": ""}
    result = cli_env.invoke("init", "--data-dir", str(tmp_path / "xdg-desk"), env=env)
    assert result.exit_code == 0, result.stderr
    written = tmp_path / "xdg-config" / "omnidesk" / "config.toml"
    assert written.exists()
    # ...and is then found without being named.
    doctor = json.loads(cli_env.invoke("doctor", "--json", env=env).stdout)
    assert doctor[0]["detail"].startswith(str(written))


def test_doctor_warns_about_a_readable_password_file(cli_env: CliEnv) -> None:
    text = cli_env.config.read_text("utf-8") + (
        '\n[channels.mail]\nkind = "email"\naddress = "s@x.test"\nimap_host = "localhost"\n'
        'password = "hunter2"\n')
    cli_env.config.write_text(text, "utf-8")
    cli_env.config.chmod(0o644)
    result = cli_env.invoke("doctor", "--json")
    checks = {c["check"]: c for c in json.loads(result.stdout)}
    assert checks["config permissions"]["status"] == "warn"
    assert "chmod 600" in checks["config permissions"]["detail"]
    assert "hunter2" not in result.stdout + result.stderr
    # Every other command warns on stderr too, once, and still works.
    listed = cli_env.invoke("list", "--json")
    assert listed.exit_code == 0 and listed.stderr.count("warning:") == 1 and "hunter2" not in listed.stderr
