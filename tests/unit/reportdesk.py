"""The hand-computed desk of the report tests: messages and events as ingest and the services write
them, at chosen times (minutes after T0, Monday 2026-11-02 00:00 UTC).

Every expected figure in tests/unit/test_reports.py is worked out by hand from the table below.

  #1 Ann, support (hu): in 0, assigned alice 5, alice replies 30, resolved 60 (alice). Tag billing.
  #2 Bob, support (fa): in 60, assigned alice 61, reassigned to bob 90 (a transfer), bob replies 120,
     pending 121, customer writes 240 (reopened from pending), bob replies 270, resolved 300 (bob),
     customer writes 400 (reopened from resolved), bob replies 430, resolved 460. Tags billing, refund.
  #3 Chen, support then tg (zh): in 120 on support, in 150 on tg (channel switched), alice answers
     200 from Telegram (her reply on another channel), resolved 210 (alice), customer writes 1300
     (reopened from resolved, 1090 minutes later), unanswered.
  #4 Dora, support: in 480; #5 Dora, support: in 500, merged into #4 at 520; alice replies on #4 540.
  #6 Emil, tg: in 600, unanswered.
  #7 spam, support: in 700, marked spam 701.
"""

from __future__ import annotations

from typing import Any

from omnidesk.desk import Desk
from omnidesk.eventkinds import EventKind as K
from omnidesk.store import actions, customers
from omnidesk.store.agents import agent_by_name, insert_agent
from omnidesk.store.channels import ensure_channel
from omnidesk.store.events import insert_event

T0 = 1_793_577_600_000  # 2026-11-02T00:00:00Z, a Monday
MIN = 60_000


def at(minutes: float) -> int:
    return T0 + int(minutes * MIN)


class Built:
    def __init__(self) -> None:
        self.ids: dict[int, int] = {}  # fixture number -> conversation id
        self.channels: dict[str, int] = {}
        self.agents: dict[str, int] = {}


