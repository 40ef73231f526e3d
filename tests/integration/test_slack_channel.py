"""The Slack adapter through slack-sdk against the local Slack fake (omnidesk/demo/fakes/slack.py)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from adapters.base import (
    FLAG_OWN_ECHO,
    Batch,
    ConfigurationError,
    Deletion,
    Edit,
    Outbound,
    PermanentError,
    TransientError,
)
from adapters.slack.channel import SlackAdapter
from omnidesk.demo.fakes.slack import BOT_ID, BOT_USER, TEAM_ID, TOKEN, FakeSlack


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
async def a(slack: FakeSlack) -> AsyncIterator[SlackAdapter]:
    made = adapter(slack)
    yield made
    await made.close()


def adapter(fake: FakeSlack, **options: Any) -> SlackAdapter:
    settings = {"api_url": fake.base_url, "poll_seconds": 0.1, "timeout_seconds": 5, **options}
    return SlackAdapter("team", settings, lambda name: {"token": TOKEN}[name])


async def poll_all(a: SlackAdapter, cursor: str | None) -> tuple[list[Batch], str | None]:
    batches = [b async for b in a.poll(cursor)]
    return batches, (batches[-1].cursor if batches else cursor)


def records(batches: list[Batch]) -> list[Any]:
    return [r for b in batches for r in b.records]


async def test_pages_of_history_arrive_oldest_first_and_a_restart_repeats_nothing(slack: FakeSlack) -> None:
    ann = slack.add_user("ann", real_name="Ann Lee", email="ann@example.com", tz="Europe/London")
    support = slack.add_channel("support")
    slack.add_channel("elsewhere", is_member=False)
    sent = [slack.say(support, ann, f"message {i}") for i in range(450)]
    a = adapter(slack, batch_size=100)
    try:
        batches, cursor = await poll_all(a, None)
        got = records(batches)
        assert [r.external_id for r in got] == sent
        assert len(slack.calls("conversations.history")) == 3  # 200 a page: three pages
        assert all(len(b.records) <= 100 for b in batches)
        first = got[0]
        assert first.sender.kind == "slack" and first.sender.address == f"{ann.id}@{TEAM_ID}"
        assert first.sender.display_name == "ann"
        assert [(x.kind, x.address) for x in first.also_known_as] == [("email", "ann@example.com")]
        assert first.scope == f"{TEAM_ID}/{support.id}" and first.chat_like
        assert first.meta["slack"] == {"channel": support.id, "thread_ts": sent[0], "team": TEAM_ID,
                                       "user_tz": "Europe/London"}
        assert len(slack.calls("users.info")) == 1  # cached

        # A crash after the second batch committed: the next poll starts there.
        middle = batches[1].cursor
        again, _ = await poll_all(a, middle)
        assert [r.external_id for r in records(again)] == sent[200:]

        later = slack.say(support, ann, "one more")
        more, _ = await poll_all(a, cursor)
        assert [r.external_id for r in records(more)] == [later]
    finally:
        await a.close()


async def test_thread_replies_edits_and_a_tombstone(slack: FakeSlack, a: SlackAdapter) -> None:
    ann = slack.add_user("ann")
    support = slack.add_channel("support")
    parent = slack.say(support, ann, "my order is late")
    batches, cursor = await poll_all(a, None)
    assert [r.external_id for r in records(batches)] == [parent]

    reply = slack.say(support, ann, "any news?", thread_ts=parent)
    batches, cursor = await poll_all(a, cursor)
    (got,) = records(batches)
    assert got.external_id == reply and got.thread_refs == (parent,)
    assert got.meta["slack"]["thread_ts"] == parent

    slack.edit(support, parent, "my order *A-1* is late")
    slack.say(support, ann, "hello?", thread_ts=parent)
    batches, cursor = await poll_all(a, cursor)
    assert [r.text for r in records(batches)] == ["hello?"]
    (update,) = [u for b in batches for u in b.updates]
    assert isinstance(update, Edit) and update.external_id == parent
    assert update.text == "my order *A-1* is late" and update.scope == f"{TEAM_ID}/{support.id}"

    # The same edit is not reported twice.
    batches, cursor = await poll_all(a, cursor)
    assert not records(batches) and not [u for b in batches for u in b.updates]

    slack.delete(support, parent)
    batches, cursor = await poll_all(a, cursor)
    (gone,) = [u for b in batches for u in b.updates]
    assert isinstance(gone, Deletion) and gone.external_id == parent
    batches, cursor = await poll_all(a, cursor)
    assert not [u for b in batches for u in b.updates]


async def test_a_long_thread_is_read_across_pages(slack: FakeSlack, a: SlackAdapter) -> None:
    ann = slack.add_user("ann")
    support = slack.add_channel("support")
    parent = slack.say(support, ann, "a long story")
    replies = [slack.say(support, ann, f"part {n}", thread_ts=parent) for n in range(450)]
    batches, cursor = await poll_all(a, None)
    assert [r.external_id for r in records(batches)] == [parent, *replies]
    assert len(slack.calls("conversations.replies")) == 3
    assert json.loads(cursor or "")["conversations"][support.id]["threads"][parent]["latest"] == replies[-1]


async def test_an_edited_reply_is_reported_when_its_thread_moves(slack: FakeSlack, a: SlackAdapter) -> None:
    ann = slack.add_user("ann")
    support = slack.add_channel("support")
    parent = slack.say(support, ann, "question")
    first = slack.say(support, ann, "detail", thread_ts=parent)
    _, cursor = await poll_all(a, None)
    slack.edit(support, first, "detail, corrected")
    slack.say(support, ann, "something else")  # history moves on past the edit
    batches, cursor = await poll_all(a, cursor)
    assert [r.text for r in records(batches)] == ["something else"]
    assert not [u for b in batches for u in b.updates]  # the thread did not move: not seen yet
    slack.say(support, ann, "still there?", thread_ts=parent)
    batches, cursor = await poll_all(a, cursor)
    assert [r.text for r in records(batches)] == ["still there?"]
    (update,) = [u for b in batches for u in b.updates]
    assert isinstance(update, Edit) and (update.external_id, update.text) == (first, "detail, corrected")


async def test_files_are_lazy_and_fetched_with_the_token(slack: FakeSlack, a: SlackAdapter) -> None:
    ann = slack.add_user("ann")
    support = slack.add_channel("support")
    slack.say(support, ann, "the invoice", files=[("számla 账单.pdf", "application/pdf", b"%PDF-1.4 data")])
    batches, _ = await poll_all(a, None)
    (got,) = records(batches)
    (file,) = got.attachments
    assert (file.filename, file.content_type, file.size) == ("számla 账单.pdf", "application/pdf", 13)
    assert file.data == b""
    assert file.fetch_ref and await a.fetch_attachment(file.fetch_ref) == b"%PDF-1.4 data"
    with pytest.raises(PermanentError, match="not on a Slack host"):
        await a.fetch_attachment("https://evil.example/files-pri/x")
    slack.revoke()
    with pytest.raises(PermanentError, match="sign-in page"):
        await a.fetch_attachment(file.fetch_ref)


async def test_joins_and_other_apps_are_skipped_our_echo_flagged(slack: FakeSlack, a: SlackAdapter) -> None:
    ann = slack.add_user("ann")
    support = slack.add_channel("support")
    slack.join_event(support, ann)
    question = slack.say(support, ann, "hi")
    batches, cursor = await poll_all(a, None)
    assert [r.external_id for r in records(batches)] == [question]
    receipt = await a.send(Outbound("m1", (), "hello from the desk",
                                    context={"slack": {"channel": support.id, "thread_ts": question}}))
    slack.app_says(support, "deploy done")
    batches, _ = await poll_all(a, cursor)
    (echo,) = records(batches)
    assert echo.external_id == receipt.external_id and FLAG_OWN_ECHO in echo.flags
    assert echo.sender.address == f"{BOT_USER}@{TEAM_ID}"


async def test_customer_mrkdwn_is_shown_as_text_in_persian_and_chinese(slack: FakeSlack) -> None:
    maryam = slack.add_user("maryam", real_name="مریم احمدی")
    wei = slack.add_user("王伟")
    dm = slack.open_dm(maryam)
    slack.say(dm, maryam, "سلام، سفارش من &lt;A-12&gt; کجاست؟ &amp; لطفاً <@" + wei.id + "> ببینید")
    slack.say(dm, maryam, "见 <https://shop.example/o/1|我的订单> 和 <https://x.example> 以及 <#C1|general>")
    a = adapter(slack)
    try:
        batches, _ = await poll_all(a, None)
        persian, chinese = records(batches)
        assert persian.text == "سلام، سفارش من <A-12> کجاست؟ & لطفاً @王伟 ببینید"
        assert chinese.text == "见 我的订单 (https://shop.example/o/1) 和 https://x.example 以及 #general"
        assert persian.meta["slack"]["thread_ts"] == ""  # a DM is answered in place, not in a thread
        assert persian.sender.display_name == "maryam"
    finally:
        await a.close()


async def test_an_agent_in_the_slack_app_is_an_ordinary_sender(slack: FakeSlack, a: SlackAdapter) -> None:
    customer = slack.add_user("ann")
    agent = slack.add_user("alice", email="alice@desk.test")
    support = slack.add_channel("support")
    question = slack.say(support, customer, "is anyone there?")
    answer = slack.say(support, agent, "yes, looking now", thread_ts=question)
    batches, _ = await poll_all(a, None)
    got = {r.external_id: r for r in records(batches)}
    assert set(got) == {question, answer}
    reply = got[answer]
    assert reply.sender.address == f"{agent.id}@{TEAM_ID}" and not reply.flags
    assert reply.thread_refs == (question,)
    assert [x.address for x in reply.also_known_as] == ["alice@desk.test"]


async def test_a_reply_goes_into_the_thread_escaped_and_split(slack: FakeSlack, a: SlackAdapter) -> None:
    ann = slack.add_user("ann")
    support = slack.add_channel("support")
    question = slack.say(support, ann, "help")
    text = "Use <b> & <@U1> literally.\n\n" + ("word " * 1000)
    receipt = await a.send(Outbound("m1", (), text, in_reply_to=question,
                                    context={"slack": {"channel": support.id, "thread_ts": question}}))
    posts = slack.bot_posts()
    assert [p["ts"] for p in posts] == [receipt.external_id, *receipt.also_ids]
    assert len(posts) == 2 and all(p["thread_ts"] == question for p in posts)
    assert posts[0]["text"].startswith("Use &lt;b&gt; &amp; &lt;@U1&gt; literally.")
    assert all(len(p["text"]) <= 4000 + 100 for p in posts)
    assert receipt.scope == f"{TEAM_ID}/{support.id}"
    assert posts[0]["bot_id"] == BOT_ID


async def test_a_reply_slack_refuses_is_permanent_and_a_dm_is_answered_in_place(
        slack: FakeSlack, a: SlackAdapter) -> None:
    ann = slack.add_user("ann")
    support = slack.add_channel("support")
    dm = slack.open_dm(ann)
    with pytest.raises(PermanentError, match="thread_not_found"):
        gone = {"slack": {"channel": support.id, "thread_ts": "1.000001"}}
        await a.send(Outbound("m1", (), "hi", context=gone))
    with pytest.raises(PermanentError, match="no Slack conversation"):
        await a.send(Outbound("m2", (), "hi"))
    slack.rate_limit("chat.postMessage", retry_after=0)
    receipt = await a.send(Outbound("m3", (), "hello", scope=f"{TEAM_ID}/{dm.id}",
                                    context={"slack": {"channel": dm.id, "thread_ts": ""}}))
    (post,) = slack.bot_posts()
    assert post["ts"] == receipt.external_id and "thread_ts" not in post and post["channel"] == dm.id


async def test_429_is_waited_out_and_a_lasting_one_is_transient(slack: FakeSlack, a: SlackAdapter) -> None:
    ann = slack.add_user("ann")
    support = slack.add_channel("support")
    slack.say(support, ann, "hi")
    slack.rate_limit("conversations.history", retry_after=1, times=1)
    batches, _ = await poll_all(a, None)
    assert len(records(batches)) == 1
    assert len(slack.calls("conversations.history")) == 2
    slack.rate_limit("conversations.history", retry_after=0, times=10)
    with pytest.raises(TransientError) as caught:
        await poll_all(a, None)
    assert caught.value.retry_after == 0


async def test_a_server_error_is_transient(slack: FakeSlack, a: SlackAdapter) -> None:
    slack.add_channel("support")
    slack.fail("users.conversations", status=503, body={"ok": False, "error": "service_unavailable"})
    with pytest.raises(TransientError, match="503"):
        await poll_all(a, None)


@pytest.mark.parametrize("how", ["revoke", "deactivate", "unknown"])
async def test_a_dead_token_is_a_configuration_error_with_the_reason(slack: FakeSlack, how: str) -> None:
    slack.add_channel("support")
    expected = {"revoke": "token_revoked", "deactivate": "account_inactive", "unknown": "invalid_auth"}[how]
    if how == "unknown":
        a = SlackAdapter("team", {"api_url": slack.base_url}, lambda name: "xoxb-nobody")
    else:
        getattr(slack, how)()
        a = adapter(slack)
    try:
        with pytest.raises(ConfigurationError, match=expected):
            await poll_all(a, None)
        steps = await a.probe()
        assert steps[0].status == "fail" and expected in steps[0].detail
    finally:
        await a.close()


async def test_probe_names_the_bot_and_configured_conversations(slack: FakeSlack) -> None:
    support = slack.add_channel("support")
    a = adapter(slack, conversations=[support.id, "C0MISSING"])
    try:
        auth, conversations = await a.probe()
        assert auth.status == "ok" and TEAM_ID in auth.detail
        assert conversations.status == "fail" and "channel_not_found" in conversations.detail
        with pytest.raises(ConfigurationError, match="C0MISSING"):
            await poll_all(a, None)
    finally:
        await a.close()


def test_the_cursor_is_json_and_a_garbled_one_starts_over() -> None:
    from adapters.slack.poll import Conversation, Thread, dump_cursor, load_cursor

    state = {"C1": Conversation("1.000001", "1.000002", {"1.000001": Thread("1.000002", "1.000003")}, [])}
    assert load_cursor(dump_cursor(state)) == state
    assert json.loads(dump_cursor(state))["v"] == 1
    assert load_cursor("not json") == {} and load_cursor('{"v": 1}') == {}


def test_bad_options_name_the_channel_and_key() -> None:
    with pytest.raises(ConfigurationError, match="team: conversations must be a list"):
        SlackAdapter("team", {"conversations": "C1"}, lambda name: TOKEN)
    with pytest.raises(ConfigurationError, match="team: poll_seconds must be a positive number"):
        SlackAdapter("team", {"poll_seconds": "often"}, lambda name: TOKEN)
