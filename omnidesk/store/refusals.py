"""Records the store refuses: kept raw and quarantined, so one message never stops a batch.

A record can fail its inserts for reasons of its own (a value SQLite cannot encode, a
constraint, an integer out of range). Those are told apart from failures of the
database itself (locked, full, I/O, corrupt), which must stop the batch and be retried
with it. A refused record is written again as a quarantined copy whose texts are valid
Unicode and whose first defect names the error.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from adapters.base import valid_text

if TYPE_CHECKING:
    from omnidesk.store.ingest import PreparedAttachment, PreparedRecord

#: Defect prefix of a record the store refused.
PREFIX = "StoreRefused:"
_MAX_REASON = 300


class RecordRefused(Exception):
    """The record at `index` of a batch was refused; the batch is rolled back and retried."""

    def __init__(self, index: int, error: BaseException) -> None:
        super().__init__(f"record {index}: {reason(error)}")
        self.index = index
        self.error = error


def is_refusal(exc: BaseException) -> bool:
    """Did the record cause `exc`, rather than the database (locked, full, I/O, corrupt)?"""
    if isinstance(exc, sqlite3.OperationalError) or type(exc) is sqlite3.DatabaseError:
        return False
    return isinstance(exc, Exception) and not isinstance(exc, MemoryError)


def reason(exc: BaseException) -> str:
    """One line naming the error, as stored in the defect."""
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return valid_text(text)[:_MAX_REASON]


def quarantined_copy(rec: PreparedRecord, exc: BaseException) -> PreparedRecord:
    """`rec` as a quarantined record: every text made valid, no threading, the error first in its defects.

    The raw bytes, content hash and attachments stay, so an agent sees what arrived and a
    re-delivery is still recognised as a duplicate.
    """
    defects = [PREFIX + reason(exc), *_texts(_json_list(rec.defects_json))]
    return replace(
        rec,
        external_id=valid_text(rec.external_id),
        scope=valid_text(rec.scope),
        also_ids=tuple(map(valid_text, rec.also_ids)),
        sender_address=None,
        sender_raw=valid_text(rec.sender_raw),
        sender_name=valid_text(rec.sender_name),
        subject=valid_text(rec.subject),
        conversation_subject=valid_text(rec.conversation_subject),
        text=valid_text(rec.text),
        display_text=valid_text(rec.display_text),
        html=None if rec.html is None else valid_text(rec.html),
        language=None,
        recipients=[],
        recipients_json="[]",
        thread_refs=(),
        thread_refs_json="[]",
        flags=tuple(sorted({*rec.flags, "quarantined"})),
        flags_json=_json(sorted({*map(valid_text, rec.flags), "quarantined"})),
        defects_json=_json(defects),
        meta_json=valid_text(rec.meta_json),
        token=None,
        chat_like=False,
        quarantined=True,
        own_echo=False,
        fts=(valid_text(rec.fts[0]), valid_text(rec.fts[1]), valid_text(rec.fts[2])),
        attachments=[_attachment(a) for a in rec.attachments],
    )


def first_defect(rec: PreparedRecord) -> str:
    """Why a quarantined record was quarantined: its first defect."""
    defects = _json_list(rec.defects_json)
    return str(defects[0]) if defects else "quarantined"


def _attachment(a: PreparedAttachment) -> PreparedAttachment:
    return replace(a, filename=valid_text(a.filename), content_type=valid_text(a.content_type),
                   content_id=None if a.content_id is None else valid_text(a.content_id))


def _texts(values: list[Any]) -> list[str]:
    return [valid_text(str(v)) for v in values]


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _json_list(text: str) -> list[Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return []
    return value if isinstance(value, list) else []
