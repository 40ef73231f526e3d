"""The Telegram adapter through its real HTTP client against FakeTelegram (omnidesk/demo/fakes/)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.base import (
    FLAG_QUARANTINED,
    Address,
    Attachment,
    Batch,
    ConfigurationError,
    Edit,
    Outbound,
    PermanentError,
    TransientError,
)
from adapters.telegram.channel import TelegramAdapter
from omnidesk.demo.fakes.httpfake import Request, Response
from omnidesk.demo.fakes.telegram import BOT, TOKEN, FakeTelegram

REPO = Path(__file__).resolve().parents[2]
ANNA = FakeTelegram.user(5550001, "Anna", last_name="Kovács", username="anna_k")
MARYAM = FakeTelegram.user(5550002, "مریم", last_name="احمدی")
WEI = FakeTelegram.user(5550003, "伟", last_name="王")


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


def adapter_for(fake: FakeTelegram, token: str = TOKEN, **options: Any) -> TelegramAdapter:
    return TelegramAdapter("bot", {"api_url": fake.api_url, **options}, lambda name: token)


@pytest.fixture
async def bot(tg: FakeTelegram) -> AsyncIterator[TelegramAdapter]:
    adapter = adapter_for(tg)
    yield adapter
    await adapter.close()


async def drain(adapter: TelegramAdapter, cursor: str | None) -> list[Batch]:
    """Every batch of one poll, each taken as if committed before the next is asked for."""
    return [batch async for batch in adapter.poll(cursor)]


def offsets(fake: FakeTelegram) -> list[int | None]:
    return [r.params.get("offset") for r in fake.calls("getUpdates")]


async def test_updates_across_polls_are_confirmed_only_after_their_batch(tg: FakeTelegram,
                                                                         bot: TelegramAdapter) -> None:
    for n in range(150):
        tg.say(ANNA, f"message {n}")
    batches = await drain(bot, None)
    assert [len(b.records) for b in batches] == [100, 50]
    assert [r.text for b in batches for r in b.records] == [f"message {n}" for n in range(150)]
    first, second = (int(b.cursor or 0) for b in batches)
    # The first request confirms nothing; each later one confirms the batch before it, once committed.
    assert offsets(tg) == [None, first, second]
    assert all(b.commit_first for b in batches)
    tg.say(ANNA, "later")
    again = await drain(bot, batches[-1].cursor)
    assert [r.text for b in again for r in b.records] == ["later"]
    assert offsets(tg)[3] == second


async def test_a_batch_not_committed_is_delivered_again(
        tg: FakeTelegram, bot: TelegramAdapter) -> None:
    tg.say(ANNA, "first")
    tg.say(ANNA, "second")
    polling = bot.poll(None)
    batch = await anext(polling)
    assert [r.text for r in batch.records] == ["first", "second"]
    await polling.aclose()  # a crash before the commit: the cursor was never stored
    fresh = adapter_for(tg)
    try:
        redelivered = await drain(fresh, None)
    finally:
        await fresh.close()
    assert [r.external_id for b in redelivered for r in b.records] == [r.external_id for r in batch.records]


async def test_records_carry_identity_scope_and_meta(
        tg: FakeTelegram, bot: TelegramAdapter) -> None:
    sent = tg.say(ANNA, "Szia, a rendelésem?")
    (batch,) = await drain(bot, None)
    (record,) = batch.records
    assert record.sender == Address("telegram", "5550001", "Anna Kovács (@anna_k)")
    assert (record.external_id, record.scope) == (str(sent["message_id"]), "5550001")
    assert record.chat_like and record.subject == ""
    assert record.meta == {"telegram": {"chat_id": 5550001, "chat_type": "private",
                                        "message_id": sent["message_id"]}}


async def test_persian_and_chinese_text_arrive_intact(
        tg: FakeTelegram, bot: TelegramAdapter) -> None:
    tg.say(MARYAM, "سلام، سفارش من هنوز نرسیده است. لطفاً پیگیری کنید.")
    tg.say(WEI, "你好，我的退款还没有到账。")
    (batch,) = await drain(bot, None)
    assert [(r.sender.display_name, r.text) for r in batch.records] == [
        ("مریم احمدی", "سلام، سفارش من هنوز نرسیده است. لطفاً پیگیری کنید."),
        ("伟 王", "你好，我的退款还没有到账。"),
    ]


async def test_an_edit_becomes_an_edit_of_the_message(
        tg: FakeTelegram, bot: TelegramAdapter) -> None:
    original = tg.say(ANNA, "my order is 123")
    (first,) = await drain(bot, None)
    tg.edit(original, "my order is 124")
    (second,) = await drain(bot, first.cursor)
    assert second.records == []
    (edit,) = second.updates
    assert isinstance(edit, Edit)
    assert (edit.external_id, edit.scope, edit.text) == (str(original["message_id"]), "5550001",
                                                         "my order is 124")


def _mention(text: str, handle: str) -> list[dict[str, Any]]:
    at = text.index(handle)
    return [{"type": "mention", "offset": len(text[:at].encode("utf-16-le")) // 2,
             "length": len(handle.encode("utf-16-le")) // 2}]


async def test_in_a_group_only_messages_to_the_bot_are_taken(
        tg: FakeTelegram, bot: TelegramAdapter) -> None:
    group = tg.group_chat(-1001234567890, "Customers")
    tg.say(ANNA, "talking among ourselves", chat=group)
    tg.say(ANNA, "@someone_else hi", chat=group, entities=_mention("@someone_else hi", "@someone_else"))
    text = "😀 退款 @desk_test_bot where is it?"  # the emoji is two UTF-16 units
    asked = tg.say(ANNA, text, chat=group, entities=_mention(text, "@desk_test_bot"))
    ours = tg._send_message({"chat_id": group["id"], "text": "We are on it."})
    answer = tg.say(WEI, "thanks!", chat=group, reply_to=ours)
    tg.say(WEI, "replying to Anna", chat=group, reply_to=asked)
    (batch,) = await drain(bot, None)
    assert [(r.external_id, r.scope) for r in batch.records] == [
        (str(asked["message_id"]), "-1001234567890"), (str(answer["message_id"]), "-1001234567890")]
    assert batch.records[1].thread_refs == (str(ours["message_id"]),)
    assert batch.records[0].meta["telegram"]["chat_type"] == "supergroup"
    assert len(tg.calls("getMe")) == 1


async def test_photo_and_document_are_lazy_and_fetched_again_after_the_link_expired(
        tg: FakeTelegram, bot: TelegramAdapter) -> None:
    tg.send_file(ANNA, "photo", b"\xff\xd8 big photo", caption="the broken kettle")
    tg.send_file(MARYAM, "document", b"%PDF invoice", file_name="فاکتور.pdf", mime_type="application/pdf")
    tg.send_file(WEI, "voice", b"OggS voice")
    tg.send_file(ANNA, "video", b"\x00\x00 mp4", mime_type="video/mp4")
    (batch,) = await drain(bot, None)
    photo, document, voice, video = (r.attachments[0] for r in batch.records)
    assert await bot.fetch_attachment(video.fetch_ref or "") == b"\x00\x00 mp4"
    assert batch.records[0].text == "the broken kettle"
    assert (document.filename, document.content_type, document.data) == ("فاکتور.pdf", "application/pdf", b"")
    assert voice.content_type == "audio/ogg" and voice.filename.endswith(".ogg")
    assert photo.fetch_ref and photo.size == len(b"\xff\xd8 big photo")  # the largest of the sizes
    assert await bot.fetch_attachment(photo.fetch_ref) == b"\xff\xd8 big photo"
    assert await bot.fetch_attachment(document.fetch_ref or "") == b"%PDF invoice"
    asked = len(tg.calls("getFile"))
    tg.expire_file_links()
    assert await bot.fetch_attachment(photo.fetch_ref) == b"\xff\xd8 big photo"
    assert len(tg.calls("getFile")) == asked + 1
    with pytest.raises(PermanentError, match="wrong file_id"):
        await bot.fetch_attachment("no-such-file")


async def test_a_reply_answers_the_customers_message_as_plain_text(tg: FakeTelegram,
                                                                   bot: TelegramAdapter) -> None:
    question = tg.say(ANNA, "hello?")
    (batch,) = await drain(bot, None)
    record = batch.records[0]
    text = "Your order *A-12345* ships [today](x) - sorry_for_the_wait!"  # Markdown that would be refused
    receipt = await bot.send(Outbound("m1", (record.sender,), text, in_reply_to=record.external_id,
                                      scope=record.scope, context=record.meta))
    (sent,) = tg.sent(5550001)
    assert sent["text"] == text and sent["reply_to_message"]["message_id"] == question["message_id"]
    (call,) = tg.calls("sendMessage")
    assert "parse_mode" not in call.params
    assert call.params["reply_parameters"] == {"message_id": question["message_id"],
                                               "allow_sending_without_reply": True}
    assert (receipt.external_id, receipt.scope, receipt.also_ids) == (str(sent["message_id"]), "5550001", ())


async def test_a_reply_without_context_goes_to_the_private_chat_of_the_to_address(
        tg: FakeTelegram, bot: TelegramAdapter) -> None:
    tg.private_chat(WEI)
    await bot.send(Outbound("m1", (Address("telegram", "5550003"),), "您好"))
    assert [m["text"] for m in tg.sent(5550003)] == ["您好"]
    with pytest.raises(PermanentError, match="no Telegram chat"):
        await bot.send(Outbound("m2", (Address("email", "a@example.com"),), "hi"))
    with pytest.raises(PermanentError, match="text only; the reply has 1 attachment"):
        await bot.send(Outbound("m3", (Address("telegram", "5550003"),), "see file",
                                attachments=(Attachment("a.txt", "text/plain", b"x"),)))
    assert len(tg.sent(5550003)) == 1


async def test_a_long_reply_goes_in_two_parts_cut_at_a_sentence(
        tg: FakeTelegram, bot: TelegramAdapter) -> None:
    tg.private_chat(ANNA)
    sentence = "Ez egy hosszú mondat a visszatérítésről. "
    text = (sentence * (5000 // len(sentence) + 1))[:5000].strip()
    receipt = await bot.send(Outbound("m1", (Address("telegram", "5550001"),), text))
    parts = [m["text"] for m in tg.sent(5550001)]
    assert len(parts) == 2 and all(len(p) <= 4096 for p in parts)
    assert parts[0].endswith(".") and " ".join(parts) == text
    assert receipt.also_ids == (str(tg.sent(5550001)[1]["message_id"]),)


class SecondPartFlooded(FakeTelegram):
    """Flood control on the second sendMessage only, as a long reply's parts meet it."""

    def handle(self, request: Request) -> Response:
        if self.route_key(request) == "sendMessage" and len(self.calls("sendMessage")) == 2:
            return Response(429, {"ok": False, "error_code": 429, "parameters": {"retry_after": 1},
                                  "description": "Too Many Requests: retry after 1"})
        return super().handle(request)


