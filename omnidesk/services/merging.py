"""Fixing what threading and identity resolution guessed wrong: merges, moves, unmerges.

Every merge records exactly what it moved in its event, so undoing it moves
exactly that back (and nothing that arrived or changed hands since).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

import aiosqlite

from omnidesk.desk import Desk
from omnidesk.errors import NotFound, UserError
from omnidesk.permissions import require
from omnidesk.services.actionresult import (
    ActionResult,
    EventKind,
    load_conversations,
    record_event,
    require_live,
)
from omnidesk.services.sla import recomputes_sla
from omnidesk.store import actions as store
from omnidesk.store import customers as store_customers
from omnidesk.timeutil import now_ms


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


# -- conversations -------------------------------------------------------------------------


@recomputes_sla
async def merge_conversations(desk: Desk, source_id: int, target_id: int) -> ActionResult:
    """Move every message of source into target; source is marked merged_into target.

    The target also gains the source's tags and participants. Undo moves the
    same messages back and removes what the merge added.
    """
    if source_id == target_id:
        raise UserError(f"cannot merge #{source_id} into itself")
    now = now_ms()
    async with desk.db.write() as conn:
        rows = await load_conversations(conn, [source_id, target_id])
        source, target = rows[source_id], rows[target_id]
        if source["merged_into"] is not None:
            raise UserError(f"#{source_id} was merged into #{source['merged_into']} already")
        require_live(target)
        message_ids = await store.message_ids_of(conn, source_id)
        await store.move_messages(conn, message_ids, from_conversation=source_id, to_conversation=target_id)
        target_tags = {t.casefold() for t in await store.conversation_tags(conn, target_id)}
        tags_added = [
            t for t in await store.conversation_tags(conn, source_id) if t.casefold() not in target_tags
        ]
        for tid in (await store.tag_ids(conn, tags_added, create=False)).values():
            await store.add_tag(conn, target_id, tid)
        participants_added = [
            iid
            for iid, role in (await store.participant_ids(conn, source_id)).items()
            if await store.add_participant(conn, target_id, iid, role)
        ]
        await store.update_conversation(conn, source_id, {"merged_into": target_id})
        await store.recompute_counters(conn, source_id)
        await store.recompute_counters(conn, target_id)
        e1 = await record_event(
            conn, desk, EventKind.MERGED, now,
            conversation_id=target_id,
            before={"message_count": target["message_count"]},
            after={
                "source": source_id,
                "message_ids": message_ids,
                "tags_added": tags_added,
                "participants_added": participants_added,
            },
        )
        e2 = await record_event(
            conn, desk, EventKind.MERGED_INTO, now,
            conversation_id=source_id,
            before={"merged_into": None},
            after={"merged_into": target_id},
        )
    return ActionResult(
        "merge",
        (target_id, source_id),
        (e1, e2),
        f"Merged #{source_id} into #{target_id} ({_plural(len(message_ids), 'message')})",
    )


async def _unmerge_conversations(
    conn: aiosqlite.Connection, desk: Desk, ev: sqlite3.Row, now: int
) -> list[int]:
    after = json.loads(ev["after"])
    target_id, source_id = ev["conversation_id"], after["source"]
    rows = await load_conversations(conn, [source_id, target_id])
    if rows[source_id]["merged_into"] != target_id:
        raise UserError(f"#{source_id} is no longer merged into #{target_id}; nothing undone")
    await store.move_messages(
        conn, after["message_ids"], from_conversation=target_id, to_conversation=source_id
    )
    for tid in (await store.tag_ids(conn, after["tags_added"], create=False)).values():
        await store.remove_tag(conn, target_id, tid)
    for iid in after["participants_added"]:
        await store.remove_participant(conn, target_id, iid)
    await store.update_conversation(conn, source_id, {"merged_into": None})
    await store.recompute_counters(conn, source_id)
    await store.recompute_counters(conn, target_id)
    return [
        await record_event(
            conn, desk, EventKind.UNMERGED, now,
            conversation_id=cid,
            before={"merged_into": target_id} if cid == source_id else {"source": source_id},
            after={"merged_into": None, "undo_of": ev["id"]}
            if cid == source_id
            else {"message_ids": after["message_ids"], "undo_of": ev["id"]},
        )
        for cid in (target_id, source_id)
    ]


@recomputes_sla
async def move_message(desk: Desk, message_id: int, target_conversation_id: int) -> ActionResult:
    """Move one message to another conversation (both get an event); undo moves it back."""
    now = now_ms()
    async with desk.db.write() as conn:
        message = await store.message_row(conn, message_id)
        if message is None:
            raise NotFound(f"no such message: {message_id}")
        source_id = message["conversation_id"]
        if source_id == target_conversation_id:
            raise UserError(f"message {message_id} is in #{source_id} already")
        rows = await load_conversations(conn, [source_id, target_conversation_id])
        require_live(rows[target_conversation_id])
        events = await _move(conn, desk, message_id, source_id, target_conversation_id, now, undo_of=None)
    return ActionResult(
        "move",
        (source_id, target_conversation_id),
        tuple(events),
        f"Moved message {message_id} from #{source_id} to #{target_conversation_id}",
        message_id,
    )


async def _move(
    conn: aiosqlite.Connection,
    desk: Desk,
    message_id: int,
    source_id: int,
    target_id: int,
    now: int,
    *,
    undo_of: int | None,
) -> list[int]:
    moved = await store.move_messages(
        conn, [message_id], from_conversation=source_id, to_conversation=target_id
    )
    if not moved:
        raise UserError(f"message {message_id} is no longer in #{source_id}; nothing undone")
    await store.recompute_counters(conn, source_id)
    await store.recompute_counters(conn, target_id)
    after: dict[str, object] = {"conversation_id": target_id, "message_id": message_id}
    if undo_of is not None:
        after["undo_of"] = undo_of
    return [
        await record_event(
            conn, desk, EventKind.MESSAGE_MOVED, now,
            conversation_id=cid,
            before={"conversation_id": source_id},
            after=after,
        )
        for cid in (source_id, target_id)
    ]


# -- customers -----------------------------------------------------------------------------


async def merge_customers(desk: Desk, source_id: int, target_id: int) -> ActionResult:
    """Move identities and conversations of source to target (reversible by unmerge).

    The source stays as a row marked `merged_into` target, so unmerge can hand
    it back exactly what it had. An unnamed target takes the source's name.
    """
    require(desk.agent, "customer.merge")
    if source_id == target_id:
        raise UserError(f"cannot merge customer {source_id} into itself")
    now = now_ms()
    async with desk.db.write() as conn:
        source = await store_customers.customer_row(conn, source_id)
        target = await store_customers.customer_row(conn, target_id)
        for cid, row in ((source_id, source), (target_id, target)):
            if row is None:
                raise NotFound(f"no such customer: {cid}")
        assert source is not None and target is not None
        if source["merged_into"] is not None:
            raise UserError(f"customer {source_id} was merged into {source['merged_into']} already")
        if target["merged_into"] is not None:
            raise UserError(
                f"customer {target_id} was merged into {target['merged_into']}",
                hint=f"merge into {target['merged_into']} instead",
            )
        identity_ids, conversation_ids = await store_customers.owned_ids(conn, source_id)
        await store_customers.move_owned(
            conn,
            identity_ids=identity_ids,
            conversation_ids=conversation_ids,
            from_customer=source_id,
            to_customer=target_id,
        )
        await store_customers.set_merged_into(conn, source_id, target_id, now)
        adopted = not target["name"] and bool(source["name"])
        if adopted:
            await store_customers.set_name(conn, target_id, source["name"], now)
        else:
            await store_customers.touch(conn, target_id, now)
        events = [
            await record_event(
                conn, desk, EventKind.CUSTOMER_MERGED, now,
                customer_id=target_id,
                before={"source_name": source["name"], "target_name": target["name"]},
                after={
                    "source": source_id,
                    "target": target_id,
                    "identity_ids": identity_ids,
                    "conversation_ids": conversation_ids,
                    "adopted_name": adopted,
                    "watermark": await store_customers.max_conversation_id(conn),
                },
            )
        ]
        events += await _customer_changed(
            conn, desk, conversation_ids, source_id, target_id, now, undo_of=None
        )
    return ActionResult(
        "merge-customers",
        tuple(conversation_ids),
        tuple(events),
        f"Merged customer {source_id} into {target_id}"
        f" ({_plural(len(identity_ids), 'identity', 'identities')},"
        f" {_plural(len(conversation_ids), 'conversation')})",
    )


async def _customer_changed(
    conn: aiosqlite.Connection,
    desk: Desk,
    conversation_ids: Sequence[int],
    old: int,
    new: int,
    now: int,
    *,
    undo_of: int | None,
) -> list[int]:
    after: dict[str, object] = {"customer_id": new}
    if undo_of is not None:
        after["undo_of"] = undo_of
    return [
        await record_event(
            conn, desk, EventKind.CUSTOMER_CHANGED, now,
            conversation_id=cid,
            customer_id=new,
            before={"customer_id": old},
            after=after,
        )
        for cid in conversation_ids
    ]


async def unmerge_customer(desk: Desk, customer_id: int) -> ActionResult:
    """Undo the latest merge into `customer_id`: the merged customer gets back what it had.

    `customer_id` may also be the merged-away customer itself: then that merge
    is undone. Conversations started after the merge only by the returned
    identities go back too.
    """
    require(desk.agent, "customer.merge")
    now = now_ms()
    async with desk.db.write() as conn:
        row = await store_customers.customer_row(conn, customer_id)
        if row is None:
            raise NotFound(f"no such customer: {customer_id}")
        if row["merged_into"] is not None:
            target, sources = row["merged_into"], {customer_id}
        else:
            target, sources = customer_id, set(await store_customers.merged_sources(conn, customer_id))
        merges = await store.customer_events(conn, kind=EventKind.CUSTOMER_MERGED, customer_id=target)
        ev = next((e for e in merges if json.loads(e["after"])["source"] in sources), None)
        if ev is None:
            raise UserError(f"customer {customer_id} has no merge to undo")
        events, moved = await _unmerge_customer(conn, desk, ev, now)
    after = json.loads(ev["after"])
    return ActionResult(
        "unmerge-customers",
        tuple(moved),
        tuple(events),
        f"Unmerged customer {after['source']} from {after['target']}",
    )


async def _unmerge_customer(
    conn: aiosqlite.Connection, desk: Desk, ev: sqlite3.Row, now: int
) -> tuple[list[int], list[int]]:
    after = json.loads(ev["after"])
    source_id, target_id = after["source"], after["target"]
    source = await store_customers.customer_row(conn, source_id)
    if source is None or source["merged_into"] != target_id:
        raise UserError(f"customer {source_id} is no longer merged into {target_id}; nothing undone")
    # Conversations started while merged, only by the returned identities, go back too.
    later = await store_customers.conversations_only_from(
        conn, target_id, after["identity_ids"], after.get("watermark", 2**62)
    )
    candidates = list(dict.fromkeys([*after["conversation_ids"], *later]))
    _, still_owned = await store_customers.owned_ids(conn, target_id)
    moving = [c for c in candidates if c in set(still_owned)]
    await store_customers.move_owned(
        conn,
        identity_ids=after["identity_ids"],
        conversation_ids=moving,
        from_customer=target_id,
        to_customer=source_id,
    )
    await store_customers.set_merged_into(conn, source_id, None, now)
    target = await store_customers.customer_row(conn, target_id)
    if after.get("adopted_name") and target is not None and target["name"] == source["name"]:
        await store_customers.set_name(conn, target_id, "", now)
    events = [
        await record_event(
            conn, desk, EventKind.CUSTOMER_UNMERGED, now,
            customer_id=target_id,
            before={"source": source_id, "target": target_id},
            after={
                "source": source_id,
                "identity_ids": after["identity_ids"],
                "conversation_ids": moving,
                "undo_of": ev["id"],
            },
        )
    ]
    events += await _customer_changed(conn, desk, moving, target_id, source_id, now, undo_of=ev["id"])
    return events, moving


# -- undo ------------------------------------------------------------------------------------


async def undo_merge_events(desk: Desk, events: Sequence[sqlite3.Row]) -> ActionResult:
    """Undo a merge_conversations, move_message or merge_customers from its events."""
    if any(ev["kind"] == EventKind.CUSTOMER_MERGED for ev in events):
        require(desk.agent, "customer.merge")  # undoing it is an unmerge, with the same right
    now, written, convs = now_ms(), [], []
    async with desk.db.write() as conn:
        moved_messages: set[int] = set()
        for ev in events:
            kind, after = ev["kind"], json.loads(ev["after"] or "null")
            if kind == EventKind.MERGED:
                written += await _unmerge_conversations(conn, desk, ev, now)
                convs += [ev["conversation_id"], after["source"]]
            elif kind == EventKind.MESSAGE_MOVED and after["message_id"] not in moved_messages:
                moved_messages.add(after["message_id"])
                source = json.loads(ev["before"])["conversation_id"]
                written += await _move(
                    conn, desk, after["message_id"], after["conversation_id"], source, now, undo_of=ev["id"]
                )
                convs += [after["conversation_id"], source]
            elif kind == EventKind.CUSTOMER_MERGED:
                more, moved = await _unmerge_customer(conn, desk, ev, now)
                written += more
                convs += moved
    return ActionResult("undo", tuple(dict.fromkeys(convs)), tuple(written), "Undid the merge")
