"""`omnidesk customer identity add|remove` and `customer set`: one clear line when refused."""

from __future__ import annotations

import json

from tests.cli.conftest import CliEnv, seed_emails


def _customers(env: CliEnv) -> tuple[int, int]:
    async def main(desk):
        from omnidesk.conversations import reads

        ids = await seed_emails(desk, [("eva@example.hu", "Számla", "Hol?"), ("bob@example.com", "Hi", "x")])
        return tuple([(await reads.get_conversation(desk, i)).customer.id for i in ids])

    return env.run(main)


def test_identity_add_remove_and_their_refusals(cli_env: CliEnv) -> None:
    eva, bob = _customers(cli_env)
    added = cli_env.invoke("customer", "identity", "add", str(eva), "--phone", "+36 30 123 4567")
    assert added.exit_code == 0
    assert added.stdout.split("\t")[-1] == f"Added phone +36301234567 to customer {eva}\n"
    taken = cli_env.invoke("customer", "identity", "add", str(eva), "--email", "Bob@Example.com")
    assert taken.exit_code == 1
    assert taken.stderr.splitlines() == [
        f"omnidesk: email 'bob@example.com' belongs to customer {bob}",
        f"hint: if they are one person: omnidesk customer merge {bob} --into {eva}"]
    two = cli_env.invoke("customer", "identity", "add", str(eva), "--email", "a@x.hu", "--phone", "+3630")
    assert two.exit_code == 2 and "give exactly one of --email" in two.stderr
    bad = cli_env.invoke("customer", "identity", "add", str(eva), "--slack", "nobody")
    assert bad.exit_code == 1 and bad.stderr.startswith("omnidesk: not a Slack user: 'nobody'")
    removed = cli_env.invoke("customer", "identity", "remove", str(eva), "--email", "eva@example.hu")
    assert removed.exit_code == 0
    last = cli_env.invoke("customer", "identity", "remove", str(eva), "--phone", "+36301234567")
    assert last.exit_code == 1
    assert last.stderr.splitlines()[0] == (
        f"omnidesk: phone '+36301234567' is the only identity of customer {eva}:"
        " a customer keeps at least one")
    shown = json.loads(cli_env.invoke("customer", "show", str(eva), "--json").stdout)
    assert [(i["kind"], i["address"]) for i in shown["identities"]] == [("phone", "+36301234567")]


def test_set_and_its_validation(cli_env: CliEnv) -> None:
    eva, _ = _customers(cli_env)
    done = cli_env.invoke("customer", "set", str(eva), "--language", "hu", "--timezone", "Europe/Budapest",
                          "--tier", "gold", "--json")
    assert done.exit_code == 0 and len(json.loads(done.stdout)[0]["event_ids"]) == 3
    shown = json.loads(cli_env.invoke("customer", "show", str(eva), "--json").stdout)
    assert (shown["language"], shown["timezone"], shown["tier"]) == ("hu", "Europe/Budapest", "gold")
    for args, line in ((("--language", "xx-klingon"), "omnidesk: not a language code: 'xx-klingon'"),
                       (("--timezone", "Europe/Nowhere"), "omnidesk: not a time zone: 'Europe/Nowhere'")):
        result = cli_env.invoke("customer", "set", str(eva), *args)
        assert result.exit_code == 1 and len(result.stderr.splitlines()) == 1
        assert result.stderr.startswith(line)
    timeline = json.loads(cli_env.invoke("customer", "show", str(eva), "--timeline", "--json").stdout)
    sentences = [e["text"] for e in timeline["timeline"] if e["kind"] == "event"]
    assert "tester set tier gold" in sentences