async def build(desk: Desk) -> Built:
    b = Built()
    for name, kind in (("support", "email"), ("tg", "telegram")):
        b.channels[name] = (await ensure_channel(desk.db, name, kind, f"{name}@example.com")).id
    for name in ("alice", "bob"):
        found = await agent_by_name(desk.db, name) or await insert_agent(
            desk.db, name=name, display_name=name.title(), teams=("billing",))
        b.agents[name] = found.id
    async with desk.db.write() as conn:
        async def event(n: int, kind: str, minute: float, *, agent: str | None = None,
                        before: Any = None, after: Any = None) -> None:
            await insert_event(desk.db, conn, kind=kind, agent_id=b.agents[agent] if agent else None,
                               now=at(minute), conversation_id=b.ids[n], before=before, after=after)

        async def conv(n: int, name: str, channel: str, minute: float) -> None:
            cust = await customers.create_customer(conn, name=name, now=at(minute))
            cid = await actions.create_conversation(conn, customer_id=cust, subject=f"#{n}",
                                                    channel_id=b.channels[channel], now=at(minute))
            b.ids[n] = cid
            await event(n, K.CREATED, minute, after={"rule": "new", "channel_id": b.channels[channel],
                                                       "linked_to": None})

        async def msg(n: int, direction: str, minute: float, channel: str, *, agent: str | None = None,
                      language: str | None = None) -> int:
            return await actions.insert_message(
                conn, conversation_id=b.ids[n], channel_id=b.channels[channel], direction=direction,
                external_id=f"<{n}-{minute}@x>", author_agent_id=b.agents[agent] if agent else None,
                author_name=agent or "customer", text="hello", sent_at=at(minute), received_at=at(minute),
                language=language, delivery="sent" if direction == "out" else None)

        async def status(n: int, minute: float, before: str, after: str, agent: str | None) -> None:
            await event(n, K.STATUS, minute, agent=agent, before={"status": before, "snoozed_until": None},
                        after={"status": after, "snoozed_until": None})
            await actions.update_conversation(conn, b.ids[n], {"status": after})

        async def reopened(n: int, minute: float, before: str, message_id: int) -> None:
            await event(n, K.REOPENED, minute, before={"status": before},
                        after={"status": "open", "message_id": message_id, "rule": "reply"})
            await actions.update_conversation(conn, b.ids[n], {"status": "open"})

        def assigned(n: int, minute: float, before: str | None, after: str):
            return event(n, K.ASSIGNED, minute, agent=after, before={"assignee": before, "team": None},
                         after={"assignee": after, "team": None})

        await conv(1, "Ann", "support", 0)
        await msg(1, "in", 0, "support", language="hu")
        await assigned(1, 5, None, "alice")
        await msg(1, "out", 30, "support", agent="alice")
        await status(1, 60, "open", "resolved", "alice")

        await conv(2, "Bob", "support", 60)
        await msg(2, "in", 60, "support", language="fa")
        await assigned(2, 61, None, "alice")
        await assigned(2, 90, "alice", "bob")
        await msg(2, "out", 120, "support", agent="bob")
        await status(2, 121, "open", "pending", "bob")
        await reopened(2, 240, "pending", await msg(2, "in", 240, "support", language="fa"))
        await msg(2, "out", 270, "support", agent="bob")
        await status(2, 300, "open", "resolved", "bob")
        await reopened(2, 400, "resolved", await msg(2, "in", 400, "support", language="fa"))
        await msg(2, "out", 430, "support", agent="bob")
        await status(2, 460, "open", "resolved", "bob")

        await conv(3, "Chen", "support", 120)
        await msg(3, "in", 120, "support", language="zh")
        switched = await msg(3, "in", 150, "tg", language="zh")
        await event(3, K.CHANNEL_SWITCHED, 150, before={"channel_id": b.channels["support"]},
                    after={"channel_id": b.channels["tg"], "message_id": switched, "rule": "continuity"})
        await msg(3, "out", 200, "tg", agent="alice")
        await status(3, 210, "open", "resolved", "alice")
        await reopened(3, 1300, "resolved", await msg(3, "in", 1300, "tg", language="zh"))

        await conv(4, "Dora", "support", 480)
        await msg(4, "in", 480, "support")
        await conv(5, "Dora", "support", 500)
        moved = [await msg(5, "in", 500, "support")]
        await actions.move_messages(conn, moved, from_conversation=b.ids[5], to_conversation=b.ids[4])
        await actions.update_conversation(conn, b.ids[5], {"merged_into": b.ids[4]})
        await event(4, K.MERGED, 520, agent="alice", before={"message_count": 1},
                    after={"source": b.ids[5], "message_ids": moved, "tags_added": [],
                           "participants_added": []})
        await event(5, K.MERGED_INTO, 520, agent="alice", before={"merged_into": None},
                    after={"merged_into": b.ids[4]})
        await msg(4, "out", 540, "support", agent="alice")

        await conv(6, "Emil", "tg", 600)
        await msg(6, "in", 600, "tg")

        await conv(7, "Spam", "support", 700)
        await msg(7, "in", 700, "support")
        await status(7, 701, "open", "spam", "alice")

        for n, names in ((1, ["billing"]), (2, ["billing", "refund"])):
            for tag_id in (await actions.tag_ids(conn, names, create=True)).values():
                await actions.add_tag(conn, b.ids[n], tag_id)
    return b


async def add_elsewhere(path: Any, name: str, subject: str, minutes: float) -> None:
    """Another process's write: a customer and a conversation created without a `created` event
    (so the cohort grows and the backlog, read from events, stays)."""
    from omnidesk.store.db import Database

    other = await Database.open(path)
    try:
        async with other.write() as conn:
            cust = await customers.create_customer(conn, name=name, now=at(minutes))
            await actions.create_conversation(conn, customer_id=cust, subject=subject, channel_id=None,
                                              now=at(minutes))
    finally:
        await other.close()
