"""FakeMastodon speaks Mastodon's shapes: checked against the recorded exchanges in ../shared/corpora."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from omnidesk.demo.fakes.mastodon import TOKEN, FakeMastodon


@pytest.fixture
def social() -> Iterator[FakeMastodon]:
    with FakeMastodon() as fake:
        yield fake


@pytest.fixture
def recorded(corpora: Path) -> Path:
    path = corpora / "chat" / "mastodon" / "recorded"
    if not path.is_dir():
        pytest.skip(f"no Mastodon recordings at {path}")
    return path


def load(recorded: Path, name: str) -> Any:
    return json.loads((recorded / name).read_text(encoding="utf-8"))


def client(fake: FakeMastodon, token: str = TOKEN) -> httpx.Client:
    return httpx.Client(base_url=fake.base_url, headers={"Authorization": f"Bearer {token}"})


def missing(ours: dict[str, Any], theirs: dict[str, Any]) -> set[str]:
    """Keys a recorded object has that ours lacks, leaving out those newer than what we model."""
    later = {"quotes_count", "quote", "quote_approval", "tagged_collections", "application", "text",
             "avatar_description", "header_description", "hide_collections", "show_media",
             "show_media_replies", "show_featured", "noindex", "feature_approval", "roles", "role",
             "source", "wrapstodon", "thumbnail", "icon", "memorial", "moved", "suspended", "limited",
             "fallback"}
    return set(theirs) - set(ours) - later


def test_notifications_statuses_and_accounts_have_the_recorded_keys(social: FakeMastodon,
                                                                    recorded: Path) -> None:
    social.mention(social.account("ann", "mastodon.social"), "hello")
    with client(social) as http:
        (ours,) = http.get("/api/v1/notifications").json()
    (theirs,) = [n for n in load(recorded, "notifications.mention.page.json")][:1]
    assert missing(ours, theirs) == set()
    assert missing(ours["status"], theirs["status"]) == set()
    assert missing(ours["account"], theirs["account"]) == set()
    assert missing(ours["status"]["mentions"][0], theirs["status"]["mentions"][0]) == set()


def test_requests_policy_and_instance_have_the_recorded_shapes(social: FakeMastodon, recorded: Path) -> None:
    social.mention(social.account("maryam", "fosstodon.org"), "سلام", visibility="direct")
    with client(social) as http:
        (held,) = http.get("/api/v1/notifications/requests").json()
        policy = http.get("/api/v2/notifications/policy").json()
        instance = http.get("/api/v2/instance").json()
    (their_held,) = load(recorded, "notification_requests.page.json")
    assert missing(held, their_held) == set()
    assert isinstance(held["notifications_count"], str) == isinstance(their_held["notifications_count"], str)
    assert set(policy) == set(load(recorded, "notifications.policy_v2.json"))
    their_instance = load(recorded, "instance.v2.mastodon.social.json")
    assert missing(instance, their_instance) == set()
    assert set(instance["configuration"]["statuses"]) == set(their_instance["configuration"]["statuses"])


def test_errors_and_rate_limit_headers_are_mastodons(social: FakeMastodon, recorded: Path) -> None:
    with client(social, "wrong") as http:
        refused = http.get("/api/v1/notifications")
    assert refused.status_code == 401 and refused.json() == load(recorded, "error.401.invalid_token.json")
    meta = load(recorded, "error.401.invalid_token.meta.json")
    assert {h.lower() for h in meta["headers"]} <= {h.lower() for h in refused.headers}
    with client(social) as http:
        gone = http.get("/api/v1/statuses/1")
        assert gone.status_code == 404 and gone.json() == load(recorded, "error.404.record_not_found.json")
        blank = http.post("/api/v1/statuses", data={"status": ""})
        assert blank.status_code == 422 and "blank" in blank.json()["error"]


def test_link_header_pages_like_mastodon(social: FakeMastodon) -> None:
    ann = social.account("ann", "mastodon.social")
    for n in range(5):
        social.mention(ann, f"m{n}")
    with client(social) as http:
        first = http.get("/api/v1/notifications", params={"limit": 2})
        assert [n["id"] for n in first.json()] == ["1005", "1004"]
        assert set(first.links) == {"next", "prev"}
        older = http.get(first.links["next"]["url"]).json()
        assert [n["id"] for n in older] == ["1003", "1002"]
        forward = http.get("/api/v1/notifications", params={"min_id": "1001", "limit": 2}).json()
        assert [n["id"] for n in forward] == ["1003", "1002"]  # immediately newer, newest first
        since = http.get("/api/v1/notifications", params={"since_id": "1001", "limit": 2}).json()
        assert [n["id"] for n in since] == ["1005", "1004"]  # the newest, bounded below
        assert http.get("/api/v1/notifications", params={"min_id": "1005"}).json() == []


def test_an_idempotency_key_posts_once(social: FakeMastodon) -> None:
    with client(social) as http:
        a = http.post("/api/v1/statuses", data={"status": "hi"}, headers={"Idempotency-Key": "k1"}).json()
        b = http.post("/api/v1/statuses", data={"status": "hi"}, headers={"Idempotency-Key": "k1"}).json()
        c = http.post("/api/v1/statuses", data={"status": "hi"}, headers={"Idempotency-Key": "k2"}).json()
    assert a["id"] == b["id"] != c["id"] and len(social.posted()) == 2
