"""Slack message objects (as conversations.history/replies give them) to Inbound, Edit and Deletion."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from adapters.base import FLAG_OWN_ECHO, Address, Attachment, Deletion, Edit, Inbound, valid_text
from adapters.slack.mrkdwn import to_text

#: Subtypes that are a person (or our bot) writing; every other subtype (channel_join,
#: channel_topic, bot_message of other apps, ...) is Slack talking about the conversation.
WRITTEN = frozenset({None, "thread_broadcast", "file_share", "me_message"})


@dataclass(frozen=True, slots=True)
class Person:
    """A Slack user as users.info describes them, cached by the poller."""

    address: Address
    email: str | None = None
    tz: str = ""


def when(ts: str) -> datetime:
    return datetime.fromtimestamp(float(ts), UTC)


def is_written(message: Mapping[str, Any], own_bot: str) -> bool:
    """A message to keep: a person's, or our own bot's (an echo the core recognises by its ts)."""
    if message.get("subtype") not in WRITTEN or message.get("hidden"):
        return False
    bot = message.get("bot_id")
    return not bot or bot == own_bot


def inbound(message: Mapping[str, Any], *, channel: str, team: str, person: Person,
            names: Mapping[str, str], im: bool, own_bot: str) -> Inbound:
    """One written message as an Inbound; `names` maps mentioned user ids to display names."""
    ts = str(message["ts"])
    thread_ts = str(message.get("thread_ts") or "")
    files = tuple(
        Attachment(filename=valid_text(str(f.get("name") or f.get("title") or f.get("id") or "file")),
                   content_type=str(f.get("mimetype") or "application/octet-stream"),
                   fetch_ref=str(f.get("url_private_download") or f.get("url_private")),
                   size=f.get("size") if isinstance(f.get("size"), int) else None)
        for f in message.get("files") or () if f.get("url_private_download") or f.get("url_private"))
    # A reply to a channel message goes into its thread; in a DM, only when the customer used one.
    reply_thread = thread_ts or ("" if im else ts)
    meta: dict[str, Any] = {"channel": channel, "thread_ts": reply_thread, "team": team}
    if person.tz:
        meta["user_tz"] = person.tz
    return Inbound(
        external_id=ts,
        sender=person.address,
        sent_at=when(ts),
        text=valid_text(to_text(str(message.get("text") or ""), names)),
        thread_refs=(thread_ts,) if thread_ts and thread_ts != ts else (),
        scope=f"{team}/{channel}",
        also_known_as=(Address("email", person.email),) if person.email else (),
        chat_like=True,
        attachments=files,
        flags=frozenset({FLAG_OWN_ECHO}) if message.get("bot_id") == own_bot else frozenset(),
        meta={"slack": meta},
    )


def edit(message: Mapping[str, Any], *, channel: str, team: str, names: Mapping[str, str]) -> Edit:
    edited = message.get("edited") or {}
    text = valid_text(to_text(str(message.get("text") or ""), names))
    return Edit(external_id=str(message["ts"]), text=text,
                edited_at=when(str(edited.get("ts") or message["ts"])), scope=f"{team}/{channel}")


def deletion(message: Mapping[str, Any], *, channel: str, team: str, at: datetime | None = None) -> Deletion:
    """The deletion of `message`, at `at`: a polled tombstone does not say when, so then it is now."""
    return Deletion(external_id=str(message["ts"]), deleted_at=at or datetime.now(UTC),
                    scope=f"{team}/{channel}")
