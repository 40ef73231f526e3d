"""SQL for the read side that is not search: one conversation's timeline, channels, outbox.

Lists and search (keyset pages, query compilation) live in store/search.py.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING

from omnidesk.model import (
    AttachmentInfo,
    Conversation,
    ConversationSummary,
    Event,
    Identity,
    Message,
    MessageEdit,
    OutboxItem,
)
from omnidesk.store.customers import row_to_identity

if TYPE_CHECKING:
    from omnidesk.store.db import Database


def _marks(values: Sequence[object]) -> str:
    return ",".join("?" * len(values))


def _loads(text: str | None, default: object) -> object:
    if text is None or text == "":
        return default
    # Most messages have no flags, defects or meta: skip the parser for those (a timeline
    # parses four of these per message).
    if text == "[]":
        return []
    if text == "{}":
        return {}
    try:
        return json.loads(text)
    except ValueError:
        return default


# The customer's address shown in lists: the identity of their latest inbound
# message, else their first identity.
_SUMMARY_SQL = """
SELECT c.id, c.subject, c.status, c.priority, c.customer_id, cu.name AS customer_name,
       coalesce(
         (SELECT m.author_address FROM messages m WHERE m.conversation_id = c.id AND m.direction = 'in'
           ORDER BY m.sent_at DESC, m.id DESC LIMIT 1),
         (SELECT i.address FROM identities i WHERE i.customer_id = c.customer_id ORDER BY i.id LIMIT 1),
         '') AS customer_address,
       ch.kind AS channel_kind, ch.name AS channel_name, a.name AS assignee, c.team,
       (SELECT group_concat(name, char(31)) FROM (SELECT t.name FROM conversation_tags ct
          JOIN tags t ON t.id = ct.tag_id WHERE ct.conversation_id = c.id ORDER BY t.name COLLATE NOCASE))
         AS tags,
       c.message_count, c.last_activity_at, c.last_inbound_at, c.created_at, c.snoozed_until, c.sla_due_at,
       (c.last_inbound_at IS NOT NULL AND :agent IS NOT NULL AND c.last_inbound_at > coalesce(
          (SELECT r.read_at FROM conversation_reads r WHERE r.agent_id = :agent
            AND r.conversation_id = c.id), -1)) AS unread,
       (SELECT substr(coalesce(nullif(m.display_text, ''), m.text), 1, 200) FROM messages m
          WHERE m.conversation_id = c.id AND m.direction IN ('in', 'out')
          ORDER BY m.sent_at DESC, m.id DESC LIMIT 1) AS preview,
       c.linked_to, c.merged_into, c.sla_target, c.sla_warn_at, c.sla_left_ms
FROM conversations c
JOIN customers cu ON cu.id = c.customer_id
LEFT JOIN channels ch ON ch.id = c.channel_id
LEFT JOIN agents a ON a.id = c.assignee_id
"""


def _row_to_summary(r: sqlite3.Row) -> ConversationSummary:
    preview = (r["preview"] or "").strip()
    return ConversationSummary(
        id=r["id"],
        subject=r["subject"],
        status=r["status"],
        priority=r["priority"],
        customer_id=r["customer_id"],
        customer_name=r["customer_name"],
        customer_address=r["customer_address"],
        channel_kind=r["channel_kind"],
        channel_name=r["channel_name"],
        assignee=r["assignee"],
        team=r["team"],
        tags=tuple(r["tags"].split("\x1f")) if r["tags"] else (),
        message_count=r["message_count"],
        last_activity_at=r["last_activity_at"],
        last_inbound_at=r["last_inbound_at"],
        created_at=r["created_at"],
        snoozed_until=r["snoozed_until"],
        sla_due_at=r["sla_due_at"],
        unread=bool(r["unread"]),
        preview=preview.splitlines()[0] if preview else "",
        sla_target=r["sla_target"],
        sla_warn_at=r["sla_warn_at"],
        sla_left_ms=r["sla_left_ms"],
    )


def _named(ids: Sequence[int], agent_id: int | None) -> dict[str, object]:
    return {"agent": agent_id, **{f"p{i}": v for i, v in enumerate(ids)}}


async def summaries(db: Database, ids: Sequence[int], agent_id: int | None) -> list[ConversationSummary]:
    """Summaries for the given conversation ids, in the order given (missing ids skipped)."""
    if not ids:
        return []
    params = _named(ids, agent_id)
    marks = ",".join(f":p{i}" for i in range(len(ids)))
    rows = await db.fetchall(_SUMMARY_SQL + f" WHERE c.id IN ({marks})", params)
    by_id = {r["id"]: r for r in rows}
    return [_row_to_summary(by_id[i]) for i in ids if i in by_id]


async def conversation_row(db: Database, conversation_id: int) -> sqlite3.Row | None:
    """The conversation's own columns, or None when it does not exist."""
    return await db.fetchone("SELECT * FROM conversations WHERE id = ?", (conversation_id,))