async def test_a_later_part_waits_out_flood_control_instead_of_failing_the_reply() -> None:
    with SecondPartFlooded() as tg:
        tg.private_chat(ANNA)
        bot = adapter_for(tg)
        try:
            receipt = await bot.send(Outbound("m1", (Address("telegram", "5550001"),), "word " * 1000))
        finally:
            await bot.close()
        assert len(tg.calls("sendMessage")) == 3 and len(tg.sent(5550001)) == 2
        assert receipt.also_ids == (str(tg.sent(5550001)[1]["message_id"]),)


async def test_flood_control_is_transient_with_its_retry_after(
        tg: FakeTelegram, bot: TelegramAdapter) -> None:
    tg.private_chat(ANNA)
    tg.flood("sendMessage", retry_after=14)
    with pytest.raises(TransientError) as caught:
        await bot.send(Outbound("m1", (Address("telegram", "5550001"),), "hi"))
    assert caught.value.retry_after == 14
    tg.flood("getUpdates", retry_after=3)
    with pytest.raises(TransientError) as polled:
        await drain(bot, None)
    assert polled.value.retry_after == 3


async def test_server_errors_and_an_unreachable_server_are_transient(tg: FakeTelegram,
                                                                     bot: TelegramAdapter) -> None:
    tg.private_chat(ANNA)
    tg.fail("sendMessage", status=502, body={"ok": False, "error_code": 502, "description": "Bad Gateway"})
    with pytest.raises(TransientError, match="Bad Gateway"):
        await bot.send(Outbound("m1", (Address("telegram", "5550001"),), "hi"))
    gone = TelegramAdapter("bot", {"api_url": "http://127.0.0.1:9"}, lambda name: TOKEN)
    try:
        with pytest.raises(TransientError) as caught:
            await drain(gone, None)
    finally:
        await gone.close()
    assert TOKEN not in str(caught.value)


