"""A Twilio message callback through the daemon's listener: signed against the public URL, stored once.

Needs the Twilio channel (adapters/twilio, its fake and its sync tests); skipped where it is not there.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.integration.webhook_env import counts, daemon

fakes = pytest.importorskip("omnidesk.demo.fakes.twilio", reason="the Twilio channel is not in this tree")
twilio_sync = pytest.importorskip("tests.integration.test_twilio_sync", reason="the Twilio channel's tests")


async def test_a_signed_twilio_callback_is_stored_once_and_a_forged_one_refused(tmp_path: Path) -> None:
    with fakes.FakeTwilio() as fake:
        channel = twilio_sync.twilio_channel(fake)
        channel.options["poll_seconds"] = 3600  # the push alone
        async with daemon(tmp_path, channel) as d, httpx.AsyncClient(trust_env=False) as client:
            message = fake.text("+36301234567", twilio_sync.SMS, "Szia! Hol a csomagom? 我的包裹在哪里？")
            url = d.url(channel.name) + "?source=sms"  # signed with its query, as Twilio signs
            headers, body = fake.signed(url, fake.incoming_params(message))
            forged = body.replace(b"Szia", b"Hell")
            assert (await client.post(url, content=forged, headers=headers)).status_code == 403
            assert (await counts(d.desk))[0] == 0
            for _ in range(2):  # Twilio sends a callback again when it got no answer
                answer = await client.post(url, content=body, headers=headers)
                assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/xml")
            rows = [tuple(r) for r in await d.desk.db.fetchall("SELECT external_id, text FROM messages")]
            assert rows == [(message["sid"], "Szia! Hol a csomagom? 我的包裹在哪里？")]
