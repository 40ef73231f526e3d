"""A local Mastodon server: the REST API a support account uses, with Mastodon's shapes and errors.

Point a client at `fake.base_url` with `Authorization: Bearer <fake.token>`. What it models,
as documented at docs.joinmastodon.org and seen in the recordings under
`../shared/corpora/chat/mastodon/recorded/`:

- errors are `{"error": "..."}` with the HTTP status: 401 "The access token is invalid"
  (unknown token) or "The access token was revoked" (after `revoke()`), 404 "Record not
  found", 422 "Validation failed: ..." (blank text, over the character limit); every
  answer carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset`
  (an ISO time, as the recordings show); `fail(key, ...)` injects 429/5xx/401 by route key;
- `GET /api/v1/notifications`: newest first, `types[]`, `exclude_types[]`, `account_id`,
  `include_filtered`, `max_id`/`since_id`/`min_id` (min_id: the page immediately newer, as
  Mastodon pages forward), `limit` (default 40, at most 80), and a `Link` header with
  `rel="next"` (max_id = the page's oldest) and `rel="prev"` (min_id = the page's newest);
- the notification policy (`GET /api/v2/notifications/policy`, Mastodon 4.3's defaults:
  private mentions from accounts not followed are filtered): a filtered mention is not in
  the main list but in a notification request of its account (`/api/v1/notifications/requests`,
  `notifications_count` a string, as recorded); accepting one merges its notifications back
  with their old ids and lets that account through from then on;
- `POST /api/v1/statuses` (form or JSON) honours `Idempotency-Key`: the same key again
  answers the status already made and posts nothing; `in_reply_to_id` of an unknown status
  is 404, as Mastodon answers;
- `GET /api/v1/statuses/:id` is 404 after `delete()`; `edit()` sets `edited_at` and, when
  asked, adds an `update` notification;
- `GET /api/v2/instance` (`configuration.statuses.max_characters`) and
  `GET /api/v1/accounts/verify_credentials`;
- media attachments (`attach()`) whose files are served without a token, as an instance's
  media are public.

A notification's JSON is made once, when first served, and made again after `edit()`,
`delete()` or `attach()`: change a status dict by hand only before it is first asked for.

Route keys for `fail` and `calls`: "verify_credentials", "instance", "notifications",
"policy", "requests", "request", "accept", "merged", "status", "statuses.create".
"""

from __future__ import annotations

import bisect
import html
import itertools
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

from omnidesk.demo.fakes.httpfake import FakeHTTPServer, Request, Response

TOKEN = "mastodon-test-token"
DOMAIN = "desk.example"
MAX_CHARACTERS = 500
DEFAULT_LIMIT = 40
MAX_LIMIT = 80
RATE_LIMIT = 300
VISIBILITIES = ("public", "unlisted", "private", "direct")
#: Mastodon 4.3's default policy: only private mentions from accounts we do not follow are held.
DEFAULT_POLICY = {"for_not_following": "accept", "for_not_followers": "accept", "for_new_accounts": "accept",
                  "for_private_mentions": "filter", "for_limited_accounts": "filter", "for_bots": "accept"}

_HANDLE = re.compile(r"(?<![\w@/])@(\w+(?:@[\w.-]+\w)?)")
_ROUTES: tuple[tuple[str, str, re.Pattern[str]], ...] = tuple(
    (verb, key, re.compile(pattern)) for verb, key, pattern in (
        ("GET", "verify_credentials", r"/api/v1/accounts/verify_credentials"),
        ("GET", "instance", r"/api/v2/instance"),
        ("GET", "notifications", r"/api/v1/notifications"),
        ("GET", "policy", r"/api/v2/notifications/policy"),
        ("GET", "merged", r"/api/v1/notifications/requests/merged"),
        ("GET", "requests", r"/api/v1/notifications/requests"),
        ("GET", "request", r"/api/v1/notifications/requests/(?P<id>\d+)"),
        ("POST", "accept", r"/api/v1/notifications/requests/(?P<id>\d+)/accept"),
        ("POST", "statuses.create", r"/api/v1/statuses"),
        ("GET", "status", r"/api/v1/statuses/(?P<id>\d+)"),
    ))


