"""The Telegram fake follows the Bot API's documented behaviour and recorded shapes."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from omnidesk.demo.fakes.telegram import BOT, TOKEN, FakeTelegram


@pytest.fixture
def tg():
    with FakeTelegram() as fake:
        yield fake


def call(fake: FakeTelegram, method: str, token: str = TOKEN, **params: Any) -> tuple[int, dict[str, Any]]:
    """One Bot API call as JSON, returning (HTTP status, body)."""
    request = urllib.request.Request(
        f"{fake.api_url}/bot{token}/{method}",
        data=json.dumps(params).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


ANN = FakeTelegram.user(5550001, "Anna", last_name="Kovács", username="anna_k", language_code="hu")


def test_wrong_token_and_unknown_method(tg: FakeTelegram) -> None:
    assert call(tg, "getMe") == (200, {"ok": True, "result": call(tg, "getMe")[1]["result"]})
    assert call(tg, "getMe", token="1:wrong") == (
        401,
        {"ok": False, "error_code": 401, "description": "Unauthorized"},
    )
    assert call(tg, "noSuchMethod")[0] == 404


def test_updates_stay_until_confirmed_by_offset(tg: FakeTelegram) -> None:
    first = tg.say(ANN, "Szia, nem működik a számlám")
    tg.say(ANN, "你好")
    _, body = call(tg, "getUpdates")
    ids = [u["update_id"] for u in body["result"]]
    assert len(ids) == 2 and body["result"][0]["message"]["text"] == first["text"]
    assert [u["update_id"] for u in call(tg, "getUpdates")[1]["result"]] == ids  # re-delivered
    assert [u["update_id"] for u in call(tg, "getUpdates", offset=ids[0] + 1)[1]["result"]] == ids[1:]
    assert call(tg, "getUpdates")[1]["result"][0]["update_id"] == ids[1]  # the first is forgotten


def test_long_poll_returns_when_a_message_arrives_and_a_second_poller_conflicts(tg: FakeTelegram) -> None:
    results: list[tuple[int, dict[str, Any]]] = []
    poller = threading.Thread(target=lambda: results.append(call(tg, "getUpdates", timeout=8)))
    poller.start()
    tg.wait_for(lambda: len(tg.calls("getUpdates")) == 1)
    second = call(tg, "getUpdates", timeout=0)
    poller.join(10)
    assert second == (200, {"ok": True, "result": []})
    assert results[0][0] == 409 and "terminated by other getUpdates" in results[0][1]["description"]
    late: list[tuple[int, dict[str, Any]]] = []
    poller = threading.Thread(target=lambda: late.append(call(tg, "getUpdates", timeout=8)))
    poller.start()
    tg.wait_for(lambda: len(tg.calls("getUpdates")) == 3)
    tg.say(ANN, "سلام")
    poller.join(10)
    assert late[0][1]["result"][0]["message"]["text"] == "سلام"


def test_send_message_replies_limits_markdown_and_blocking(tg: FakeTelegram) -> None:
    question = tg.say(ANN, "Hol a csomagom?")
    status, body = call(
        tg,
        "sendMessage",
        chat_id=ANN["id"],
        text="Holnap érkezik.",
        reply_parameters={"message_id": question["message_id"]},
    )
    assert status == 200 and body["result"]["reply_to_message"]["message_id"] == question["message_id"]
    assert body["result"]["from"]["id"] == BOT["id"]
    assert (
        call(tg, "sendMessage", chat_id=ANN["id"], text="x" * 4097)[1]["description"]
        == "Bad Request: message is too long"
    )
    assert (
        call(tg, "sendMessage", chat_id=ANN["id"], text="ok", reply_parameters={"message_id": 999})[0] == 400
    )
    assert call(tg, "sendMessage", chat_id=ANN["id"], text="1.5 kg", parse_mode="MarkdownV2")[0] == 400
    assert (
        call(tg, "sendMessage", chat_id=ANN["id"], text="1\\.5 kg *now*", parse_mode="MarkdownV2")[0] == 200
    )
    assert call(tg, "sendMessage", chat_id=42, text="hi")[1]["description"] == "Bad Request: chat not found"
    tg.block(ANN)
    assert call(tg, "sendMessage", chat_id=ANN["id"], text="hi")[0] == 403
    assert [m["text"] for m in tg.sent(ANN["id"])] == ["Holnap érkezik.", "1\\.5 kg *now*"]


def test_flood_control_says_when_to_retry(tg: FakeTelegram) -> None:
    tg.flood("sendMessage", retry_after=3)
    tg.say(ANN, "hi")
    status, body = call(tg, "sendMessage", chat_id=ANN["id"], text="hello")
    assert status == 429 and body["parameters"]["retry_after"] == 3
    assert call(tg, "sendMessage", chat_id=ANN["id"], text="hello")[0] == 200


def test_files_download_by_path_and_links_expire(tg: FakeTelegram) -> None:
    message = tg.send_file(ANN, "document", b"%PDF-1.7", file_name="számla.pdf", mime_type="application/pdf")
    file_id = message["document"]["file_id"]
    path = call(tg, "getFile", file_id=file_id)[1]["result"]["file_path"]
    url = f"{tg.api_url}/file/bot{TOKEN}/{path}"
    assert urllib.request.urlopen(url, timeout=5).read() == b"%PDF-1.7"
    tg.expire_file_links()
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(url, timeout=5)
    fresh = call(tg, "getFile", file_id=file_id)[1]["result"]["file_path"]
    assert urllib.request.urlopen(f"{tg.api_url}/file/bot{TOKEN}/{fresh}", timeout=5).read() == b"%PDF-1.7"
    assert call(tg, "getFile", file_id="nope")[1]["description"].startswith("Bad Request: wrong file_id")


def test_fake_updates_have_the_recorded_shape(tg: FakeTelegram, corpora: Path) -> None:
    updates = corpora / "chat" / "telegram" / "updates"
    tg.say(ANN, "hello")
    tg.share_contact(ANN, "+36301234567")
    tg.send_file(ANN, "photo", b"\x89PNG", caption="kép")
    text, contact, photo = (u["message"] for u in call(tg, "getUpdates")[1]["result"])
    for ours, name in ((text, "text"), (contact, "contact"), (photo, "photo")):
        recorded = json.loads((updates / f"{name}.json").read_text())["message"]
        assert set(ours) <= set(recorded) | {"reply_to_message"}, name
        assert set(ours["from"]) <= set(recorded["from"]) | {"last_name"}, name
        assert set(ours["chat"]) <= set(recorded["chat"]) | {"last_name"}, name
    assert set(photo["photo"][0]) == set(
        json.loads((updates / "photo.json").read_text())["message"]["photo"][0]
    )
