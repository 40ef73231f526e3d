"""Reading a workspace: conversations.history per conversation, conversations.replies for active threads.

The cursor (JSON) keeps, per conversation, the newest top-level `ts` committed, the
threads still followed with the latest reply read, and `mark`s: the newest time seen
in the history and in each thread when last read, so an `edited` newer than its
mark is an edit not reported yet (Slack's own times: our clock does not matter).
Records come oldest first and each batch carries the cursor up to its last record, so a restart
after a crash reads on from there: nothing missed, nothing read twice.

What polling can see (the Events API sees the rest): a new message anywhere; new
replies of threads followed (parents of the last `thread_days`); an edit of a
message re-read, i.e. of a thread's messages when the thread moves and of
top-level messages back to the oldest followed thread; the deletion of a thread
parent (Slack keeps it as a tombstone). A deleted message without replies simply
vanishes from the API, so its deletion is not seen.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from adapters.base import (
    AdapterError,
    Address,
    Batch,
    ConfigurationError,
    Inbound,
    PermanentError,
    TransientError,
    Update,
)
from adapters.slack.api import SlackAPI
from adapters.slack.messages import Person, deletion, edit, inbound, is_written
from adapters.slack.mrkdwn import mentioned_users

log = logging.getLogger(__name__)

MEMBER_TYPES = "public_channel,private_channel,mpim,im"


@dataclass
class Thread:
    """A followed thread: the latest reply read, and the newest time seen in it then."""

    latest: str
    mark: str = ""


@dataclass
class Conversation:
    """What the cursor remembers of one conversation."""

    newest: str = ""
    mark: str = ""  # of the history
    threads: dict[str, Thread] = field(default_factory=dict)  # by parent ts
    deleted: list[str] = field(default_factory=list)  # tombstoned parents already reported

    def as_json(self) -> dict[str, Any]:
        return {"newest": self.newest, "mark": self.mark, "deleted": self.deleted,
                "threads": {p: {"latest": t.latest, "mark": t.mark} for p, t in self.threads.items()}}


def load_cursor(cursor: str | None) -> dict[str, Conversation]:
    """The state in a cursor this module wrote; an unreadable one starts over (dedupe absorbs it)."""
    if not cursor:
        return {}
    try:
        data = json.loads(cursor)
        return {cid: Conversation(str(c.get("newest", "")), str(c.get("mark", "")),
                                  {str(p): Thread(str(t["latest"]), str(t.get("mark", "")))
                                   for p, t in dict(c.get("threads", {})).items()},
                                  [str(t) for t in c.get("deleted", [])])
                for cid, c in dict(data["conversations"]).items()}
    except (ValueError, KeyError, TypeError, AttributeError):
        log.warning("unreadable Slack cursor; reading the conversations from the start")
        return {}


def dump_cursor(state: dict[str, Conversation]) -> str:
    return json.dumps({"v": 1, "conversations": {cid: c.as_json() for cid, c in state.items()}},
                      separators=(",", ":"), sort_keys=True)


def _later(a: str, b: str) -> str:
    """The later of two ts strings ("" is the earliest)."""
    if not a:
        return b
    return b if b and float(b) > float(a) else a


def _newest_seen(mark: str, messages: list[dict[str, Any]]) -> str:
    """`mark` moved to the newest ts or edit ts among `messages`."""
    for message in messages:
        mark = _later(_later(mark, str(message["ts"])), str((message.get("edited") or {}).get("ts") or ""))
    return mark


class Poller:
    """One poll of a workspace's conversations, for SlackAdapter.poll."""

    def __init__(self, name: str, api: SlackAPI, conversations: list[str], batch_size: int,
                 thread_days: float) -> None:
        self.name = name
        self.api = api
        self.configured = conversations
        self.batch_size = batch_size
        self.thread_seconds = thread_days * 86400
        self.team = ""
        self.bot_id = ""
        self.bot_user = ""
        self._people: dict[str, Person] = {}

    async def identify(self) -> None:
        """auth.test: our team (the scope of every id) and our bot (whose posts are our echoes)."""
        if self.team:
            return
        me = await self.api.call("auth.test")
        self.team = str(me.get("team_id") or "").upper()
        self.bot_id = str(me.get("bot_id") or "")
        self.bot_user = str(me.get("user_id") or "")

    async def member_conversations(self) -> list[str]:
        found: list[str] = []
        async for page in self.api.pages("users.conversations", "channels", types=MEMBER_TYPES,
                                         exclude_archived="true"):
            found += [str(c["id"]) for c in page if c.get("id")]
        return found

    async def poll(self, cursor: str | None) -> AsyncIterator[Batch]:
        await self.identify()
        state = load_cursor(cursor)
        configured = bool(self.configured)
        for cid in self.configured or await self.member_conversations():
            async for batch in self._conversation(cid, state, configured):
                yield batch

    async def _conversation(self, cid: str, state: dict[str, Conversation],
                            configured: bool) -> AsyncIterator[Batch]:
        conv = state.setdefault(cid, Conversation())
        before = dump_cursor(state)
        horizon = time.time() - self.thread_seconds
        for parent in [p for p, t in conv.threads.items() if float(t.latest) < horizon]:
            del conv.threads[parent]
        conv.deleted = [p for p in conv.deleted if p in conv.threads]
        # Re-read back to the oldest followed thread, to see which threads moved.
        start = min([conv.newest, *conv.threads], key=float) if conv.newest else ""
        try:
            history = await self._all("conversations.history", channel=cid, oldest=start,
                                      inclusive="true" if start else "")
        except PermanentError as exc:
            if configured:
                raise ConfigurationError(
                    f"channel {self.name}: conversation {cid} cannot be read ({exc})") from exc
            log.warning("channel %s: skipping conversation %s: %s", self.name, cid, exc)
            return
        history.reverse()  # Slack gives newest first; we commit oldest first
        out = _Collector(self.batch_size)
        moved: list[str] = []
        for message in history:
            ts = str(message["ts"])
            if message.get("subtype") == "tombstone":
                if ts in conv.threads and ts not in conv.deleted:
                    out.updates.append(deletion(message, channel=cid, team=self.team))
                    conv.deleted.append(ts)
            elif not conv.newest or float(ts) > float(conv.newest):
                await self._add(out, message, cid)
                conv.newest = ts
            else:
                await self._maybe_edit(out, message, cid, conv.mark)
            if message.get("latest_reply") or message.get("reply_count"):
                new_thread = ts not in conv.threads
                thread = conv.threads.setdefault(ts, Thread(ts))
                latest = message.get("latest_reply")
                # Without latest_reply (older payloads), a thread is read when first seen.
                if (float(latest) > float(thread.latest)) if latest else new_thread:
                    moved.append(ts)
            if out.full():
                yield out.take(dump_cursor(state))
        # Moved only now (a crash before re-reads the history): an edit seen is reported once.
        conv.mark = _newest_seen(conv.mark, history)
        for parent in moved:
            thread = conv.threads[parent]
            known = thread.latest
            replies = [r for r in await self._all("conversations.replies", channel=cid, ts=parent)
                       if str(r["ts"]) != parent]
            for reply in replies:
                ts = str(reply["ts"])
                if float(ts) > float(known):
                    await self._add(out, reply, cid)
                    thread.latest = _later(thread.latest, ts)
                else:
                    await self._maybe_edit(out, reply, cid, thread.mark)
                if out.full():
                    yield out.take(dump_cursor(state))
            thread.mark = _newest_seen(thread.mark, replies)
        after = dump_cursor(state)
        if out.records or out.updates or after != before:
            yield out.take(after)

    async def _all(self, method: str, **params: Any) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        async for page in self.api.pages(method, "messages", **params):
            found += page
        return found

    async def _add(self, out: _Collector, message: dict[str, Any], cid: str) -> None:
        ts = str(message["ts"])
        if ts in out.added or not is_written(message, self.bot_id):
            return
        out.added.add(ts)
        out.records.append(await self.record(message, cid))

    async def _maybe_edit(self, out: _Collector, message: dict[str, Any], cid: str, mark: str) -> None:
        edited = str((message.get("edited") or {}).get("ts") or "")
        if edited and mark and float(edited) > float(mark) and is_written(message, self.bot_id):
            names = await self.names(str(message.get("text") or ""))
            out.updates.append(edit(message, channel=cid, team=self.team, names=names))

    async def record(self, message: dict[str, Any], cid: str) -> Inbound:
        """A written message of conversation `cid` as an Inbound, its author and mentions looked up."""
        user = str(message.get("user") or (self.bot_user if message.get("bot_id") == self.bot_id else ""))
        team = str(message.get("user_team") or message.get("team") or self.team)
        person = await self.person(user, team)
        names = await self.names(str(message.get("text") or ""))
        return inbound(message, channel=cid, team=self.team, person=person, names=names,
                       im=cid.startswith("D"), own_bot=self.bot_id)

    async def names(self, text: str) -> dict[str, str]:
        """Display names of the users `text` mentions."""
        return {uid: (await self.person(uid, self.team)).address.display_name or uid
                for uid in mentioned_users(text)}

    async def person(self, user: str, team: str) -> Person:
        """users.info for `user`, once per adapter; a user Slack will not describe is their id."""
        if user in self._people:
            return self._people[user]
        found = Person(Address("slack", f"{user}@{team}".upper(), user))
        try:
            body = await self.api.call("users.info", user=user) if user else {}
        except (TransientError, ConfigurationError):
            raise
        except AdapterError as exc:
            log.info("channel %s: no profile for Slack user %s: %s", self.name, user, exc)
            body = {}
        if body.get("user"):
            u = body["user"]
            profile = u.get("profile") or {}
            name = str(profile.get("display_name") or profile.get("real_name") or u.get("real_name")
                       or u.get("name") or user)
            home = str(u.get("team_id") or team)
            found = Person(Address("slack", f"{user}@{home}".upper(), name),
                           str(profile["email"]) if profile.get("email") else None, str(u.get("tz") or ""))
        self._people[user] = found
        return found


class _Collector:
    """Records and updates gathered until a batch is full."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.records: list[Inbound] = []
        self.updates: list[Update] = []
        self.added: set[str] = set()

    def full(self) -> bool:
        return len(self.records) + len(self.updates) >= self.size

    def take(self, cursor: str) -> Batch:
        batch = Batch(records=self.records, cursor=cursor, updates=self.updates)
        self.records, self.updates = [], []
        return batch
