"""SQL of a batch's updates: edits, deletions and delivery changes of stored messages.

Applied in the batch's transaction (omnidesk/store/ingest.py `write_batch`), after its
records, so an update about a message of the same batch finds it. Each is idempotent:

- an edit replaces the text (re-indexed) when it is newer than the text shown, and keeps
  the text it replaces in `message_edits`; the same or an older edit changes nothing;
- a deletion marks the message deleted once; its text stays for the audit;
- a delivery change moves `delivery` forward only (queued, sending, sent, delivered, read;
  undelivered and failed end it), so a late report of an earlier state changes nothing.

An update names its message by reference on its own channel and scope. One about a message
the desk does not hold is kept in `pending_updates` and applied when a message with that
reference is stored (ingest) or sent (the receipt's ids, store/outbox.py).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass

from omnidesk.store.events import write_event
from omnidesk.textindex import prepare

#: Delivery states in the order they may follow each other; a lower one never replaces a higher one.
_RANK = {"queued": 0, "sending": 1, "sent": 2, "delivered": 3, "read": 4, "undelivered": 5, "failed": 5}


@dataclass(frozen=True, slots=True)
class PreparedUpdate:
    """One of adapters/base.py's `Update`s with times in epoch ms (omnidesk/inbound/ingest.py)."""

    kind: str  # edit | deletion | delivery
    scope: str
    ref: str
    at: int
    text: str = ""
    html: str | None = None
    state: str = ""
    code: str = ""
    detail: str = ""


@dataclass(slots=True)
class UpdateOutcome:
    applied: int = 0
    unchanged: int = 0  # already applied, or older than what the message shows
    pending: int = 0  # about a message the desk does not hold (yet)


_COLUMNS = ("id, conversation_id, direction, subject, text, html, author_name, author_address, sent_at,"
            " edited_at, deleted_at, delivery")


def apply(c: sqlite3.Connection, channel_id: int, updates: list[PreparedUpdate], now: int) -> UpdateOutcome:
    """Apply `updates` of one channel in order; those about unknown messages are kept pending."""
    out = UpdateOutcome()
    for u in updates:
        row = c.execute(
            f"SELECT {_COLUMNS} FROM messages WHERE id = (SELECT message_id FROM message_refs"
            f" WHERE scope = ? AND ref = ? AND channel_id = ?)", (u.scope, u.ref, channel_id)).fetchone()
        if row is None:
            cur = c.execute(
                "INSERT OR IGNORE INTO pending_updates (channel_id, scope, ref, kind, payload, received_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (channel_id, u.scope, u.ref, u.kind, json.dumps(asdict(u), ensure_ascii=False), now))
            out.pending += cur.rowcount
            out.unchanged += 1 - cur.rowcount
        elif _APPLY[u.kind](c, row, u):
            out.applied += 1
        else:
            out.unchanged += 1
    return out


def has_pending(c: sqlite3.Connection, channel_id: int) -> bool:
    """Whether any update of the channel waits for its message (one indexed probe per batch)."""
    found = c.execute("SELECT 1 FROM pending_updates WHERE channel_id = ? LIMIT 1", (channel_id,)).fetchone()
    return found is not None


def apply_pending(c: sqlite3.Connection, channel_id: int, scope: str, refs: tuple[str, ...], now: int) -> int:
    """Apply (and drop) the updates that waited for a message with one of `refs`; how many changed it."""
    marks = ",".join("?" * len(refs))
    rows = c.execute(
        f"DELETE FROM pending_updates WHERE channel_id = ? AND scope = ? AND ref IN ({marks})"
        f" RETURNING payload",
        (channel_id, scope, *refs)).fetchall()
    if not rows:
        return 0
    waiting = sorted((PreparedUpdate(**json.loads(r[0])) for r in rows), key=lambda u: u.at)
    return apply(c, channel_id, waiting, now).applied


def _edit(c: sqlite3.Connection, row: sqlite3.Row, u: PreparedUpdate) -> bool:
    message_id, conversation_id, _, subject, text, html, name, address, sent_at, edited_at = row[:10]
    if (edited_at is not None and u.at <= edited_at) or (u.text == text and u.html == html):
        return False
    c.execute("INSERT INTO message_edits (message_id, text, html, shown_from, replaced_at)"
              " VALUES (?, ?, ?, ?, ?)",
              (message_id, text, html, edited_at if edited_at is not None else sent_at, u.at))
    sender = f"{name} {address}".strip()
    # The index is contentless: the old row goes out with exactly the values it went in with.
    c.execute("INSERT INTO message_fts (message_fts, rowid, subject, body, sender)"
              " VALUES ('delete', ?, ?, ?, ?)",
              (message_id, prepare(subject), prepare(text), prepare(sender)))
    c.execute("INSERT INTO message_fts (rowid, subject, body, sender) VALUES (?, ?, ?, ?)",
              (message_id, prepare(subject), prepare(u.text), prepare(sender)))
    # display_text '' reads as the text: the folded copy of the old text no longer applies.
    c.execute("UPDATE messages SET text = ?, html = ?, display_text = '', edited_at = ? WHERE id = ?",
              (u.text, u.html, u.at, message_id))
    write_event(c, conversation_id, None, "message_edited", {"text": text},
                 {"text": u.text, "message_id": message_id, "edited_at": u.at}, u.at)
    return True


def _deletion(c: sqlite3.Connection, row: sqlite3.Row, u: PreparedUpdate) -> bool:
    message_id, conversation_id, deleted_at = row[0], row[1], row[10]
    if deleted_at is not None:
        return False
    c.execute("UPDATE messages SET deleted_at = ? WHERE id = ?", (u.at, message_id))
    write_event(c, conversation_id, None, "message_deleted", None, {"message_id": message_id}, u.at)
    return True


def _delivery(c: sqlite3.Connection, row: sqlite3.Row, u: PreparedUpdate) -> bool:
    message_id, conversation_id, direction, current = row[0], row[1], row[2], row[11]
    new = _RANK.get(u.state)
    if direction != "out" or new is None or current == "cancelled" or new <= _RANK.get(current or "", -1):
        return False
    ended = u.state in ("undelivered", "failed")
    error = (" ".join(p for p in (u.code, u.detail) if p) or "the channel gave no reason") if ended else None
    c.execute("UPDATE messages SET delivery = ?, delivery_error = ? WHERE id = ?",
              (u.state, error, message_id))
    if ended:  # `omnidesk outbox` lists it with the other failures, and retry sends it again
        c.execute("UPDATE outbox SET state = 'failed', last_error = ?, updated_at = ?"
                  " WHERE message_id = ? AND state = 'sent'", (error, u.at, message_id))
    write_event(c, conversation_id, None, "delivery_changed", {"delivery": current},
                 {"delivery": u.state, "code": u.code, "detail": u.detail, "message_id": message_id}, u.at)
    return True


_APPLY = {"edit": _edit, "deletion": _deletion, "delivery": _delivery}