async def customer_conversation_ids(db: Database, customer_id: int) -> list[int]:
    rows = await db.fetchall(
        "SELECT id FROM conversations WHERE customer_id = ? ORDER BY last_activity_at DESC, id DESC",
        (customer_id,),
    )
    return [r[0] for r in rows]


_MESSAGES_SQL = (
    "SELECT m.*, ch.kind AS channel_kind, ch.name AS channel_name, a.name AS agent_name"
    " FROM messages m LEFT JOIN channels ch ON ch.id = m.channel_id"
    " LEFT JOIN agents a ON a.id = m.author_agent_id"
    " WHERE m.conversation_id = ? ORDER BY m.sent_at, m.id"
)
_ATTACHMENTS_SQL = (
    "SELECT a.* FROM attachments a JOIN messages m ON m.id = a.message_id"
    " WHERE m.conversation_id = ? ORDER BY a.id"
)
_EDITS_SQL = (
    "SELECT e.* FROM message_edits e JOIN messages m ON m.id = e.message_id"
    " WHERE m.conversation_id = ? ORDER BY e.id"
)
_EVENTS_SQL = (
    "SELECT e.*, a.name AS agent_name, v.name AS via_name FROM events e"
    " LEFT JOIN agents a ON a.id = e.agent_id LEFT JOIN agents v ON v.id = e.via_agent_id"
    " WHERE e.{column} = ? ORDER BY e.created_at, e.id"
)
_PARTICIPANTS_SQL = (
    "SELECT i.id, i.customer_id, i.kind, i.address, i.display_name, i.opted_out_at FROM participants p"
    " JOIN identities i ON i.id = p.identity_id WHERE p.conversation_id = ? ORDER BY i.id"
)


async def messages(db: Database, conversation_id: int) -> list[Message]:
    """Every message of a conversation, oldest first, with channel, author agent and attachments."""
    rows = await db.fetchall(_MESSAGES_SQL, (conversation_id,))
    att_rows = await db.fetchall(_ATTACHMENTS_SQL, (conversation_id,)) if rows else []
    edit_rows = await db.fetchall(_EDITS_SQL, (conversation_id,)) if rows else []
    return _messages_from_rows(rows, att_rows, edit_rows)


