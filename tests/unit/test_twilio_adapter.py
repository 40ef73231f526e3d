"""The Twilio adapter through its real HTTP client against FakeTwilio (omnidesk/demo/fakes/)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from adapters.base import (
    FLAG_OPT_IN,
    FLAG_OPT_OUT,
    Address,
    Batch,
    ConfigurationError,
    DeliveryChange,
    Outbound,
    PermanentError,
    ReplyCheck,
    TransientError,
    WebhookRejected,
    WebhookRequest,
)
from adapters.twilio import signature
from adapters.twilio.channel import EMPTY_TWIML, TwilioAdapter
from omnidesk.demo.fakes.twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio

SMS = "+15005550006"
WA = "whatsapp:+14155238886"
ANNA = "+36301234567"
MARYAM = "+989121234567"
WEI = "+8613812345678"
HOOK = "https://desk.example.com/hooks/sms"


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio() as server:
        yield server


def adapter_for(fake: FakeTwilio, token: str = AUTH_TOKEN, **options: Any) -> TwilioAdapter:
    settings = {
        "api_url": fake.api_url,
        "account_sid": ACCOUNT_SID,
        "numbers": [SMS, WA],
        "whatsapp_templates": ["order_update=HX0123456789abcdef0123456789abcdef"],
        **options,
    }
    return TwilioAdapter("sms", settings, lambda name: token)


@pytest.fixture
async def twilio(fake: FakeTwilio) -> AsyncIterator[TwilioAdapter]:
    adapter = adapter_for(fake)
    yield adapter
    await adapter.close()


async def batches(adapter: TwilioAdapter, cursor: str | None = None) -> list[Batch]:
    return [b async for b in adapter.poll(cursor)]


def records(found: list[Batch]) -> list[Any]:
    return [r for b in found for r in b.records]


def updates(found: list[Batch]) -> list[Any]:
    return [u for b in found for u in b.updates]


def outbound(text: str, to: str = ANNA, context: dict[str, Any] | None = None, **extra: Any) -> Outbound:
    return Outbound(
        message_ref="<r1@desk>", to=(Address("phone", to),), text=text, context=context or {}, **extra
    )


def signed_request(
    fake: FakeTwilio, params: dict[str, str], url: str = HOOK, path: str = ""
) -> WebhookRequest:
    headers, body = fake.signed(url, params)
    return WebhookRequest("POST", path, url, headers, body, datetime.now(UTC))


def test_the_signature_is_the_one_twilio_documents() -> None:
    # The worked example of Twilio's webhook security page (auth token 12345).
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+14158675310",
        "Digits": "1234",
        "From": "+14158675310",
        "To": "+18005551212",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert signature.expected("12345", url, params) == "GvWf1cFY/Q7PnoempGyD5oXAezc="
    assert signature.valid("12345", url, params, "GvWf1cFY/Q7PnoempGyD5oXAezc=")
    assert not signature.valid("12345", url, {**params, "Digits": "9999"}, "GvWf1cFY/Q7PnoempGyD5oXAezc=")
    # Signed with the default port spelt out, checked against the configured URL without it (and back).
    with_port = signature.expected("12345", "https://mycompany.com:443/myapp.php?foo=1&bar=2", params)
    assert signature.valid("12345", url, params, with_port)
    assert signature.valid("12345", "https://mycompany.com:443/myapp.php?foo=1&bar=2", params,
                           "GvWf1cFY/Q7PnoempGyD5oXAezc=")
    assert not signature.valid("12345", "https://mycompany.com:8443/myapp.php?foo=1&bar=2", params,
                               "GvWf1cFY/Q7PnoempGyD5oXAezc=")


async def test_poll_reads_every_page_oldest_first_with_identities_and_meta(
    fake: FakeTwilio, twilio: TwilioAdapter
) -> None:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    for n in range(2500):  # three pages of 1,000
        fake.text(ANNA, SMS, f"üzenet {n}", at=start + timedelta(seconds=n))
    fake.text(
        "whatsapp:" + MARYAM, WA, "سلام، سفارش من کجاست؟", at=start + timedelta(hours=1), profile_name="مریم"
    )
    found = await batches(twilio)
    got = records(found)
    assert len(got) == 2501
    assert len(fake.calls("Messages.list")) >= 3 + 1  # pages of the SMS number, then the WhatsApp sender
    sms = [r for r in got if r.meta["twilio"]["transport"] == "sms"]
    assert [r.text for r in sms[:2]] == ["üzenet 0", "üzenet 1"] and sms[-1].text == "üzenet 2499"
    assert sms[0].sender == Address("phone", ANNA) and sms[0].chat_like and sms[0].scope == ""
    whatsapp = next(r for r in got if r.meta["twilio"]["transport"] == "whatsapp")
    assert whatsapp.sender.address == MARYAM  # whatsapp: stripped: the same phone is one customer
    assert whatsapp.meta == {"twilio": {"transport": "whatsapp", "from": "whatsapp:" + MARYAM, "to": WA}}
    assert json.loads(found[-1].cursor or "")[SMS].startswith(
        (start + timedelta(seconds=2499)).isoformat()[:19]
    )


async def test_the_overlap_reads_again_but_yields_nothing_twice(
    fake: FakeTwilio, twilio: TwilioAdapter
) -> None:
    fake.text(ANNA, SMS, "első")
    first = await batches(twilio)
    fake.text(ANNA, SMS, "második")
    second = await batches(twilio, first[-1].cursor)
    assert [r.text for r in records(second)] == ["második"]
    asked = [c.params for c in fake.calls("Messages.list") if c.params.get("To") == SMS]
    overlap_start = datetime.now(UTC) - timedelta(seconds=300)  # overlap_seconds' default
    assert asked[-1]["DateSent>"] in {
        overlap_start.strftime("%Y-%m-%d"),
        datetime.now(UTC).strftime("%Y-%m-%d"),
    }
    # A fresh process (a restart) reads the overlap again; the core's references absorb the repeat.
    again = await batches(adapter_for(fake), second[-1].cursor)
    assert {r.text for r in records(again)} <= {"első", "második"}


async def test_mms_media_are_lazy_attachments_fetched_on_demand(
    fake: FakeTwilio, twilio: TwilioAdapter
) -> None:
    fake.text(ANNA, SMS, "a kép", media=((b"\x89PNG fake", "image/png"), (b"%PDF", "application/pdf")))
    (record,) = records(await batches(twilio))
    assert [(a.content_type, a.data) for a in record.attachments] == [
        ("image/png", b""),
        ("application/pdf", b""),
    ]
    assert record.attachments[0].filename.endswith(".png")
    assert await twilio.fetch_attachment(record.attachments[0].fetch_ref or "") == b"\x89PNG fake"
    assert await twilio.fetch_attachment(record.attachments[1].fetch_ref or "") == b"%PDF"


async def test_opt_out_and_in_keywords_flag_the_message(fake: FakeTwilio, twilio: TwilioAdapter) -> None:
    for word in ("STOP", " unsubscribe ", "Stop please", "START", "yes"):
        fake.text(ANNA, SMS, word)
    got = records(await batches(twilio))
    assert [r.flags for r in got] == [
        frozenset({FLAG_OPT_OUT}),
        frozenset({FLAG_OPT_OUT}),
        frozenset(),
        frozenset({FLAG_OPT_IN}),
        frozenset({FLAG_OPT_IN}),
    ]


async def test_a_reply_goes_from_the_number_written_to(fake: FakeTwilio, twilio: TwilioAdapter) -> None:
    fake.text("whatsapp:" + WEI, WA, "我的退款在哪里？")
    (question,) = records(await batches(twilio))
    receipt = await twilio.send(outbound("您的退款已于今天处理。", WEI, dict(question.meta)))
    (sent,) = fake.sent()
    assert (sent["from"], sent["to"], sent["body"]) == (WA, "whatsapp:" + WEI, "您的退款已于今天处理。")
    assert receipt.external_id == sent["sid"] and receipt.state == "queued" and receipt.scope == ""
    # No context (the customer wrote on Telegram): a new SMS from our first SMS number.
    await twilio.send(outbound("Hello", ANNA))
    assert (fake.sent()[-1]["from"], fake.sent()[-1]["to"]) == (SMS, ANNA)


async def test_a_failed_delivery_reaches_the_message_with_30007_and_its_meaning(
    fake: FakeTwilio, twilio: TwilioAdapter
) -> None:
    fake.fail_next(30007)
    receipt = await twilio.send(outbound("Your code is 1234"))
    fake.advance()  # queued -> sent
    first = updates(await batches(twilio))
    assert [(u.external_id, u.state) for u in first] == [(receipt.external_id, "sent")]
    fake.advance()  # sent -> undelivered 30007
    (change,) = updates(await batches(twilio))
    assert isinstance(change, DeliveryChange)
    assert (change.state, change.code) == ("undelivered", "30007")
    assert "Message filtered" in change.detail and "spam" in change.detail
    assert updates(await batches(twilio)) == []  # reported once


async def test_whatsapp_delivery_goes_on_to_read(fake: FakeTwilio, twilio: TwilioAdapter) -> None:
    fake.text("whatsapp:" + ANNA, WA, "Szia")
    (question,) = records(await batches(twilio))
    await twilio.send(outbound("Szia Anna!", ANNA, dict(question.meta)))
    fake.advance()
    fake.advance()
    fake.read(fake.sent()[0])
    assert [u.state for u in updates(await batches(twilio))] == ["read"]


def test_reply_note_counts_segments_and_encoding() -> None:
    sms = {"twilio": {"transport": "sms"}}
    assert TwilioAdapter.reply_note("Hello", sms) == "1 SMS segment · GSM-7 · 5 characters"
    assert TwilioAdapter.reply_note("س" * 85, sms) == "2 SMS segments · UCS-2 · 85 characters"
    assert TwilioAdapter.reply_note("退款" * 40, {}) == "2 SMS segments · UCS-2 · 80 characters"
    assert TwilioAdapter.reply_note("x" * 1700, {}).endswith("· 1,700 characters · 2 messages")
    assert (
        TwilioAdapter.reply_note("س" * 85, {"twilio": {"transport": "whatsapp"}})
        == "WhatsApp · 85 characters"
    )


def check(
    recent: tuple[tuple[datetime, dict[str, Any]], ...],
    template: str = "",
    context: dict[str, Any] | None = None,
) -> ReplyCheck:
    wa = {"twilio": {"transport": "whatsapp", "from": "whatsapp:" + ANNA, "to": WA}}
    options = {
        "numbers": [SMS, WA],
        "whatsapp_templates": ["order_update=HX0123456789abcdef0123456789abcdef"],
    }
    return ReplyCheck(
        "text",
        Address("phone", ANNA),
        wa if context is None else context,
        recent,
        options,
        datetime(2026, 3, 10, 12, tzinfo=UTC),
        template,
    )


def test_the_whatsapp_window_refuses_a_late_free_form_reply_but_takes_a_template() -> None:
    wa = {"twilio": {"transport": "whatsapp"}}
    sms = {"twilio": {"transport": "sms"}}
    now = datetime(2026, 3, 10, 12, tzinfo=UTC)
    assert TwilioAdapter.reply_refusal(check(((now - timedelta(hours=23), wa),))) is None
    late = TwilioAdapter.reply_refusal(
        check(((now - timedelta(hours=1), sms), (now - timedelta(days=3), wa)))
    )
    assert (
        late is not None and "24 hours" in late and "3 days ago" in late and "--template order_update" in late
    )
    assert TwilioAdapter.reply_refusal(check((), template="order_update")) is None
    unknown = TwilioAdapter.reply_refusal(check((), template="promo"))
    assert unknown is not None and "order_update" in unknown
    assert TwilioAdapter.reply_refusal(check((), context=sms)) is None  # SMS has no window
    assert "WhatsApp" in (TwilioAdapter.reply_refusal(check((), template="order_update", context=sms)) or "")


async def test_a_template_goes_as_content_sid_and_variables(fake: FakeTwilio, twilio: TwilioAdapter) -> None:
    context = {"twilio": {"transport": "whatsapp", "from": "whatsapp:" + ANNA, "to": WA}}
    await twilio.send(
        outbound("", ANNA, context, template="order_update", template_variables={"1": "Anna", "2": "#1042"})
    )
    (call,) = fake.calls("Messages.create")
    assert call.params["ContentSid"] == "HX0123456789abcdef0123456789abcdef" and "Body" not in call.params
    assert json.loads(call.params["ContentVariables"]) == {"1": "Anna", "2": "#1042"}
    with pytest.raises(PermanentError, match="promo"):
        await twilio.send(outbound("", ANNA, context, template="promo"))


async def test_a_free_form_whatsapp_message_outside_the_window_fails_with_63016(
    fake: FakeTwilio, twilio: TwilioAdapter
) -> None:
    fake.text("whatsapp:" + ANNA, WA, "Szia", at=datetime.now(UTC) - timedelta(days=2))
    context = {"twilio": {"transport": "whatsapp", "from": "whatsapp:" + ANNA, "to": WA}}
    await twilio.send(outbound("Late", ANNA, context))
    fake.advance()
    fake.advance()
    change = next(u for u in updates(await batches(twilio)) if u.state == "undelivered")
    assert change.code == "63016" and "24-hour" in change.detail


async def test_errors_map_to_transient_configuration_and_permanent(
    fake: FakeTwilio, twilio: TwilioAdapter
) -> None:
    fake.fail(
        "Messages.list",
        status=429,
        headers={"Retry-After": "7"},
        body={
            "code": 20429,
            "message": "Too many requests",
            "more_info": "https://www.twilio.com/docs/errors/20429",
            "status": 429,
        },
    )
    with pytest.raises(TransientError) as limited:
        await batches(twilio)
    assert limited.value.retry_after == 7.0
    fake.fail(
        "Messages.create",
        status=503,
        body={"code": 20500, "message": "Service unavailable", "more_info": "", "status": 503},
    )
    with pytest.raises(TransientError, match="503"):
        await twilio.send(outbound("x"))
    with pytest.raises(PermanentError, match="21211 Invalid 'To' phone number"):
        await twilio.send(outbound("x", to="+1"))
    fake.text(ANNA, SMS, "STOP")
    with pytest.raises(PermanentError, match="21610 The recipient replied STOP"):
        await twilio.send(outbound("x"))
    revoked = adapter_for(fake, token="revoked")
    with pytest.raises(ConfigurationError, match="revoked"):
        await batches(revoked)
    await revoked.close()


async def test_a_valid_signed_incoming_message_callback_is_a_record(
    fake: FakeTwilio, twilio: TwilioAdapter
) -> None:
    message = fake.text(
        "whatsapp:" + MARYAM, WA, "سلام", profile_name="مریم", media=((b"jpegbytes", "image/jpeg"),)
    )
    batch, reply = await twilio.webhook(signed_request(fake, fake.incoming_params(message)))
    assert batch is not None and batch.cursor is None
    (record,) = batch.records
    assert (record.external_id, record.sender, record.text) == (
        message["sid"],
        Address("phone", MARYAM, "مریم"),
        "سلام",
    )
    assert await twilio.fetch_attachment(record.attachments[0].fetch_ref or "") == b"jpegbytes"
    assert (reply.status, reply.body, reply.content_type) == (200, EMPTY_TWIML, "text/xml")


async def test_a_signed_status_callback_is_a_delivery_change(fake: FakeTwilio, twilio: TwilioAdapter) -> None:
    fake.fail_next(30003)
    receipt = await twilio.send(outbound("Hi"))
    fake.advance()
    (sent,) = fake.advance()
    batch, _ = await twilio.webhook(
        signed_request(fake, fake.status_params(sent), HOOK + "/status", "/status")
    )
    assert batch is not None
    (change,) = batch.updates
    assert isinstance(change, DeliveryChange)
    assert (change.external_id, change.state, change.code) == (receipt.external_id, "undelivered", "30003")
    assert "Unreachable destination handset" in change.detail


async def test_forged_unsigned_and_foreign_callbacks_are_rejected(
    fake: FakeTwilio, twilio: TwilioAdapter
) -> None:
    params = fake.incoming_params(fake.text(ANNA, SMS, "hi"))
    forged = signed_request(fake, params)
    tampered = WebhookRequest(
        "POST", "", HOOK, forged.headers, forged.body.replace(b"hi", b"pay+now"), forged.received_at
    )
    with pytest.raises(WebhookRejected) as bad:
        await twilio.webhook(tampered)
    assert bad.value.status == 403
    unsigned = WebhookRequest(
        "POST",
        "",
        HOOK,
        {"content-type": "application/x-www-form-urlencoded"},
        forged.body,
        forged.received_at,
    )
    with pytest.raises(WebhookRejected, match="no X-Twilio-Signature"):
        await twilio.webhook(unsigned)
    other_url = signed_request(fake, params, url="https://attacker.example/hooks/sms")
    with pytest.raises(WebhookRejected):
        await twilio.webhook(
            WebhookRequest("POST", "", HOOK, other_url.headers, other_url.body, other_url.received_at)
        )
    with pytest.raises(WebhookRejected) as missing:
        await twilio.webhook(signed_request(fake, params, path="/elsewhere"))
    assert missing.value.status == 404


def test_twilio_dates_are_read_in_utc() -> None:
    from adapters.twilio.messages import parse_date

    assert parse_date("Fri, 24 May 2019 17:44:50 +0000") == datetime(2019, 5, 24, 17, 44, 50, tzinfo=UTC)
    assert parse_date("Fri, 24 May 2019 12:44:50 -0500") == datetime(2019, 5, 24, 17, 44, 50, tzinfo=UTC)
    assert parse_date(None) is None and parse_date("yesterday") is None


def test_configuration_is_checked() -> None:
    with pytest.raises(ConfigurationError, match="account SID"):
        TwilioAdapter("sms", {"account_sid": "nope", "numbers": [SMS]}, lambda n: "t")
    with pytest.raises(ConfigurationError, match=r"E\.164"):
        TwilioAdapter("sms", {"account_sid": ACCOUNT_SID, "numbers": ["0630 123 4567"]}, lambda n: "t")
    with pytest.raises(ConfigurationError, match="NAME=HX"):
        TwilioAdapter(
            "sms", {"account_sid": ACCOUNT_SID, "numbers": [SMS], "whatsapp_templates": ["x"]}, lambda n: "t"
        )


async def test_probe_names_the_account_or_why_it_failed(fake: FakeTwilio, twilio: TwilioAdapter) -> None:
    (step,) = await twilio.probe()
    assert step.status == "ok" and SMS in step.detail and WA in step.detail
    revoked = adapter_for(fake, token="revoked")
    (failed,) = await revoked.probe()
    await revoked.close()
    assert failed.status == "fail" and "auth_token" in failed.detail


def test_reply_templates_are_the_configured_names() -> None:
    from omnidesk.registry import reply_templates

    options = {"whatsapp_templates": ["order_update=HX" + "1" * 32, "delivery_delay=HX" + "2" * 32]}
    assert reply_templates("twilio", options) == ("delivery_delay", "order_update")
    assert reply_templates("twilio", {}) == ()
    assert reply_templates("mastodon", options) == ()  # a channel without templates offers none
