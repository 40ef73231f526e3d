"""`omnidesk macro list|show|apply|lint` on a desk with the example macros and a broken one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.cli.conftest import REPO, CliEnv, seed_emails

MAILS = [
    ("anna@example.hu", "Visszatérítés", "Szeretném visszakapni a pénzem."),
    ("ben@example.com", "Refund", "I want my money back."),
    ("chen@example.cn", "退款", "我要退款。"),
]


@pytest.fixture
def desk(cli_env: CliEnv) -> tuple[CliEnv, list[int]]:
    shutil.copytree(REPO / "config" / "macros", cli_env.tmp / "macros")
    ids = cli_env.run(lambda d: seed_emails(d, MAILS))

    async def hungarian(d):  # type: ignore[no-untyped-def]
        async with d.db.write() as conn:  # what language detection would store
            await conn.execute("UPDATE customers SET name = 'Kovács Anna', language = 'hu' WHERE id = "
                               "(SELECT customer_id FROM conversations WHERE id = ?)", (ids[0],))

    cli_env.run(hungarian)
    return cli_env, ids


def test_list_and_show(desk: tuple[CliEnv, list[int]]) -> None:
    env, _ = desk
    listed = env.invoke("macro", "list", "--json")
    assert listed.exit_code == 0
    rows = {r["name"]: r for r in json.loads(listed.stdout)}
    assert set(rows) == {"refund-received", "resolved-thanks", "shipping-delay"}
    assert rows["refund-received"]["actions"] == ["+refund", "-triage", "status pending"]
    assert rows["refund-received"]["variants"] == ["email", "chat", "sms"]
    shown = env.invoke("macro", "show", "refund-received")
    assert shown.exit_code == 0
    assert "actions: +refund, -triage, status pending" in shown.stdout and "[text.sms.hu]" in shown.stdout
    missing = env.invoke("macro", "show", "refnud")
    assert missing.exit_code == 1
    assert missing.stderr.splitlines() == [
        "omnidesk: no macro called 'refnud'",
        "hint: known macros: refund-received, resolved-thanks, shipping-delay",
    ]


def test_apply_one_renders_in_the_customers_language_and_applies_the_actions(
        desk: tuple[CliEnv, list[int]]) -> None:
    env, ids = desk
    done = env.invoke("macro", "apply", "refund-received", f"#{ids[0]}", "--json")
    assert done.exit_code == 0, done.stderr
    [record] = json.loads(done.stdout)
    assert record["conversation_ids"] == [ids[0]]
    assert "with +refund, -triage, status pending" in record["description"]
    shown = env.invoke("show", str(ids[0]), "--json")
    conv = json.loads(shown.stdout)
    assert conv["status"] == "pending" and conv["tags"] == ["refund"]
    out = [m for m in conv["messages"] if m["direction"] == "out"]
    assert out[-1]["text"].startswith(f"Kedves Kovács Anna!\n\nKöszönjük, hogy írt nekünk (#{ids[0]}).")


def test_bulk_apply_needs_confirmation_and_renders_everything_first(desk: tuple[CliEnv, list[int]]) -> None:
    env, ids = desk
    refused = env.invoke("macro", "apply", "shipping-delay", "status:open")
    assert refused.exit_code == 1 and "--yes is required" in refused.stderr
    tty = {"OMNIDESK_FORCE_TTY": "1"}
    declined = env.invoke("macro", "apply", "shipping-delay", "status:open", input="n\n", env=tty)
    assert declined.exit_code == 1 and "cancelled; nothing changed" in declined.stderr
    assert f"#{ids[0]} via support to anna@example.hu (email, hu): Kedves Kovács Anna!" in declined.stderr
    assert json.loads(env.invoke("outbox", "list", "--json").stdout) == []
    done = env.invoke("macro", "apply", "shipping-delay", "status:open", "--yes", "--json")
    assert done.exit_code == 0, done.stderr
    assert sorted(r["conversation_ids"][0] for r in json.loads(done.stdout)) == sorted(ids)
    assert len(json.loads(env.invoke("outbox", "list", "--json").stdout)) == 3
    snoozed = json.loads(env.invoke("list", "status:snoozed", "--json").stdout)
    assert len(snoozed) == 3 and all(r["priority"] == "high" for r in snoozed)


def test_a_template_error_for_one_conversation_queues_nothing(desk: tuple[CliEnv, list[int]]) -> None:
    env, ids = desk
    (env.tmp / "macros" / "broken.toml").write_text(
        '[text.email]\nen = "Hi {{ customer.name }}"\nhu = "Szia {{ customer.nickname }}"\n', "utf-8")
    result = env.invoke("macro", "apply", "broken", "status:open", "--yes")
    assert result.exit_code == 1
    assert result.stderr.strip() == (f"omnidesk: macro broken (text.email.hu, #{ids[0]}): customer has no"
                                     " field"
                                     " 'nickname'; it has name, first_name, language, email, phone, address,"
                                     " tier, timezone")
    assert json.loads(env.invoke("outbox", "list", "--json").stdout) == []


def test_lint(desk: tuple[CliEnv, list[int]]) -> None:
    env, _ = desk
    clean = env.invoke("macro", "lint")
    # The examples are clean on a mail desk (its styles: email only).
    assert clean.exit_code == 0, clean.stdout
    assert "0 finding(s) in 3 macro(s)" in clean.stderr
    (env.tmp / "macros" / "sloppy.toml").write_text(
        '[text.email]\nen = "Hi {{ customer.nick }}"\nhu = "Szia"\n[text.chat]\nen = "Hi"\n'
        '[text.sms]\nhu = "' + "Köszönjük, megkaptuk a kérelmét, és hamarosan válaszolunk. " * 2 + '"\n',
        "utf-8")
    (env.tmp / "macros" / "torn.toml").write_text("[text.email\n", "utf-8")
    found = env.invoke("macro", "lint", "--json")
    assert found.exit_code == 1
    lines = {(f["macro"], f["where"]) : f["problem"] for f in json.loads(found.stdout)}
    assert lines[("sloppy", "text.email.en")].startswith("line 1: customer has no field 'nick'")
    assert lines[("sloppy", "text.chat")] == "no hu text"
    assert lines[("sloppy", "text.sms")] == "no en text (the desk's language)"
    assert lines[("sloppy", "text.sms.hu")].startswith("2 SMS segments with sample values (UCS-2")
    assert lines[("torn", "")].startswith("invalid TOML")


def test_apply_needs_an_agent(desk: tuple[CliEnv, list[int]]) -> None:
    env, ids = desk
    result = env.invoke("macro", "apply", "refund-received", f"#{ids[0]}", env={"USER": "nobody"})
    assert result.exit_code == 1 and "no agent is configured" in result.stderr


def test_no_macro_folder(cli_env: CliEnv) -> None:
    result = cli_env.invoke("macro", "list", "--format", "table")
    assert result.exit_code == 0 and f"No macros in {Path(cli_env.tmp) / 'macros'}" in result.stderr


def test_bulk_apply_over_another_agents_reply_needs_force(desk: tuple[CliEnv, list[int]]) -> None:
    env, ids = desk
    assert env.invoke("--as", "bob", "reply", str(ids[1]), "--text", "Bob here.").exit_code == 0
    refused = env.invoke("macro", "apply", "refund-received", "status:open", "--yes")
    assert refused.exit_code == 1
    assert refused.stderr.splitlines() == [f"omnidesk: bob replied to #{ids[1]} after you last read it;"
                                           " nothing was queued", "hint: --force replies anyway"]
    assert len(json.loads(env.invoke("outbox", "list", "--json").stdout)) == 1  # Bob's alone
    forced = env.invoke("macro", "apply", "refund-received", "status:open", "--yes", "--force")
    assert forced.exit_code == 0 and len(json.loads(env.invoke("outbox", "list", "--json").stdout)) == 4


def test_lint_on_a_desk_with_sms_checks_the_sms_variants(desk: tuple[CliEnv, list[int]]) -> None:
    env, _ = desk
    with env.config.open("a", encoding="utf-8") as f:
        f.write('\n[channels.sms]\nkind = "twilio"\naccount_sid = "AC123"\nauth_token_env = "TWILIO_TOKEN"\n'
                'numbers = ["+15550001111"]\n')
    (env.tmp / "macros" / "long-sms.toml").write_text(
        '[text.email]\nen = "E"\nhu = "E"\n[text.chat]\nen = "C"\nhu = "C"\n'
        '[text.sms]\nen = "' + "x" * 161 + '"\nhu = "rövid"\n', "utf-8")
    found = env.invoke("macro", "lint", "--json")
    assert found.exit_code == 1
    lines = [f"{f['macro']}: {f['where']}: {f['problem']}" for f in json.loads(found.stdout)]
    assert lines == [
        "long-sms: text.sms.en: 2 SMS segments with sample values (GSM-7: one segment holds 160;"
        " this is 161 characters)",
        "resolved-thanks: text: no [text.sms] variant (sms replies use the chat text)",
    ]
