"""`omnidesk reply` and `customer show` on a Twilio channel: opt-out, the WhatsApp window, templates."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from omnidesk.demo.fakes.twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from tests.cli.conftest import CliEnv

SMS, WA, ANNA = "+15005550006", "whatsapp:+14155238886", "+36301234567"


@pytest.fixture
def twilio_env(cli_env: CliEnv) -> Iterator[tuple[CliEnv, FakeTwilio]]:
    with FakeTwilio() as fake:
        with cli_env.config.open("a", encoding="utf-8") as config:
            config.write(f"""
[channels.sms]
kind = "twilio"
account_sid = "{ACCOUNT_SID}"
auth_token_env = "TWILIO_TEST_TOKEN"
api_url = "{fake.api_url}"
numbers = ["{SMS}", "{WA}"]
whatsapp_templates = ["order_update=HX0123456789abcdef0123456789abcdef"]
""")
        cli_env.env["TWILIO_TEST_TOKEN"] = AUTH_TOKEN
        yield cli_env, fake


def synced(env: CliEnv) -> None:
    async def sync(desk: Any) -> None:
        from omnidesk.services.sync import run_sync

        report = await run_sync(desk, once=True, stop=asyncio.Event(), dispatch=False, channels=["sms"])
        assert report.ok, report

    env.run(sync)


def test_an_opted_out_customer_is_shown_so_and_gets_no_reply(
    twilio_env: tuple[CliEnv, FakeTwilio], monkeypatch: pytest.MonkeyPatch
) -> None:
    env, fake = twilio_env
    monkeypatch.setenv("TWILIO_TEST_TOKEN", AUTH_TOKEN)
    fake.text(ANNA, SMS, "Hol a csomagom?")
    fake.text(ANNA, SMS, "STOP")
    synced(env)
    shown = env.invoke("customer", "show", "1", "--format", "table")
    assert shown.exit_code == 0 and f"phone: {ANNA}  opted out" in shown.stdout, shown.stderr
    (identity,) = json.loads(env.invoke("customer", "show", "1", "--json").stdout)["identities"]
    assert identity["opted_out_at"] is not None
    refused = env.invoke("reply", "1", "Holnap érkezik.")
    assert refused.exit_code == 1
    assert "opted out of messages" in refused.stderr and "START" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_a_late_whatsapp_reply_is_refused_and_a_template_is_queued(
    twilio_env: tuple[CliEnv, FakeTwilio], monkeypatch: pytest.MonkeyPatch
) -> None:
    env, fake = twilio_env
    monkeypatch.setenv("TWILIO_TEST_TOKEN", AUTH_TOKEN)
    fake.text("whatsapp:" + ANNA, WA, "Szia", at=datetime.now(UTC).replace(microsecond=0) - timedelta(days=2))
    synced(env)
    refused = env.invoke("reply", "1", "Szia Anna!")  # ChannelRefusal: still one line, exit 1
    assert (
        refused.exit_code == 1
        and "24 hours" in refused.stderr
        and "--template order_update" in refused.stderr
    )
    bad = env.invoke("reply", "1", "--var", "oops", "--template", "order_update")
    assert bad.exit_code != 0 and "KEY=VALUE" in bad.stderr
    queued = env.invoke("reply", "1", "--template", "order_update", "--var", "1=Anna")
    assert queued.exit_code == 0, queued.stderr
    assert "queued via sms" in queued.stdout