async def test_a_wrong_token_is_a_configuration_error_that_does_not_show_it(tg: FakeTelegram) -> None:
    wrong = adapter_for(tg, token="999:WRONG-secret")
    try:
        with pytest.raises(ConfigurationError, match="the bot token was refused") as caught:
            await drain(wrong, None)
        steps = await wrong.probe()
    finally:
        await wrong.close()
    assert "WRONG-secret" not in str(caught.value)
    assert [s.status for s in steps] == ["fail"] and "token was refused" in steps[0].detail


async def test_a_user_who_blocked_the_bot_is_a_permanent_error(
        tg: FakeTelegram, bot: TelegramAdapter) -> None:
    tg.private_chat(ANNA)
    tg.block(ANNA)
    with pytest.raises(PermanentError, match="bot was blocked by the user"):
        await bot.send(Outbound("m1", (Address("telegram", "5550001"),), "hi"))


async def test_a_bad_request_is_permanent_with_telegrams_words(
        tg: FakeTelegram, bot: TelegramAdapter) -> None:
    with pytest.raises(PermanentError, match="chat not found"):
        await bot.send(Outbound("m1", (Address("telegram", "4040404"),), "hi"))


async def test_a_second_poller_or_a_webhook_is_a_transient_conflict(tg: FakeTelegram,
                                                                    bot: TelegramAdapter) -> None:
    tg.webhook_url = "https://example.com/hook"
    with pytest.raises(TransientError, match="another program is polling this bot or a webhook"):
        await drain(bot, None)
    steps = await bot.probe()
    assert [s.status for s in steps] == ["ok", "fail"] and "@desk_test_bot" in steps[0].detail


