"""Notifications and statuses as omnidesk records, and the poll cursor.

A `mention` notification's status becomes an Inbound (scope: the instance host, id: the
status id, sender `acct@instance`); an `update` notification's status becomes an Edit. The
cursor (JSON) keeps the newest notification id committed, the statuses still re-read for
edits and deletions (`watch`: id -> edited_at and when the status was written), the held
notification requests already read (request id -> its last status id), and when the watch
was last re-read.
"""

from __future__ import annotations

import json
import logging
import mimetypes
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from adapters.base import (
    FLAG_AUTO_REPLY,
    FLAG_QUARANTINED,
    Address,
    Attachment,
    Deletion,
    Edit,
    Inbound,
    raw_json,
    valid_text,
)
from adapters.mastodon.content import clean, full_acct, html_to_text

log = logging.getLogger(__name__)

#: At most this many statuses are re-read for edits and deletions (the newest ones).
WATCH_LIMIT = 100


@dataclass(frozen=True, slots=True)
class Instance:
    """What a record needs to know of the instance: whose ids, which domain, how long a status may be."""

    scope: str  # the host of the configured URL: status ids are unique there
    domain: str  # the instance's own domain (`/api/v2/instance` domain), for local accounts' acct
    max_characters: int


@dataclass
class State:
    """What the cursor remembers (see the module docstring)."""

    newest: str = ""
    watch: dict[str, tuple[str, float]] = field(default_factory=dict)
    requests: dict[str, str] = field(default_factory=dict)
    checked: float = 0.0

    def dump(self) -> str:
        return json.dumps({"v": 1, "newest": self.newest, "checked": self.checked,
                           "watch": {k: list(v) for k, v in self.watch.items()}, "requests": self.requests},
                          separators=(",", ":"), sort_keys=True)

    def follow(self, records: list[Inbound], since: float) -> None:
        """Watch the statuses of `records`; forget those written before `since` and beyond the limit."""
        for record in records:
            if not record.flags & {FLAG_QUARANTINED}:
                edited = str(record.meta.get("mastodon", {}).get("edited_at") or "")
                self.watch[record.external_id] = (edited, record.sent_at.timestamp())
        kept = sorted(((k, v) for k, v in self.watch.items() if v[1] >= since), key=lambda kv: -kv[1][1])
        self.watch = dict(kept[:WATCH_LIMIT])


def load_state(cursor: str | None) -> State:
    """The state in a cursor this module wrote; an unreadable one starts over (dedupe absorbs it)."""
    if not cursor:
        return State()
    try:
        data = json.loads(cursor)
        return State(str(data.get("newest") or ""),
                     {str(k): (str(v[0]), float(v[1])) for k, v in dict(data.get("watch") or {}).items()},
                     {str(k): str(v) for k, v in dict(data.get("requests") or {}).items()},
                     float(data.get("checked") or 0))
    except (ValueError, TypeError, AttributeError, IndexError):
        log.warning("unreadable Mastodon cursor; reading the notifications from the start")
        return State()


def id_order(value: str) -> tuple[int, str]:
    """Mastodon ids are numeric strings of growing length; compare them as numbers."""
    return (len(value), value)


def when(value: Any) -> datetime:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _attachments(status: Mapping[str, Any]) -> tuple[Attachment, ...]:
    """Media as lazy attachments: `fetch_ref` is the file's URL, fetched when someone opens it."""
    found = []
    for media in status.get("media_attachments") or ():
        url = str(media.get("url") or media.get("remote_url") or "")
        if not url.startswith(("https://", "http://")):
            continue
        name = valid_text(clean(urlsplit(url).path.rsplit("/", 1)[-1])) or f"media_{media.get('id')}"
        kind = mimetypes.guess_type(name)[0] or {"image": "image/jpeg", "video": "video/mp4",
                                                   "gifv": "video/mp4", "audio": "audio/mpeg"}.get(
            str(media.get("type")), "application/octet-stream")
        found.append(Attachment(name, kind, fetch_ref=url))
    return tuple(found)