async def timeline(db: Database, conversation_id: int, agent_id: int | None) -> Conversation | None:
    """A conversation with customer, messages, events and participants; None when missing.

    Every query is queued on the database thread at once and rows are converted only
    when all have arrived. One at a time, each would be a round trip through the event
    loop, which in the TUI is busy painting (8 trips: ~200 ms on a loaded machine);
    converting while the thread still works would fight it for the GIL.
    """
    import asyncio

    from omnidesk.store.customers import _CUSTOMER_COLUMNS, _row_to_customer, row_to_identity

    owner = "(SELECT customer_id FROM conversations WHERE id = ?)"
    one = (conversation_id,)
    (summary_rows, conversation, customer_rows, identity_rows, message_rows, att_rows, event_rows,
     participant_rows, edit_rows) = await asyncio.gather(
        db.fetchall(_SUMMARY_SQL + " WHERE c.id = :p0", _named([conversation_id], agent_id)),
        db.fetchall("SELECT linked_to, merged_into FROM conversations WHERE id = ?", one),
        db.fetchall(f"SELECT {_CUSTOMER_COLUMNS} FROM customers WHERE id = {owner}", one),
        db.fetchall(
            "SELECT id, customer_id, kind, address, display_name, opted_out_at FROM identities"
            f" WHERE customer_id = {owner} ORDER BY id",
            one,
        ),
        db.fetchall(_MESSAGES_SQL, one),
        db.fetchall(_ATTACHMENTS_SQL, one),
        db.fetchall(_EVENTS_SQL.format(column="conversation_id"), one),
        db.fetchall(_PARTICIPANTS_SQL, one),
        db.fetchall(_EDITS_SQL, one),
    )
    if not summary_rows or not conversation or not customer_rows:
        return None
    return Conversation(
        summary=_row_to_summary(summary_rows[0]),
        customer=_row_to_customer(customer_rows[0], [row_to_identity(r) for r in identity_rows]),
        messages=tuple(_messages_from_rows(message_rows, att_rows, edit_rows)),
        events=tuple(_row_to_event(r) for r in event_rows),
        participants=tuple(row_to_identity(r) for r in participant_rows),
        linked_to=conversation[0]["linked_to"],
        merged_into=conversation[0]["merged_into"],
    )


def row_to_attachment(a: sqlite3.Row) -> AttachmentInfo:
    return AttachmentInfo(id=a["id"], filename=a["filename"], content_type=a["content_type"], size=a["size"],
                          sha256=a["sha256"], inline=bool(a["inline"]), fetch_ref=a["fetch_ref"])


def _messages_from_rows(rows: Sequence[sqlite3.Row], att_rows: Sequence[sqlite3.Row],
                        edit_rows: Sequence[sqlite3.Row] = ()) -> list[Message]:
    edits: dict[int, list[MessageEdit]] = {}
    for e in edit_rows:
        edits.setdefault(e["message_id"], []).append(
            MessageEdit(e["text"], e["html"], e["shown_from"], e["replaced_at"]))
    attachments: dict[int, list[AttachmentInfo]] = {}
    for a in att_rows:
        attachments.setdefault(a["message_id"], []).append(row_to_attachment(a))
    out = []
    for r in rows:
        recipients = _loads(r["recipients"], [])
        meta = _loads(r["meta"], {})
        out.append(
            Message(
                id=r["id"],
                conversation_id=r["conversation_id"],
                direction=r["direction"],
                channel_id=r["channel_id"],
                channel_kind=r["channel_kind"],
                channel_name=r["channel_name"],
                external_id=r["external_id"],
                author_name=r["author_name"],
                author_address=r["author_address"],
                author_agent=r["agent_name"],
                subject=r["subject"],
                text=r["text"],
                display_text=r["display_text"] or r["text"],  # "" is stored when they are the same
                sent_at=r["sent_at"],
                sent_tz_offset=r["sent_tz_offset"],
                received_at=r["received_at"],
                recipients=tuple(recipients) if isinstance(recipients, list) else (),
                html=r["html"],
                language=r["language"],
                flags=tuple(_loads(r["flags"], [])),  # type: ignore[arg-type]
                defects=tuple(_loads(r["defects"], [])),  # type: ignore[arg-type]
                meta=meta if isinstance(meta, dict) else {},
                delivery=r["delivery"],
                delivery_error=r["delivery_error"],
                attachments=tuple(attachments.get(r["id"], ())),
                edited_at=r["edited_at"],
                deleted_at=r["deleted_at"],
                edits=tuple(edits.get(r["id"], ())),
            )
        )
    return out


def _row_to_event(r: sqlite3.Row) -> Event:
    return Event(
        id=r["id"],
        conversation_id=r["conversation_id"],
        customer_id=r["customer_id"],
        agent=r["agent_name"],
        kind=r["kind"],
        before=_loads(r["before"], None),
        after=_loads(r["after"], None),
        created_at=r["created_at"],
        reason=r["reason"],
        # A read that does not join the admin has none; a Row's `in` looks at values, not keys.
        via=r["via_name"] if "via_name" in r.keys() else None,  # noqa: SIM118
    )


