"""FakeTwilio answers in the shapes Twilio documents and records (../shared/corpora/chat/twilio/)."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from omnidesk.demo.fakes.twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio

SMS, ANNA = "+15005550006", "+36301234567"
MESSAGES = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio() as server:
        yield server


def call(fake: FakeTwilio, uri: str, form: dict[str, str] | None = None,
         token: str = AUTH_TOKEN) -> tuple[int, dict[str, Any]]:
    auth = base64.b64encode(f"{ACCOUNT_SID}:{token}".encode()).decode()
    request = urllib.request.Request(fake.api_url + uri, headers={"Authorization": f"Basic {auth}"},
                                     data=urllib.parse.urlencode(form).encode() if form is not None else None)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def corpus(corpora: Path, name: str) -> dict[str, Any]:
    return json.loads((corpora / "chat" / "twilio" / name).read_text("utf-8"))


def test_list_message_and_error_shapes_match_the_recorded_ones(fake: FakeTwilio, corpora: Path) -> None:
    fake.text(ANNA, SMS, "Szia", media=((b"img", "image/jpeg"),))
    status, page = call(fake, MESSAGES)
    assert status == 200
    documented = corpus(corpora, "spec-examples/messages.list.readFullPage1.json")
    assert set(page) == set(documented)
    assert set(page["messages"][0]) == set(documented["messages"][0])
    status, created = call(fake, MESSAGES, {"To": ANNA, "From": SMS, "Body": "Hello"})
    recorded = corpus(corpora, "recorded/message.create.queued.json")
    assert status == 201 and set(created) == set(recorded) and created["status"] == "queued"
    status, error = call(fake, MESSAGES, {"To": "not a number", "From": SMS, "Body": "x"})
    assert status == 400 and set(error) == set(corpus(corpora, "recorded/error.20404.not_found.json"))
    assert error["code"] == 21211
    media_uri = page["messages"][0]["subresource_uris"]["media"]
    status, media = call(fake, media_uri)
    assert status == 200 and set(media) == set(corpus(corpora, "spec-examples/media.list.readFull.json"))


def test_basic_auth_is_required(fake: FakeTwilio) -> None:
    status, error = call(fake, MESSAGES, token="wrong")
    assert (status, error["code"], error["status"]) == (401, 20003, 401)


def test_filters_and_pages_newest_first(fake: FakeTwilio) -> None:
    start = datetime(2026, 3, 1, 12, tzinfo=UTC)
    for n in range(5):
        fake.text(ANNA, SMS, f"m{n}", at=start + timedelta(days=n))
    fake.text("+8613812345678", SMS, "other", at=start)
    query = urllib.parse.urlencode({"From": ANNA, "DateSent>": "2026-03-02", "PageSize": 2})
    _, page = call(fake, f"{MESSAGES}?{query}")
    bodies = [m["body"] for m in page["messages"]]
    while page["next_page_uri"]:
        _, page = call(fake, page["next_page_uri"])
        bodies += [m["body"] for m in page["messages"]]
    assert bodies == ["m4", "m3", "m2", "m1"]
    _, page = call(fake, f"{MESSAGES}?{urllib.parse.urlencode({'DateSent<': '2026-03-01'})}")
    assert sorted(m["body"] for m in page["messages"]) == ["m0", "other"]


def test_stop_blocks_sms_until_start(fake: FakeTwilio) -> None:
    fake.text(ANNA, SMS, "STOP")
    status, error = call(fake, MESSAGES, {"To": ANNA, "From": SMS, "Body": "x"})
    assert (status, error["code"]) == (400, 21610)
    fake.text(ANNA, SMS, "start")
    assert call(fake, MESSAGES, {"To": ANNA, "From": SMS, "Body": "x"})[0] == 201