class MastodonError(Exception):
    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def _num(value: str) -> int:
    return int(value) if value.isdigit() else 0


@dataclass
class Account:
    id: str
    username: str
    domain: str | None  # None: an account of this instance
    display_name: str = ""
    bot: bool = False

    @property
    def acct(self) -> str:
        return self.username if self.domain is None else f"{self.username}@{self.domain}"

    def url(self, fake: FakeMastodon) -> str:
        return f"https://{self.domain}/@{self.username}" if self.domain else f"{fake.origin}/@{self.username}"

    def as_json(self, fake: FakeMastodon) -> dict[str, Any]:
        url = self.url(fake)
        return {"id": self.id, "username": self.username, "acct": self.acct,
                "display_name": self.display_name, "locked": False, "bot": self.bot,
                "discoverable": True, "indexable": False, "group": False,
                "created_at": "2024-01-01T00:00:00.000Z", "note": "", "url": url, "uri": url,
                "avatar": f"{fake.origin}/avatars/original/missing.png",
                "avatar_static": f"{fake.origin}/avatars/original/missing.png",
                "header": f"{fake.origin}/headers/original/missing.png",
                "header_static": f"{fake.origin}/headers/original/missing.png",
                "followers_count": 0, "following_count": 0, "statuses_count": 1,
                "last_status_at": "2026-01-01", "emojis": [], "fields": []}


@dataclass
class Notification:
    id: str
    type: str
    account: Account
    status_id: str
    created_at: datetime
    filtered: bool = False


@dataclass
class HeldRequest:
    """A notification request: the filtered notifications of one account."""

    id: str
    account: Account
    created_at: datetime
    updated_at: datetime
    notification_ids: list[str] = field(default_factory=list)


