"""The Mastodon adapter through its real HTTP client against FakeMastodon (omnidesk/demo/fakes/)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from adapters.base import (
    FLAG_QUARANTINED,
    Address,
    Batch,
    ConfigurationError,
    Deletion,
    Edit,
    Outbound,
    PermanentError,
    TransientError,
)
from adapters.mastodon.channel import MastodonAdapter
from adapters.mastodon.content import countable_length
from omnidesk.demo.fakes.mastodon import DOMAIN, TOKEN, FakeMastodon

ANN = ("ann", "mastodon.social", "Ann Lee")
MARYAM = ("maryam", "fosstodon.org", "مریم احمدی")
WEI = ("wei", None, "王伟")  # an account of the desk's own instance


@pytest.fixture
def social() -> Iterator[FakeMastodon]:
    with FakeMastodon() as fake:
        yield fake


def adapter_for(fake: FakeMastodon, token: str = TOKEN, **options: Any) -> MastodonAdapter:
    return MastodonAdapter("social", {"instance": fake.base_url, "refresh_minutes": 0, **options},
                           lambda name: token)


@pytest.fixture
async def desk(social: FakeMastodon) -> AsyncIterator[MastodonAdapter]:
    adapter = adapter_for(social)
    yield adapter
    await adapter.close()


def person(fake: FakeMastodon, who: tuple[str, str | None, str]) -> Any:
    return fake.account(who[0], who[1], display_name=who[2])


async def drain(adapter: MastodonAdapter, cursor: str | None) -> list[Batch]:
    """Every batch of one poll, each taken as if committed before the next is asked for."""
    return [batch async for batch in adapter.poll(cursor)]


def records(batches: list[Batch]) -> list[Any]:
    return [r for b in batches for r in b.records]


def updates(batches: list[Batch]) -> list[Any]:
    return [u for b in batches for u in b.updates]


def reply(text: str, context: dict[str, Any] | None = None, *, ref: str = "<r1@desk.example>",
          scope: str = "127.0.0.1", **meta: Any) -> Outbound:
    ctx = context or {}
    status = ctx.get("mastodon", {}).get("status_id")
    acct = ctx.get("mastodon", {}).get("acct", "ann@mastodon.social")
    return Outbound(ref, (Address("mastodon", acct),), text, in_reply_to=status,
                    scope=scope if status else "", context=ctx, meta=meta)


# -- in ----------------------------------------------------------------------------------------


async def test_pages_forward_with_min_id_and_the_link_header(social: FakeMastodon,
                                                             desk: MastodonAdapter) -> None:
    ann = person(social, ANN)
    for n in range(200):
        social.mention(ann, f"message {n}")
    batches = await drain(desk, None)
    assert [len(b.records) for b in batches if b.records] == [80, 80, 40]
    assert [r.text for r in records(batches)] == [f"@support@{DOMAIN} message {n}" for n in range(200)]
    calls = social.calls("notifications")
    assert calls[0].params["min_id"] == "0"  # a new desk reads from the oldest notification on
    # Each next page is the Link header's rel="prev" (newer than the page): min_id = its newest.
    # A short page is the newest there is: the next poll goes on from it.
    assert [c.params.get("min_id") for c in calls] == ["0", "1080", "1160"]
    social.mention(ann, "later")
    again = await drain(desk, batches[-1].cursor)
    assert [r.text for r in records(again)] == [f"@support@{DOMAIN} later"]


async def test_identity_always_carries_the_instance(social: FakeMastodon, desk: MastodonAdapter) -> None:
    social.mention(person(social, ANN), "remote")
    social.mention(person(social, WEI), "local")
    found = records(await drain(desk, None))
    assert [r.sender for r in found] == [Address("mastodon", "ann@mastodon.social", "Ann Lee"),
                                         Address("mastodon", f"wei@{DOMAIN}", "王伟")]
    assert {r.scope for r in found} == {"127.0.0.1"}
    meta = found[0].meta["mastodon"]
    assert meta["acct"] == "ann@mastodon.social" and meta["visibility"] == "public"
    assert meta["max_characters"] == 500 and meta["status_id"] == found[0].external_id


async def test_a_held_direct_message_is_read_then_its_request_accepted_after_the_commit(
        social: FakeMastodon, desk: MastodonAdapter) -> None:
    maryam = person(social, MARYAM)
    social.mention(maryam, "سلام، سفارشم نرسیده", visibility="direct")
    assert social.held and not [n for n in social.notifications if not n.filtered]
    poll = desk.poll(None)
    batch = await anext(b async for b in poll if b.records)
    assert [r.text for r in batch.records] == [f"@support@{DOMAIN} سلام، سفارشم نرسیده"]
    assert batch.commit_first and batch.records[0].meta["mastodon"]["visibility"] == "direct"
    assert social.calls("accept") == []  # nothing accepted before the batch is committed
    rest = [b async for b in poll]  # resumed: committed
    assert len(social.calls("accept")) == 1 and not social.held
    social.mention(maryam, "هنوز منتظرم", visibility="direct")  # accepted: straight into the main list
    later = records(await drain(desk, rest[-1].cursor))
    # The merged notification may come once more through the main list; the store absorbs repeats.
    assert [r.text for r in later][-1] == f"@support@{DOMAIN} هنوز منتظرم"
    assert {r.external_id for r in later[:-1]} <= {batch.records[0].external_id}


async def test_a_crash_before_the_commit_leaves_the_request_to_be_read_again(
        social: FakeMastodon, desk: MastodonAdapter) -> None:
    social.mention(person(social, MARYAM), "first", visibility="direct")
    poll = desk.poll(None)
    await anext(b async for b in poll if b.records)
    await poll.aclose()  # the desk died before committing
    assert social.held and social.calls("accept") == []
    again = records(await drain(desk, None))
    assert [r.text for r in again] == [f"@support@{DOMAIN} first"] and not social.held


async def test_a_request_someone_accepted_meanwhile_is_no_error(social: FakeMastodon,
                                                                 desk: MastodonAdapter) -> None:
    social.mention(person(social, MARYAM), "سلام", visibility="direct")
    poll = desk.poll(None)
    await anext(b async for b in poll if b.records)
    social.held.clear()  # accepted (or dismissed) in Mastodon's own interface before we got to it
    rest = [b async for b in poll]
    assert len(social.calls("accept")) == 1 and rest[-1].cursor


async def test_without_accept_requests_held_messages_are_read_once_and_left_held(
        social: FakeMastodon) -> None:
    adapter = adapter_for(social, accept_requests=False)
    maryam = person(social, MARYAM)
    social.mention(maryam, "one", visibility="direct")
    try:
        first = await drain(adapter, None)
        assert [r.text for r in records(first)] == [f"@support@{DOMAIN} one"]
        assert social.held and social.calls("accept") == []
        asked = len(social.calls("notifications"))
        assert records(await drain(adapter, first[-1].cursor)) == []
        assert len(social.calls("notifications")) == asked + 1  # the main list only: the request is unchanged
        social.mention(maryam, "two", visibility="direct")
        third = records(await drain(adapter, first[-1].cursor))
        assert [r.text for r in third][-1] == f"@support@{DOMAIN} two"
    finally:
        await adapter.close()


async def test_an_update_notification_is_an_edit(social: FakeMastodon, desk: MastodonAdapter) -> None:
    said = social.mention(person(social, WEI), "我的订单还没到")
    first = await drain(desk, None)
    social.edit(said, "订单到了，谢谢", notify=True)
    found = updates(await drain(adapter_for(social, follow_days=0), first[-1].cursor))
    assert len(found) == 1 and isinstance(found[0], Edit)
    assert (found[0].external_id, found[0].scope) == (said["id"], "127.0.0.1")
    assert found[0].text == f"@support@{DOMAIN} 订单到了，谢谢"


async def test_a_changed_edited_at_is_an_edit_and_a_404_a_deletion(social: FakeMastodon,
                                                                   desk: MastodonAdapter) -> None:
    ann = person(social, ANN)
    edited, deleted, kept = (social.mention(ann, t) for t in ("typo", "oops", "fine"))
    cursor = (await drain(desk, None))[-1].cursor
    assert social.calls("status") == []  # just read: nothing to re-read yet
    social.edit(edited, "no typo")  # no notification: only re-reading the status shows it
    social.delete(deleted)
    batches = await drain(desk, cursor)
    found = updates(batches)
    assert [type(u) for u in found] == [Edit, Deletion]
    assert found[0].external_id == edited["id"] and found[0].text == f"@support@{DOMAIN} no typo"
    assert found[1].external_id == deleted["id"]
    watched = json.loads(batches[-1].cursor or "{}")["watch"]
    assert deleted["id"] not in watched and kept["id"] in watched
    assert updates(await drain(desk, batches[-1].cursor)) == []  # each reported once


async def test_statuses_are_re_read_only_every_refresh_minutes(social: FakeMastodon) -> None:
    adapter = adapter_for(social, refresh_minutes=10)
    social.mention(person(social, ANN), "hello")
    try:
        cursor = (await drain(adapter, None))[-1].cursor
        before = len(social.calls("status"))
        await drain(adapter, cursor)
        assert len(social.calls("status")) == before
    finally:
        await adapter.close()


async def test_hostile_html_is_made_safe_text(social: FakeMastodon, desk: MastodonAdapter) -> None:
    hostile = ('<p><span class="h-card"><a href="http://x/@support" class="u-url mention">'
               '@<span>support</span></a></span> see <a href="https://evil.example/pay">our shop</a>'
               '<script>alert("x")</script><style>p{display:none}</style></p>'
               '<p>invoice\u202egnp.exe \x1b[31mred\x07 &#27;]52;c;AAAA&#7; done</p>')
    social.mention(person(social, ANN), content=hostile)
    (record,) = records(await drain(desk, None))
    assert record.text == ("@support see our shop (https://evil.example/pay)\n\n"
                           "invoicegnp.exe [31mred ]52;c;AAAA done")
    assert not any(ch in record.text for ch in "\x1b\x07\u202e") and "alert" not in record.text
    assert record.html is None  # the HTML is never handed on to be rendered


async def test_a_mention_of_an_account_of_the_instance_reads_with_its_domain(social: FakeMastodon,
                                                                             desk: MastodonAdapter) -> None:
    status = social.mention(person(social, ANN), "hi")
    status["mentions"][0]["acct"] = "support"  # the instance names its own accounts without a domain
    (record,) = records(await drain(desk, None))
    assert record.text.startswith(f"@support@{DOMAIN} ")


async def test_content_warning_and_reply_threading(social: FakeMastodon, desk: MastodonAdapter) -> None:
    ann = person(social, ANN)
    first = social.mention(ann, "the parcel", spoiler_text="complaint")
    social.mention(ann, "still waiting", in_reply_to=first)
    a, b = records(await drain(desk, None))
    assert a.text == f"[content warning: complaint]\n\n@support@{DOMAIN} the parcel"
    assert b.thread_refs == (first["id"],) and a.thread_refs == ()


async def test_media_are_lazy_attachments_fetched_without_the_token(social: FakeMastodon,
                                                                    desk: MastodonAdapter) -> None:
    status = social.mention(person(social, ANN), "the box arrived like this")
    social.attach(status, b"\xff\xd8jpeg", name="damaged.jpg", description="a crushed box")
    (record,) = records(await drain(desk, None))
    (picture,) = record.attachments
    assert (picture.filename, picture.content_type, picture.data) == ("damaged.jpg", "image/jpeg", b"")
    assert record.text.endswith("\n\n[media: a crushed box]")
    assert await desk.fetch_attachment(picture.fetch_ref or "") == b"\xff\xd8jpeg"
    (download,) = [r for r in social.requests if r.path.endswith("/damaged.jpg")]
    assert download.header("authorization") is None


async def test_an_unreadable_notification_is_quarantined_not_fatal(social: FakeMastodon,
                                                                   desk: MastodonAdapter) -> None:
    ann = person(social, ANN)
    broken = social.mention(ann, "x")
    social.mention(ann, "fine")
    del broken["created_at"]
    found = records(await drain(desk, None))
    assert FLAG_QUARANTINED in found[0].flags and "created_at" in found[0].defects[0]
    assert found[1].text.endswith("fine")


# -- errors ------------------------------------------------------------------------------------


async def test_429_carries_the_reset_time_as_retry_after(social: FakeMastodon, desk: MastodonAdapter) -> None:
    social.rate_limited("notifications", reset_in=30)
    with pytest.raises(TransientError) as caught:
        await drain(desk, None)
    assert caught.value.retry_after is not None and 25 <= caught.value.retry_after <= 30
    social.fail("notifications", status=429, body={"error": "Too many requests"},
                headers={"Retry-After": "7", "X-RateLimit-Reset": "2000-01-01T00:00:00.000Z"})
    with pytest.raises(TransientError) as again:
        await drain(desk, None)
    assert again.value.retry_after == 7.0


async def test_a_5xx_is_transient(social: FakeMastodon, desk: MastodonAdapter) -> None:
    social.fail("notifications", status=503, body={"error": "Service Unavailable"})
    with pytest.raises(TransientError, match="503"):
        await drain(desk, None)
    social.fail("statuses.create", status=502)
    with pytest.raises(TransientError, match="502"):
        await desk.send(reply("hello"))


async def test_a_revoked_token_is_a_configuration_error_naming_the_channel(social: FakeMastodon,
                                                                            desk: MastodonAdapter) -> None:
    social.revoke()
    with pytest.raises(ConfigurationError, match=r"channel social: .* refused the access token"
                                                 r" \(The access token was revoked\)"):
        await drain(desk, None)


async def test_an_instance_url_that_is_no_url_is_refused() -> None:
    with pytest.raises(ConfigurationError, match=r"channel social: instance 'mastodon\.social' is not"):
        MastodonAdapter("social", {"instance": "mastodon.social"}, lambda name: TOKEN)


# -- out ---------------------------------------------------------------------------------------


async def _answered(social: FakeMastodon, desk: MastodonAdapter, who: tuple[str, str | None, str],
                    text: str, visibility: str) -> dict[str, Any]:
    social.mention(person(social, who), text, visibility=visibility)
    (record,) = [r for r in records(await drain(desk, None)) if r.text.endswith(text)]
    return dict(record.meta)


async def test_a_direct_message_is_answered_directly_a_public_mention_unlisted(
        social: FakeMastodon, desk: MastodonAdapter) -> None:
    social.follow(person(social, ANN))  # so her direct message is not held
    ann = social.accounts[next(iter(social.following))]
    social.mention(ann, "private question", visibility="direct")
    social.mention(ann, "public question")
    direct, public = (dict(r.meta) for r in records(await drain(desk, None)))
    sent = await desk.send(reply("answered privately", direct))
    posted = social.statuses[sent.external_id]
    assert posted["visibility"] == "direct" and posted["in_reply_to_id"] == direct["mastodon"]["status_id"]
    assert posted["mentions"][0]["acct"] == "ann@mastodon.social"  # a direct status reaches whom it names
    again = await desk.send(reply("answered in the thread", public, ref="<r2@desk.example>"))
    assert social.statuses[again.external_id]["visibility"] == "unlisted"
    chosen = await desk.send(reply("for everyone", public, ref="<r3@desk.example>", visibility="public"))
    assert social.statuses[chosen.external_id]["visibility"] == "public"
    with pytest.raises(PermanentError, match="visibility 'everyone' is not one of"):
        await desk.send(reply("x", public, ref="<r4@desk.example>", visibility="everyone"))


async def test_the_handle_starts_the_reply_unless_the_text_names_it(social: FakeMastodon,
                                                                    desk: MastodonAdapter) -> None:
    meta = await _answered(social, desk, ANN, "hello", "public")
    await desk.send(reply("thanks", meta))
    await desk.send(reply("thanks @Ann@mastodon.social, sorted", meta, ref="<r2@desk.example>"))
    texts = [json.loads(c.body)["status"] if c.body.startswith(b"{") else c.params["status"]
             for c in social.calls("statuses.create")]
    assert texts == ["@ann@mastodon.social thanks", "thanks @Ann@mastodon.social, sorted"]


async def test_a_retried_send_posts_once(social: FakeMastodon, desk: MastodonAdapter) -> None:
    meta = await _answered(social, desk, ANN, "hello", "public")
    first = await desk.send(reply("only once", meta))
    second = await desk.send(reply("only once", meta))  # the outbox retrying after a lost answer
    assert first.external_id == second.external_id and len(social.posted()) == 1
    keys = {c.header("idempotency-key") for c in social.calls("statuses.create")}
    assert keys == {"<r1@desk.example>"}


async def test_a_long_reply_is_cut_at_the_instance_limit_and_a_retry_repeats_no_part() -> None:
    with FakeMastodon(max_characters=120) as social:
        adapter = adapter_for(social)
        try:
            meta = await _answered(social, adapter, MARYAM, "سلام", "direct")
            assert meta["mastodon"]["max_characters"] == 120
            text = " ".join(["این یک پاسخ طولانی است."] * 12 + ["这是一个很长的回答。"] * 6)
            social.fail("statuses.create", status=503, times=1)
            with pytest.raises(TransientError):
                await adapter.send(reply(text, meta))  # the first part fails: nothing went out
            posted_first = len(social.posted())
            receipt = await adapter.send(reply(text, meta))
            parts = [receipt.external_id, *receipt.also_ids]
            assert posted_first == 0 and len(parts) >= 3 and len(social.posted()) == len(parts)
            statuses = [social.statuses[p] for p in parts]
            assert all(s["visibility"] == "direct" for s in statuses)
            assert [s["in_reply_to_id"] for s in statuses] == [meta["mastodon"]["status_id"], *parts[:-1]]
            bodies = [c.params["status"] for c in social.calls("statuses.create")[-len(parts):]]
            assert all(b.startswith("@maryam@fosstodon.org ") and countable_length(b) <= 120 for b in bodies)
            again = await adapter.send(reply(text, meta))  # a retry after a crash mid-way
            assert [again.external_id, *again.also_ids] == parts and len(social.posted()) == len(parts)
        finally:
            await adapter.close()


async def test_a_later_part_refused_for_good_says_what_went_out() -> None:
    from omnidesk.demo.fakes.mastodon import MastodonError

    with FakeMastodon(max_characters=100) as social:
        adapter = adapter_for(social)
        try:
            meta = await _answered(social, adapter, WEI, "在吗", "public")
            create = social._statuses_create

            def second_refused(request: Any) -> Any:
                if len(social.posted()) == 1:
                    raise MastodonError(422, "Validation failed: Text has been taken")
                return create(request)

            social._statuses_create = second_refused  # type: ignore[method-assign]
            with pytest.raises(PermanentError) as caught:
                await adapter.send(reply("我们已经处理了您的订单。" * 20, meta))
            (first,) = social.posted()
            assert str(caught.value).startswith(f"sent 1 of 3 parts (ids {first['id']}); part 2 failed: ")
            assert "Text has been taken" in str(caught.value)
        finally:
            await adapter.close()


async def test_a_deleted_question_is_still_answered(social: FakeMastodon, desk: MastodonAdapter) -> None:
    ann = person(social, ANN)
    status = social.mention(ann, "question")
    (record,) = records(await drain(desk, None))
    social.delete(status)
    sent = await desk.send(reply("answer", dict(record.meta)))
    assert social.statuses[sent.external_id]["in_reply_to_id"] is None
    assert social.statuses[sent.external_id]["mentions"][0]["acct"] == "ann@mastodon.social"


async def test_a_new_message_to_an_address_goes_direct(social: FakeMastodon, desk: MastodonAdapter) -> None:
    person(social, ANN)
    sent = await desk.send(Outbound("<new@desk.example>", (Address("mastodon", "ann@mastodon.social"),),
                                    "We have news about your order"))
    assert social.statuses[sent.external_id]["visibility"] == "direct"
    assert sent.scope == "127.0.0.1"


async def test_attachments_are_refused_not_dropped(social: FakeMastodon, desk: MastodonAdapter) -> None:
    from adapters.base import Attachment

    out = reply("see file")
    out.attachments = (Attachment("a.pdf", "application/pdf", b"%PDF"),)
    with pytest.raises(PermanentError, match="text only"):
        await desk.send(out)


def test_reply_note_says_visibility_and_characters_left() -> None:
    direct = {"mastodon": {"visibility": "direct", "acct": "ann@mastodon.social", "max_characters": 500}}
    assert MastodonAdapter.reply_note("Thanks!", direct) == "direct · 12 of 500 characters"  # "@ann " + text
    public = {"mastodon": {"visibility": "public", "acct": "ann@mastodon.social", "max_characters": 500}}
    note = MastodonAdapter.reply_note("x", public)
    assert note.startswith("unlisted · 6 of 500 characters (public mention")
    over = MastodonAdapter.reply_note("word " * 120, direct)
    assert over.startswith("direct · 605 of 500 characters: over the limit by 105, goes out as 2 statuses")
    assert MastodonAdapter.reply_note("hi", {}) == "direct · 2 of 500 characters"
    assert MastodonAdapter.reply_note("سلام " * 3, direct) == "direct · 20 of 500 characters"


def test_reply_note_says_the_visibility_the_agent_chose() -> None:
    from adapters.base import CHOSEN
    from omnidesk.registry import reply_note

    public = {"mastodon": {"visibility": "public", "acct": "ann@mastodon.social", "max_characters": 500}}
    assert reply_note("mastodon", "x", public, {"visibility": "public"}) == "public · 6 of 500 characters"
    assert reply_note("mastodon", "x", public, {}).startswith("unlisted · ")  # nothing chosen: the default
    bogus = {**public, CHOSEN: {"visibility": "everyone"}}  # not a visibility: the default, never a crash
    assert MastodonAdapter.reply_note("x", bogus).startswith("unlisted · ")


async def test_probe_reports_the_account_the_instance_and_the_policy(social: FakeMastodon,
                                                                    desk: MastodonAdapter) -> None:
    steps = await desk.probe()
    assert [(s.step, s.status) for s in steps] == [("mastodon verify_credentials", "ok"),
                                                   ("mastodon instance", "ok"),
                                                   ("mastodon notification policy", "ok")]
    assert steps[0].detail.startswith(f"@support@{DOMAIN}") and "500 characters" in steps[1].detail
    assert "private_mentions" in steps[2].detail
    social.revoke()
    failed = await adapter_for(social).probe()
    assert failed[0].status == "fail" and "revoked" in failed[0].detail



def test_lone_surrogates_from_the_json_become_replacement_characters() -> None:
    from adapters.mastodon import notifications as notes

    status = json.loads('{"id": "1", "created_at": "2026-11-20T10:00:00.000Z", "visibility": "direct",'
                        ' "content": "<p>bad \\ud800 text</p>", "mentions": [],'
                        ' "account": {"acct": "ann\\udfff@mastodon.social", "display_name": "Ann \\ud83d"}}')
    record = notes.inbound(status, notes.Instance("127.0.0.1", DOMAIN, 500))
    for text in (record.text, record.sender.address, record.sender.display_name):
        text.encode("utf-8")  # SQLite takes it
    assert record.sender.address == "ann\ufffd@mastodon.social" and record.text == "bad \ufffd text"
