"""SlackAdapter.webhook on the Events API payloads as Slack documents them (docs.slack.dev/reference/events),
against FakeSlack for auth.test and users.info: which events become records, edits, deletions, or nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from adapters.base import Deletion, Edit, WebhookRejected, WebhookRequest
from adapters.slack.channel import SlackAdapter
from omnidesk.demo.fakes.slack import BOT_ID, SIGNING_SECRET, TEAM_ID, TOKEN, FakeSlack, signed_headers

Pair = tuple[SlackAdapter, FakeSlack]


@pytest.fixture
async def adapter() -> AsyncIterator[Pair]:
    with FakeSlack() as fake:
        options = {"token": TOKEN, "api_url": fake.base_url, "signing_secret": SIGNING_SECRET}
        slack = SlackAdapter("team", options, lambda key: str(options[key]))
        try:
            yield slack, fake
        finally:
            await slack.close()


def request(payload: dict[str, object], **headers: str) -> WebhookRequest:
    body = json.dumps(payload).encode()
    found = {k.lower(): v for k, v in signed_headers(SIGNING_SECRET, body).items()}
    return WebhookRequest("POST", "", "http://127.0.0.1/hooks/team", found | headers, body, datetime.now(UTC))


def wrapped(event: dict[str, object]) -> dict[str, object]:
    """The event wrapper of Slack's examples."""
    return {"token": "XXYYZZ", "team_id": TEAM_ID, "api_app_id": "A123ABC456", "event": event,
            "type": "event_callback", "event_id": "Ev123ABC456", "event_time": 1358878755,
            "authorizations": [{"team_id": TEAM_ID, "user_id": "U123ABC456", "is_bot": False,
                                "is_enterprise_install": False}]}


# The documented examples, with this workspace's ids.
MESSAGE_CHANGED = {"type": "message", "subtype": "message_changed", "hidden": True, "channel": "C123ABC456",
                   "ts": "1358878755.000001",
                   "message": {"type": "message", "user": "U123ABC456", "text": "Hello, &lt;world&gt;!",
                               "ts": "1355517523.000005",
                               "edited": {"user": "U123ABC456", "ts": "1358878755.000001"}}}
MESSAGE_DELETED = {"type": "message", "subtype": "message_deleted", "hidden": True, "channel": "C123ABC456",
                   "ts": "1358878755.000001", "deleted_ts": "1358878749.000002"}


async def test_message_changed_is_an_edit_of_the_message_at_its_edit_time(adapter: Pair) -> None:
    slack, _ = adapter
    batch, reply = await slack.webhook(request(wrapped(MESSAGE_CHANGED)))
    assert reply.status == 200 and batch is not None and batch.records == []
    assert batch.updates == [Edit(external_id="1355517523.000005", text="Hello, <world>!",
                                  edited_at=datetime.fromtimestamp(1358878755.000001, UTC),
                                  scope=f"{TEAM_ID}/C123ABC456")]


async def test_message_deleted_is_a_deletion_at_the_event_time(adapter: Pair) -> None:
    slack, _ = adapter
    batch, _ = await slack.webhook(request(wrapped(MESSAGE_DELETED)))
    assert batch is not None and batch.updates == [
        Deletion("1358878749.000002", datetime.fromtimestamp(1358878755.000001, UTC),
                 f"{TEAM_ID}/C123ABC456")]


async def test_a_message_event_is_the_record_polling_makes(adapter: Pair) -> None:
    slack, fake = adapter
    ann, support = fake.add_user("ann", email="ann@example.com"), fake.add_channel("support")
    ts = fake.say(support, ann, "hi <@" + ann.id + ">", thread_ts=None)
    polled = [r for b in [b async for b in slack.poll(None)] for r in b.records]
    event = {**support.messages[ts], "channel": support.id, "event_ts": ts, "channel_type": "channel"}
    pushed, _ = await slack.webhook(request(wrapped(event)))
    assert pushed is not None and len(pushed.records) == 1 and len(polled) == 1
    one, other = pushed.records[0], polled[0]
    fields = ("external_id", "scope", "sender", "text", "meta", "thread_refs", "also_known_as", "flags")
    assert [getattr(one, f) for f in fields] == [getattr(other, f) for f in fields]


@pytest.mark.parametrize("event", [
    {"type": "message", "subtype": "channel_join", "user": "U1", "text": "<@U1> has joined", "ts": "1.1",
     "channel": "C1"},
    {"type": "message", "subtype": "bot_message", "bot_id": "B0OTHER01", "text": "deployed", "ts": "1.2",
     "channel": "C1"},
    {"type": "message", "subtype": "message_changed", "channel": "C1", "ts": "1.3",  # an unfurl: no `edited`
     "message": {"type": "message", "user": "U1", "text": "see https://x", "ts": "1.0", "attachments": []}},
    {"type": "app_mention", "user": "U1", "text": "<@U0BOT0001> hi", "ts": "1.4", "channel": "C1"},
    {"type": "reaction_added", "user": "U1", "reaction": "thumbsup", "item": {"type": "message"}},
])
async def test_events_polling_would_skip_are_answered_and_store_nothing(adapter: Pair,
                                                                        event: dict[str, object]) -> None:
    slack, _ = adapter
    batch, reply = await slack.webhook(request(wrapped(event)))
    assert batch is None and reply.status == 200


async def test_our_own_bot_post_is_an_echo_and_other_conversations_are_ignored(adapter: Pair) -> None:
    slack, fake = adapter
    own = {"type": "message", "user": "U0BOT0001", "bot_id": BOT_ID, "text": "our reply", "ts": "1.5",
           "channel": "C1"}
    batch, _ = await slack.webhook(request(wrapped(own)))
    assert batch is not None and "own-echo" in batch.records[0].flags  # the core never stores it again
    limited = SlackAdapter("team", {"token": TOKEN, "api_url": fake.base_url, "conversations": ["C2"],
                                    "signing_secret": SIGNING_SECRET}, lambda key: SIGNING_SECRET)
    try:
        batch, _ = await limited.webhook(request(wrapped({**own, "bot_id": None, "user": "U7"})))
        assert batch is None
    finally:
        await limited.close()


async def test_a_channel_without_a_signing_secret_takes_no_pushes(adapter: Pair) -> None:
    _, fake = adapter
    plain = SlackAdapter("team", {"token": TOKEN, "api_url": fake.base_url}, lambda key: TOKEN)
    with pytest.raises(WebhookRejected) as refused:
        await plain.webhook(request(wrapped(MESSAGE_DELETED)))
    assert refused.value.status == 404


async def test_a_body_that_is_not_json_or_not_utf8_is_a_400(adapter: Pair) -> None:
    slack, _ = adapter
    for body in (b"not json", b"\xff\xfe{}"):
        found = {k.lower(): v for k, v in signed_headers(SIGNING_SECRET, body).items()}
        with pytest.raises(WebhookRejected) as refused:
            await slack.webhook(WebhookRequest("POST", "", "u", found, body, datetime.now(UTC)))
        assert refused.value.status == 400