class FakeMastodon(FakeHTTPServer):
    """One instance with the desk's account (`desk`) and people who mention it."""

    def __init__(self, *, domain: str = DOMAIN, max_characters: int = MAX_CHARACTERS) -> None:
        super().__init__()
        self.token = TOKEN
        self.domain = domain
        self.max_characters = max_characters
        self.revoked = False
        self.policy = dict(DEFAULT_POLICY)
        self._ids = itertools.count(113_000_000_000_000_001, 7)
        self._notification_ids = itertools.count(1001)
        self.accounts: dict[str, Account] = {}
        self.statuses: dict[str, dict[str, Any]] = {}  # id -> Status, ours and theirs
        self.deleted: set[str] = set()
        self.notifications: list[Notification] = []  # oldest first
        self.held: dict[str, HeldRequest] = {}  # request id -> request
        self.accepted: set[str] = set()  # account ids whose requests were accepted
        self.following: set[str] = set()
        self.idempotent: dict[str, str] = {}  # Idempotency-Key -> status id
        self._accts: dict[str, Account] = {}  # by lower-case acct, for the mentions of what we post
        self.media: dict[str, tuple[bytes, str]] = {}  # path -> (bytes, content type)
        # Notifications as served, by id; dropped whenever a status changes (edit, delete, attach).
        self._served: dict[str, bytes] = {}
        self._ids_served: tuple[int, list[int]] = (-1, [])  # (len, ids) of self.notifications
        self.desk = self.account("support", display_name="Support")

    @property
    def base_url(self) -> str:
        return self.origin

    # -- what tests and the demo do ------------------------------------------------------

    def account(self, username: str, domain: str | None = None, *, display_name: str = "") -> Account:
        with self.lock:
            account = Account(str(next(self._ids)), username, domain, display_name or username)
            self.accounts[account.id] = account
            return account

    def follow(self, account: Account) -> None:
        with self.lock:
            self.following.add(account.id)

    def revoke(self) -> None:
        """The desk's token is revoked: every request is 401 from now on."""
        self.revoked = True

    def mention(self, account: Account, text: str | None = None, *, visibility: str = "public",
                in_reply_to: dict[str, Any] | None = None, content: str | None = None,
                spoiler_text: str = "") -> dict[str, Any]:
        """A status by `account` mentioning the desk (its handle is put first), and its notification.

        `content` is raw HTML instead of the text made into Mastodon's markup.
        """
        assert visibility in VISIBILITIES
        with self.lock:
            status = self._new_status(account, text or "", visibility=visibility, in_reply_to=in_reply_to,
                                  content=content, spoiler_text=spoiler_text, mentions=(self.desk,))
            self._notify("mention", account, status["id"], private=visibility == "direct")
            return status

    def attach(self, status: dict[str, Any], data: bytes, *, name: str = "photo.jpg",
               content_type: str = "image/jpeg", description: str | None = None) -> dict[str, Any]:
        """A media attachment on `status` (as it was posted), its file served without a token."""
        with self.lock:
            mid = str(next(self._ids))
            path = f"/system/media_attachments/files/{mid}/original/{name}"
            self.media[path] = (data, content_type)
            kind = content_type.split("/", 1)[0]
            media = {"id": mid, "type": kind if kind in ("image", "video", "audio") else "unknown",
                     "url": self.origin + path, "preview_url": self.origin + path, "remote_url": None,
                     "meta": {}, "description": description, "blurhash": None}
            status["media_attachments"].append(media)
            self._served.clear()
            return media

    def edit(self, status: dict[str, Any], text: str, *, notify: bool = False) -> dict[str, Any]:
        """The author edits `status`; `notify` adds an `update` notification (Mastodon sends one
        to those who boosted it)."""
        with self.lock:
            account = self.accounts[status["account"]["id"]]
            self._served.clear()
            status["content"] = self._markup(text, (self.desk,))
            status["edited_at"] = _iso(datetime.now(UTC))
            if notify:
                self._notify("update", account, status["id"], private=False)
            self.notify()
            return status

    def delete(self, status: dict[str, Any]) -> None:
        """The author deletes `status`: it is 404 from now on and its notifications are gone."""
        with self.lock:
            self.deleted.add(status["id"])
            self.notifications = [n for n in self.notifications if n.status_id != status["id"]]
            self._served.clear()
            self._ids_served = (-1, [])
            self.notify()

    def posted(self) -> list[dict[str, Any]]:
        """Statuses the desk's account posted, oldest first."""
        with self.lock:
            return [s for s in self.statuses.values() if s["account"]["id"] == self.desk.id]

    def rate_limited(self, key: str, *, reset_in: float = 2.0, times: int = 1) -> None:
        """The next `times` requests to `key` meet Mastodon's 429, its reset time `reset_in` s away."""
        reset = datetime.now(UTC) + timedelta(seconds=reset_in)
        self.fail(key, status=429, body={"error": "Too many requests"}, times=times,
                  headers={"X-RateLimit-Limit": str(RATE_LIMIT), "X-RateLimit-Remaining": "0",
                           "X-RateLimit-Reset": _iso(reset)})

    # -- the API -------------------------------------------------------------------------

    def route_key(self, request: Request) -> str:
        for verb, key, pattern in _ROUTES:
            if request.verb == verb and pattern.fullmatch(request.path):
                return key
        return f"{request.verb} {request.path}"

    def handle(self, request: Request) -> Response:
        if request.verb == "GET" and request.path in self.media:  # media files are public, no token
            data, content_type = self.media[request.path]
            return Response(200, raw=data, content_type=content_type)
        try:
            self._authorise(request)
            for verb, key, pattern in _ROUTES:
                match = pattern.fullmatch(request.path)
                if request.verb == verb and match:
                    with self.lock:
                        route = getattr(self, "_" + key.replace(".", "_"))
                        status, body, headers = route(request, **match.groupdict())
                    return self._answer(status, body, headers)
            raise MastodonError(404, "Record not found")
        except MastodonError as exc:
            return self._answer(exc.status, {"error": exc.error}, {})

    def _answer(self, status: int, body: Any, headers: dict[str, str]) -> Response:
        reset = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=5)
        limits = {"X-RateLimit-Limit": str(RATE_LIMIT), "X-RateLimit-Remaining": str(RATE_LIMIT - 1),
                  "X-RateLimit-Reset": _iso(reset), **headers}
        if isinstance(body, bytes):  # JSON made already
            return Response(status, headers=limits, raw=body)
        return Response(status, body, limits)

    def _authorise(self, request: Request) -> None:
        given = (request.header("authorization") or "").removeprefix("Bearer ").strip()
        if given != self.token:
            raise MastodonError(401, "The access token is invalid")
        if self.revoked:
            raise MastodonError(401, "The access token was revoked")

    def _verify_credentials(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        return 200, self.desk.as_json(self) | {"source": {"privacy": "public", "sensitive": False,
                                                          "language": None, "note": "", "fields": []}}, {}

    def _instance(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        return 200, {
            "domain": self.domain, "title": "Desk test instance", "version": "4.4.0",
            "source_url": "https://github.com/mastodon/mastodon", "description": "",
            "usage": {"users": {"active_month": len(self.accounts)}}, "languages": ["en"],
            "configuration": {
                "urls": {"streaming": self.origin.replace("http", "ws", 1)},
                "accounts": {"max_featured_tags": 10, "max_pinned_statuses": 5},
                "statuses": {"max_characters": self.max_characters, "max_media_attachments": 4,
                             "characters_reserved_per_url": 23},
                "media_attachments": {"image_size_limit": 16777216},
                "polls": {"max_options": 4, "max_characters_per_option": 50},
                "translation": {"enabled": False},
            },
            "registrations": {"enabled": False, "approval_required": False, "message": None},
            "api_versions": {"mastodon": 6},
            "contact": {"email": f"admin@{self.domain}", "account": None}, "rules": [],
        }, {}

    def _notifications(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        query = parse_qsl(request.query, keep_blank_values=True)
        types = {v for k, v in query if k == "types[]"}
        excluded = {v for k, v in query if k == "exclude_types[]"}
        account_id = request.params.get("account_id")
        include_filtered = str(request.params.get("include_filtered", "")).lower() == "true"

        def wanted(n: Notification) -> bool:
            return ((not types or n.type in types) and n.type not in excluded
                    and (account_id is None or n.account.id == account_id)
                    and (include_filtered or not n.filtered))

        if self._ids_served[0] != len(self.notifications):
            self._ids_served = (len(self.notifications), [_num(n.id) for n in self.notifications])
        page = _page(self.notifications, request.params, key=lambda n: _num(n.id), wanted=wanted,
                     keys=self._ids_served[1])
        body = b"[" + b",".join(self._notification_bytes(n) for n in page) + b"]"
        return 200, body, self._links(request, "/api/v1/notifications", [n.id for n in page])

    def _notification_bytes(self, n: Notification) -> bytes:
        """A notification's JSON, made once: a page of 80 is then a join (the bench reads 10,000)."""
        found = self._served.get(n.id)
        if found is None:
            found = self._served[n.id] = json.dumps(self._notification_json(n), ensure_ascii=False).encode()
        return found

    def _policy(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        pending = sum(len(r.notification_ids) for r in self.held.values())
        return 200, self.policy | {"summary": {"pending_requests_count": len(self.held),
                                               "pending_notifications_count": pending}}, {}

    def _requests(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        page = _page(list(self.held.values()), request.params, key=lambda r: _num(r.id))
        return 200, [self._request_json(r) for r in page], self._links(
            request, "/api/v1/notifications/requests", [r.id for r in page])

    def _request(self, request: Request, id: str) -> tuple[int, Any, dict[str, str]]:
        held = self.held.get(id)
        if held is None:
            raise MastodonError(404, "Record not found")
        return 200, self._request_json(held), {}

    def _accept(self, request: Request, id: str) -> tuple[int, Any, dict[str, str]]:
        held = self.held.pop(id, None)
        if held is None:
            raise MastodonError(404, "Record not found")
        self.accepted.add(held.account.id)
        self._served.clear()
        for n in self.notifications:
            if n.id in held.notification_ids:
                n.filtered = False  # merged back with its old id, below newer notifications
        self.notify()
        return 200, {}, {}

    def _merged(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        return 200, {"merged": True}, {}

    def _new_status(self, account: Account, text: str, *, visibility: str,
                    in_reply_to: dict[str, Any] | None, content: str | None = None,
                    spoiler_text: str = "", mentions: tuple[Account, ...] = ()) -> dict[str, Any]:
        sid = str(next(self._ids))
        url = f"{account.url(self)}/{sid}"
        status = {
            "id": sid, "created_at": _iso(datetime.now(UTC)),
            "in_reply_to_id": in_reply_to["id"] if in_reply_to else None,
            "in_reply_to_account_id": in_reply_to["account"]["id"] if in_reply_to else None,
            "sensitive": bool(spoiler_text), "spoiler_text": spoiler_text, "visibility": visibility,
            "language": "en", "uri": url, "url": url, "replies_count": 0, "reblogs_count": 0,
            "favourites_count": 0, "edited_at": None, "favourited": False, "reblogged": False,
            "muted": False, "bookmarked": False,
            "content": content if content is not None else self._markup(text, mentions),
            "filtered": [], "reblog": None, "account": account.as_json(self), "media_attachments": [],
            "mentions": [{"id": m.id, "username": m.username, "url": m.url(self), "acct": m.acct}
                         for m in mentions],
            "tags": [], "emojis": [], "card": None, "poll": None,
        }
        self.statuses[sid] = status
        return status

    def _markup(self, text: str, mentions: tuple[Account, ...]) -> str:
        """Mastodon's HTML for `text`: the mentions' h-cards first, paragraphs, <br> for line breaks."""
        cards = "".join(
            f'<span class="h-card" translate="no"><a href="{html.escape(m.url(self))}" class="u-url mention">'
            f'@<span>{html.escape(m.username)}</span></a></span> ' for m in mentions)
        paragraphs = [html.escape(p).replace("\n", "<br />") for p in text.split("\n\n")] or [""]
        paragraphs[0] = cards + paragraphs[0]
        return "".join(f"<p>{p}</p>" for p in paragraphs)

    def _statuses_create(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        key = request.header("idempotency-key")
        if key and key in self.idempotent:
            return 200, self.statuses[self.idempotent[key]], {}
        text = str(request.params.get("status") or "")
        if not text.strip():
            raise MastodonError(422, "Validation failed: Text can't be blank")
        if _countable_length(text) > self.max_characters:
            raise MastodonError(422, f"Validation failed: Text character limit of {self.max_characters}"
                                     " exceeded")
        visibility = str(request.params.get("visibility") or "public")
        if visibility not in VISIBILITIES:
            raise MastodonError(422, "Validation failed: Visibility is not included in the list")
        parent = None
        reply_to = request.params.get("in_reply_to_id")
        if reply_to:
            parent = self.statuses.get(str(reply_to))
            if parent is None or parent["id"] in self.deleted:
                raise MastodonError(404, "Record not found")
        by_acct = self._by_acct()
        handles = (m.lower() for m in _HANDLE.findall(text))
        mentioned = list({id(a): a for h in handles if (a := by_acct.get(h.removesuffix("@" + self.domain)))
                          is not None}.values())
        status = self._new_status(self.desk, text, visibility=visibility, in_reply_to=parent,
                              content="<p>" + html.escape(text).replace("\n", "<br />") + "</p>")
        status["mentions"] = [{"id": m.id, "username": m.username, "url": m.url(self), "acct": m.acct}
                              for m in mentioned]
        if key:
            self.idempotent[key] = status["id"]
        self.notify()
        return 200, status, {}

    def _status(self, request: Request, id: str) -> tuple[int, Any, dict[str, str]]:
        if id not in self.statuses or id in self.deleted:
            raise MastodonError(404, "Record not found")
        return 200, self.statuses[id], {}

    # -- internals -------------------------------------------------------------------------

    def _by_acct(self) -> dict[str, Account]:
        if len(self._accts) != len(self.accounts):
            self._accts = {a.acct.lower(): a for a in self.accounts.values()}
        return self._accts

    def _notify(self, kind: str, account: Account, status_id: str, *, private: bool) -> None:
        now = datetime.now(UTC)
        filtered = self._filters(account, private)
        if filtered == "drop":
            return
        notification = Notification(str(next(self._notification_ids)), kind, account, status_id, now,
                                     filtered == "filter")
        self.notifications.append(notification)
        if notification.filtered:
            held = next((r for r in self.held.values() if r.account.id == account.id), None)
            if held is None:
                held = HeldRequest(str(next(self._ids)), account, now, now)
                self.held[held.id] = held
            held.updated_at = now
            held.notification_ids.append(notification.id)
        self.notify()

    def _filters(self, account: Account, private: bool) -> str:
        """What the policy does with a notification from `account`: accept, filter or drop."""
        if account.id in self.accepted or account.id in self.following:
            return "accept"
        verdicts = [self.policy["for_not_following"]]
        if private:
            verdicts.append(self.policy["for_private_mentions"])
        if account.bot:
            verdicts.append(self.policy["for_bots"])
        for verdict in ("drop", "filter"):
            if verdict in verdicts:
                return verdict
        return "accept"

    def _notification_json(self, n: Notification) -> dict[str, Any]:
        return {"id": n.id, "type": n.type, "created_at": _iso(n.created_at),
                "group_key": f"ungrouped-{n.id}", "account": n.account.as_json(self),
                "status": self.statuses[n.status_id]}

    def _request_json(self, held: HeldRequest) -> dict[str, Any]:
        last = max(held.notification_ids, key=_num)
        status_id = next(n.status_id for n in self.notifications if n.id == last) if any(
            n.id == last for n in self.notifications) else None
        return {"id": held.id, "created_at": _iso(held.created_at), "updated_at": _iso(held.updated_at),
                "notifications_count": str(len(held.notification_ids)),  # a string, as Mastodon sends it
                "account": held.account.as_json(self),
                "last_status": self.statuses[status_id] if status_id else None}

    def _links(self, request: Request, path: str, ids: list[str]) -> dict[str, str]:
        """Mastodon's Link header: next = older than the page, prev = newer than it."""
        if not ids:
            return {}
        keep = [(k, v) for k, v in parse_qsl(request.query, keep_blank_values=True)
                if k not in ("max_id", "min_id", "since_id")]
        newest, oldest = ids[0], ids[-1]
        next_url = f"{self.origin}{path}?{urlencode([*keep, ('max_id', oldest)])}"
        prev_url = f"{self.origin}{path}?{urlencode([*keep, ('min_id', newest)])}"
        return {"Link": f'<{next_url}>; rel="next", <{prev_url}>; rel="prev"'}


def _page(items: list[Any], params: dict[str, Any], *, key: Any,
          wanted: Any = lambda item: True, keys: list[int] | None = None) -> list[Any]:
    """One page of the `wanted` `items` (kept oldest first, by growing `key`), newest first, as
    Mastodon pages: max_id/since_id bound it; min_id starts just above (and pages forward)."""
    try:
        limit = max(1, min(int(params.get("limit") or DEFAULT_LIMIT), MAX_LIMIT))
    except (TypeError, ValueError):
        limit = DEFAULT_LIMIT
    keys = keys if keys is not None else [key(i) for i in items]
    low = max((_num(str(params[b])) for b in ("since_id", "min_id") if params.get(b) not in (None, "")),
              default=-1)
    high = _num(str(params["max_id"])) if params.get("max_id") not in (None, "") else None
    start = bisect.bisect_right(keys, low)
    stop = bisect.bisect_left(keys, high) if high is not None else len(items)
    window = items[start:stop]
    # Forward from min_id: the oldest `limit` just above it; otherwise the newest `limit`.
    ordered = window if params.get("min_id") not in (None, "") else reversed(window)
    page = list(itertools.islice((i for i in ordered if wanted(i)), limit))
    return page[::-1] if params.get("min_id") not in (None, "") else page


def _countable_length(text: str) -> int:
    """Mastodon's count: a URL is 23 characters, a mention only its @username."""
    text = re.sub(r"https?://\S+", "x" * 23, text)
    text = re.sub(r"(?<![\w@])@(\w+)@[\w.-]+\w", r"@\1", text)
    return len(text)