async def test_waiting_holds_what_arrives_for_the_next_poll_without_confirming_it(
        tg: FakeTelegram, bot: TelegramAdapter) -> None:
    tg.say(ANNA, "one")
    (batch,) = await drain(bot, None)
    tg.say(ANNA, "two")
    await bot.wait_for_changes(5)
    assert offsets(tg)[-1] == int(batch.cursor or 0)  # confirms only the committed batch
    assert [u["message"]["text"] for u in tg.updates] == ["two"]  # still unconfirmed at Telegram
    (news,) = await drain(bot, batch.cursor)
    assert [r.text for r in news.records] == ["two"]
    assert len(tg.calls("getUpdates")) == 4  # no request in between: the held answer was used


async def test_a_contact_of_the_sender_adds_their_phone(
        tg: FakeTelegram, bot: TelegramAdapter) -> None:
    tg.share_contact(ANNA, "36301234567")
    tg.say(WEI, None, contact={"phone_number": "+36301234567", "first_name": "Anna", "user_id": ANNA["id"]})
    tg.share_contact(MARYAM, "12")
    (batch,) = await drain(bot, None)
    own, someone_elses, invalid = batch.records
    assert own.also_known_as == (Address("phone", "+36301234567", "Anna"),)
    assert "+36301234567" not in own.text and "36301234567" in own.text
    assert someone_elses.also_known_as == ()
    assert invalid.also_known_as == () and "not a valid number" in invalid.defects[0]


def test_recorded_updates_translate(corpora: Path) -> None:
    from adapters.telegram.updates import translate

    folder = corpora / "chat" / "telegram" / "updates"
    updates = [json.loads((folder / f"{n}.json").read_text("utf-8"))
               for n in ("text", "photo", "document", "voice", "video", "edited_message", "contact")]
    records, edits = translate(updates, dict(BOT))
    assert len(records) == 6 and len(edits) == 1
    assert all(r.attachments[0].fetch_ref for r in records[1:5])
    assert records[1].attachments[0].fetch_ref == "SAAS"  # 720x960 is the largest size
    # This contact ("911") is not the sender's own (no user_id): no identity, and no complaint.
    assert (records[5].also_known_as, records[5].defects) == ((), ())


async def test_an_unreadable_update_is_quarantined_and_the_queue_moves_on(
        tg: FakeTelegram, bot: TelegramAdapter) -> None:
    with tg.lock:
        tg.updates.append({"update_id": 1, "message": {"message_id": 9, "from": dict(ANNA), "date": 0}})
    tg.say(ANNA, "after it")
    (batch,) = await drain(bot, None)
    broken, fine = batch.records
    assert FLAG_QUARANTINED in broken.flags
    assert broken.defects == ("unreadable Telegram update: missing 'chat'",)
    assert broken.sender.address == "5550001" and broken.raw and b'"update_id": 1' in broken.raw
    assert fine.text == "after it"


def test_the_adapter_class_loads_without_httpx() -> None:
    code = ("import sys; from omnidesk.registry import factory_for; factory_for('telegram');"
            " print('httpx' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_lone_surrogates_in_an_update_become_replacement_characters_and_stay_escapes_raw() -> None:
    from adapters.telegram import updates

    # JSON allows a lone surrogate escape; Python's json reads it into a str UTF-8 cannot encode.
    update = json.loads('{"update_id": 9, "message": {"message_id": 3, "date": 1764000000,'
                        ' "chat": {"id": 5550001, "type": "private"},'
                        ' "from": {"id": 5550001, "is_bot": false, "first_name": "Anna \\ud83d"},'
                        ' "text": "hol a csomagom \\udfff?"}}')
    (record,), _ = updates.translate([update], None)
    assert record.text == "hol a csomagom \ufffd?" and record.sender.display_name == "Anna \ufffd"
    assert record.raw is not None and b"\\udfff" in record.raw  # the escape, as it came
    assert json.loads(record.raw)["text"] == "hol a csomagom \udfff?"
    contact = json.loads('{"message_id": 4, "date": 1764000000, "chat": {"id": 5550001, "type": "private"},'
                         ' "from": {"id": 5550001, "first_name": "Anna"}, "contact": {"user_id": 5550001,'
                         ' "first_name": "Anna \\ud800", "phone_number": "+36301234567"}}')
    shared = updates.inbound(contact)
    shared.raw.decode("utf-8")
    assert shared.text.encode("utf-8") and shared.also_known_as[0].display_name == "Anna \ufffd"