async def events(
    db: Database, *, conversation_id: int | None = None, customer_id: int | None = None
) -> list[Event]:
    """Events of one conversation (or of one customer), oldest first."""
    column, value = (
        ("conversation_id", conversation_id) if conversation_id is not None else ("customer_id", customer_id)
    )
    rows = await db.fetchall(_EVENTS_SQL.format(column=column), (value,))
    return [_row_to_event(r) for r in rows]


async def participants(db: Database, conversation_id: int) -> list[Identity]:
    rows = await db.fetchall(_PARTICIPANTS_SQL, (conversation_id,))
    return [row_to_identity(r) for r in rows]


async def outbox(db: Database, states: Sequence[str] = ()) -> list[OutboxItem]:
    """Outbox rows, newest first, optionally only in the given states."""
    where = f"WHERE o.state IN ({_marks(states)})" if states else ""
    rows = await db.fetchall(
        "SELECT o.*, m.conversation_id, m.recipients, ch.name AS channel_name FROM outbox o"
        " JOIN messages m ON m.id = o.message_id JOIN channels ch ON ch.id = o.channel_id"
        f" {where} ORDER BY o.created_at DESC, o.id DESC",
        tuple(states),
    )
    out = []
    for r in rows:
        recipients = _loads(r["recipients"], [])
        to = (
            ", ".join(
                x.get("address", "")
                for x in recipients
                if isinstance(x, dict) and x.get("role", "to") == "to"
            )
            if isinstance(recipients, list)
            else ""
        )
        out.append(
            OutboxItem(
                id=r["id"],
                message_id=r["message_id"],
                conversation_id=r["conversation_id"],
                channel_name=r["channel_name"],
                state=r["state"],
                attempts=r["attempts"],
                next_attempt_at=r["next_attempt_at"],
                not_before=r["not_before"],
                last_error=r["last_error"],
                created_at=r["created_at"],
                to=to,
            )
        )
    return out


async def known_teams(db: Database) -> set[str]:
    rows = await db.fetchall("SELECT teams FROM agents")
    teams: set[str] = set()
    for r in rows:
        value = _loads(r[0], [])
        if isinstance(value, list):
            teams.update(str(t) for t in value)
    return teams


async def thread_messages(db: Database, conversation_id: int) -> list[sqlite3.Row]:
    """What a reply needs to know about a conversation's messages, oldest first."""
    return list(
        await db.fetchall(
            "SELECT m.id, m.direction, m.channel_id, ch.kind AS channel_kind, m.external_id,"
            " m.author_identity_id, m.author_name, m.author_address, m.recipients, m.subject, m.text,"
            " m.display_text, m.sent_at, m.sent_tz_offset, m.delivery, m.scope, m.meta,"
            " ai.kind AS author_kind"
            " FROM messages m LEFT JOIN channels ch ON ch.id = m.channel_id"
            " LEFT JOIN identities ai ON ai.id = m.author_identity_id"
            " WHERE m.conversation_id = ? ORDER BY m.sent_at, m.id",
            (conversation_id,),
        )
    )


async def audit_events(db: Database, *, agent_id: int | None = None, since: int | None = None,
                       kinds: Sequence[str] = (), system: bool = False, limit: int = 200) -> list[Event]:
    """The newest events first: by agents (also the system's with `system`), filtered."""
    where, params = ["1 = 1" if system or agent_id is not None else "e.agent_id IS NOT NULL"], []
    if agent_id is not None:
        where.append("(e.agent_id = ? OR e.via_agent_id = ?)")
        params += [agent_id, agent_id]
    if since is not None:
        where.append("e.created_at >= ?")
        params.append(since)
    if kinds:
        where.append(f"e.kind IN ({','.join('?' * len(kinds))})")
        params += list(kinds)
    rows = await db.fetchall(
        "SELECT e.*, a.name AS agent_name, v.name AS via_name FROM events e"
        " LEFT JOIN agents a ON a.id = e.agent_id LEFT JOIN agents v ON v.id = e.via_agent_id"
        f" WHERE {' AND '.join(where)} ORDER BY e.created_at DESC, e.id DESC LIMIT ?", (*params, limit))
    return [_row_to_event(r) for r in rows]
