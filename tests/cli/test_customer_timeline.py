"""`omnidesk customer show N --timeline`: the customer's whole story, table, plain or JSON."""

from __future__ import annotations

import json

from tests.cli.conftest import CliEnv, seed_emails


def _seed(env: CliEnv) -> int:
    """Éva mails twice (two conversations), then calls; the customer's id."""

    async def main(desk):
        from omnidesk.conversations import reads
        from omnidesk.services import services

        ids = await seed_emails(desk, [("eva@example.hu", "Számla", "Hol a számla?\nmásodik sor"),
                                       ("eva@example.hu", "\u202eevil\x1b[2J", "\x1b]0;pwned\x07hi")])
        cid = (await reads.get_conversation(desk, ids[0])).customer.id
        await services.log_call(desk, direction="in", duration_seconds=75, notes="visszahívtam",
                                customer_id=cid)
        return cid

    return env.run(main)


def test_timeline_json_has_every_entry_newest_last(cli_env: CliEnv) -> None:
    cid = _seed(cli_env)
    out = json.loads(cli_env.invoke("customer", "show", str(cid), "--timeline", "--json").stdout)
    timeline = out["timeline"]
    kinds = [e["kind"] for e in timeline]
    assert kinds.count("message") == 2 and kinds.count("call") == 1
    assert [e["at"] for e in timeline] == sorted(e["at"] for e in timeline)
    call = next(e for e in timeline if e["kind"] == "call")
    assert call["switched"] and call["switched_from"] == "support" and call["channel"] == "phone"
    assert call["message"]["text"] == "visszahívtam"
    assert next(e for e in timeline if e["kind"] == "event")["event"]["kind"] == "created"


def test_timeline_limit_and_all(cli_env: CliEnv) -> None:
    cid = _seed(cli_env)
    every = json.loads(cli_env.invoke("customer", "show", str(cid), "--timeline", "--all", "--json").stdout)
    two = json.loads(cli_env.invoke("customer", "show", str(cid), "--timeline", "-L", "2", "--json").stdout)
    assert [e["key"] for e in two["timeline"]] == [e["key"] for e in every["timeline"]][-2:]
    tty = cli_env.invoke("customer", "show", str(cid), "--timeline", "-L", "2",
                         env={"OMNIDESK_FORCE_TTY": "1"})
    assert "Showing the newest 2; use --limit N or --all for more." in tty.stderr


def test_timeline_piped_is_one_line_per_entry_and_the_table_is_inert(cli_env: CliEnv) -> None:
    cid = _seed(cli_env)
    piped = cli_env.invoke("customer", "show", str(cid), "--timeline")
    lines = piped.stdout.splitlines()
    every = json.loads(cli_env.invoke("customer", "show", str(cid), "--timeline", "--json").stdout)
    assert len(lines) == len(every["timeline"])
    assert "Hol a számla?\\nmásodik sor" in piped.stdout and "\x1b" not in piped.stdout
    table = cli_env.invoke("customer", "show", str(cid), "--timeline", env={"OMNIDESK_FORCE_TTY": "1"})
    assert "→ now on the phone (phone), was support" in table.stdout
    assert "Hol a számla?" in table.stdout and "második sor" not in table.stdout
    assert "\x1b" not in table.stdout and "\u202e" not in table.stdout and "\x07" not in table.stdout


def test_timeline_of_an_unknown_customer_is_one_line(cli_env: CliEnv) -> None:
    result = cli_env.invoke("customer", "show", "999", "--timeline")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == ["omnidesk: no such customer: 999"]