def status_text(status: Mapping[str, Any], instance: Instance) -> str:
    """What the status says: its content warning, its words, and a line per described picture."""
    words = html_to_text(str(status.get("content") or ""), status.get("mentions") or (), instance.domain)
    spoiler = clean(str(status.get("spoiler_text") or "")).strip()
    described = [clean(str(m.get("description"))).strip() for m in status.get("media_attachments") or ()
                 if m.get("description")]
    parts = ([f"[content warning: {spoiler}]"] if spoiler else []) + ([words] if words else [])
    parts += [f"[media: {d}]" for d in described]
    return valid_text("\n\n".join(parts))


def inbound(status: Mapping[str, Any], instance: Instance) -> Inbound:
    """A status that mentions the desk (or writes to it directly) as an Inbound record.

    Its JSON is not kept raw (as Slack's is not): at 2 to 3 KB a status, with its author's
    account, it would be most of what the desk stores of the channel, and the instance keeps
    it under its id; an unreadable notification is kept raw (`quarantined`).
    """
    account = status["account"]
    acct = full_acct(str(account["acct"]), instance.domain)
    parent = status.get("in_reply_to_id")
    visibility = str(status.get("visibility") or "public")
    return Inbound(
        external_id=str(status["id"]),
        sender=Address("mastodon", acct, valid_text(clean(str(account.get("display_name") or "")))),
        sent_at=when(status["created_at"]),
        text=status_text(status, instance),
        thread_refs=(str(parent),) if parent else (),
        scope=instance.scope,
        chat_like=True,
        attachments=_attachments(status),
        language=str(status["language"]) if status.get("language") else None,
        flags=frozenset({FLAG_AUTO_REPLY}) if account.get("bot") else frozenset(),
        meta={"mastodon": {"status_id": str(status["id"]), "visibility": visibility, "acct": acct,
                           "max_characters": instance.max_characters, "url": str(status.get("url") or ""),
                           "edited_at": status.get("edited_at")}},
    )


def edit(status: Mapping[str, Any], instance: Instance) -> Edit:
    return Edit(external_id=str(status["id"]), text=status_text(status, instance),
                edited_at=when(status.get("edited_at") or status["created_at"]), scope=instance.scope)


def deletion(status_id: str, instance: Instance) -> Deletion:
    """The status is 404 now; Mastodon does not say when it went, so now is when we learnt it."""
    return Deletion(external_id=status_id, deleted_at=datetime.now(UTC), scope=instance.scope)


def translate(notifications: list[dict[str, Any]], instance: Instance) -> tuple[list[Inbound], list[Edit]]:
    """Records (mentions) and edits (`update`s) of a page of notifications, oldest first."""
    records: list[Inbound] = []
    edits: list[Edit] = []
    for notification in sorted(notifications, key=lambda n: id_order(str(n.get("id", "")))):
        try:
            status = notification.get("status")
            if notification.get("type") == "mention" and isinstance(status, dict):
                records.append(inbound(status, instance))
            elif notification.get("type") == "update" and isinstance(status, dict):
                edits.append(edit(status, instance))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            records.append(quarantined(notification, exc, instance))
    return records, edits


def quarantined(notification: Mapping[str, Any], exc: Exception, instance: Instance) -> Inbound:
    """A notification this module cannot read, kept raw for an agent instead of blocking the poll."""
    account = notification.get("account") if isinstance(notification.get("account"), dict) else {}
    acct = str(account.get("acct") or "") if isinstance(account, dict) else ""
    what = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
    return Inbound(
        external_id=f"notification-{notification.get('id')}",
        sender=Address("mastodon", full_acct(acct, instance.domain) if acct else ""),
        sent_at=datetime.now(UTC),
        text="",
        scope=instance.scope,
        chat_like=True,
        raw=raw_json(notification),
        defects=(valid_text(f"unreadable Mastodon notification: {what}"),),
        flags=frozenset({FLAG_QUARANTINED}),
    )
