"""The Slack fake speaks what slack-sdk and the recorded Slack traffic say it should."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from omnidesk.demo.fakes.slack import BOT_ID, SIGN_IN_PAGE, TOKEN, FakeSlack


@pytest.fixture
def slack():
    with FakeSlack() as fake:
        yield fake


def client(fake: FakeSlack, token: str = TOKEN) -> WebClient:
    return WebClient(token=token, base_url=fake.base_url, timeout=5)


def test_auth_errors_are_200_with_slack_error_names(slack: FakeSlack) -> None:
    assert client(slack).auth_test()["bot_id"] == BOT_ID
    for token, error in (("xoxb-unknown", "invalid_auth"),):
        with pytest.raises(SlackApiError) as caught:
            client(slack, token).auth_test()
        assert caught.value.response.status_code == 200
        assert caught.value.response["error"] == error
    slack.revoke()
    with pytest.raises(SlackApiError, match="token_revoked"):
        client(slack).conversations_history(channel="C1")


def test_history_pages_newest_first_and_new_posts_do_not_shift_the_cursor(slack: FakeSlack) -> None:
    ann = slack.add_user("ann", email="ann@example.com")
    support = slack.add_channel("support")
    sent = [slack.say(support, ann, f"message {i}") for i in range(250)]
    web = client(slack)
    first = web.conversations_history(channel=support.id, limit=100)
    assert first["has_more"] is True
    slack.say(support, ann, "arrived between pages")
    seen = [m["ts"] for m in first["messages"]]
    cursor = first["response_metadata"]["next_cursor"]
    while cursor:
        page = web.conversations_history(channel=support.id, limit=100, cursor=cursor)
        seen += [m["ts"] for m in page["messages"]]
        cursor = page["response_metadata"]["next_cursor"]
    assert seen == sorted(sent, key=float, reverse=True)
    newer = web.conversations_history(channel=support.id, oldest=sent[-1])
    assert [m["text"] for m in newer["messages"]] == ["arrived between pages"]


def test_threads_edits_and_deletions(slack: FakeSlack) -> None:
    ann = slack.add_user("ann")
    dm = slack.open_dm(ann)
    parent = slack.say(dm, ann, "نمی‌توانم وارد شوم")
    reply = slack.say(dm, ann, "还是不行", thread_ts=parent)
    web = client(slack)
    history = web.conversations_history(channel=dm.id)["messages"]
    assert [m["ts"] for m in history] == [parent]
    assert history[0]["reply_count"] == 1 and history[0]["latest_reply"] == reply
    posted = web.chat_postMessage(channel=dm.id, text="<b> & co", thread_ts=parent)
    thread = web.conversations_replies(channel=dm.id, ts=parent)["messages"]
    assert [m["ts"] for m in thread] == [parent, reply, posted["ts"]]
    assert thread[2]["bot_id"] == BOT_ID and thread[2]["text"] == "<b> & co"
    slack.edit(dm, reply, "most már működik")
    edited = web.conversations_replies(channel=dm.id, ts=parent)["messages"][1]
    assert edited["text"] == "most már működik" and "edited" in edited
    slack.delete(dm, parent)
    tomb = web.conversations_history(channel=dm.id)["messages"][0]
    assert tomb["subtype"] == "tombstone"
    with pytest.raises(SlackApiError, match="thread_not_found"):
        web.chat_postMessage(channel=dm.id, text="x", thread_ts="1.000001")


def test_rate_limit_is_429_with_retry_after_and_sdk_retries_it(slack: FakeSlack) -> None:
    support = slack.add_channel("support")
    slack.rate_limit("conversations.history", retry_after=1)
    with pytest.raises(SlackApiError) as caught:
        client(slack).conversations_history(channel=support.id)
    assert caught.value.response.status_code == 429
    assert caught.value.response.headers["retry-after"] in ("1", ["1"])
    slack.rate_limit("conversations.history", retry_after=1)
    patient = client(slack)
    patient.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))
    assert patient.conversations_history(channel=support.id)["ok"] is True
    assert len(slack.calls("conversations.history")) == 3


def test_private_files_need_the_bot_token(slack: FakeSlack) -> None:
    ann = slack.add_user("ann")
    dm = slack.open_dm(ann)
    slack.say(dm, ann, "see attached", files=[("számla.pdf", "application/pdf", b"%PDF-1.4 data")])
    file = client(slack).conversations_history(channel=dm.id)["messages"][0]["files"][0]
    anonymous = urllib.request.urlopen(file["url_private"], timeout=5).read()
    assert anonymous == SIGN_IN_PAGE
    request = urllib.request.Request(file["url_private"], headers={"Authorization": f"Bearer {TOKEN}"})
    assert urllib.request.urlopen(request, timeout=5).read() == b"%PDF-1.4 data"


def _keys(path: Path) -> set[str]:
    return set(json.loads(path.read_text()))


def test_fake_uses_no_field_slack_does_not_have(slack: FakeSlack, corpora: Path) -> None:
    base = corpora / "chat" / "slack"
    ann = slack.add_user("ann", email="ann@example.com")
    slack.add_channel("support")
    web = client(slack)
    assert set(web.auth_test().data) <= _keys(base / "recorded" / "auth.test.ok.json")
    user = web.users_info(user=ann.id)["user"]
    recorded_user = json.loads((base / "spec-examples" / "users.info.ok.json").read_text())["user"]
    assert set(user) <= set(recorded_user)
    assert set(user["profile"]) <= set(recorded_user["profile"])
    recorded = json.loads((base / "recorded" / "conversations.list.page1.json").read_text())["channels"]
    channel_keys = set().union(*(set(c) for c in recorded))
    assert set(web.conversations_list()["channels"][0]) <= channel_keys
