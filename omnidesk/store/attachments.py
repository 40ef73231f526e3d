"""SQL for attachments on their own: a message's files by message id, and a lazy file's blob once fetched."""

from __future__ import annotations

from typing import TYPE_CHECKING

from omnidesk.model import AttachmentInfo
from omnidesk.store.reads import row_to_attachment

if TYPE_CHECKING:
    from omnidesk.store.db import Database


async def of_message(db: Database, message_id: int) -> tuple[str | None, list[AttachmentInfo]] | None:
    """(the message's channel name, its attachments in order), or None when there is no such message."""
    row = await db.fetchone("SELECT ch.name FROM messages m LEFT JOIN channels ch ON ch.id = m.channel_id"
                            " WHERE m.id = ?", (message_id,))
    if row is None:
        return None
    rows = await db.fetchall("SELECT * FROM attachments WHERE message_id = ? ORDER BY id", (message_id,))
    return row[0], [row_to_attachment(r) for r in rows]


async def set_blob(db: Database, attachment_id: int, sha256: str, size: int) -> None:
    """A lazy attachment's bytes are in the blob store now; its reference stays for the audit."""
    async with db.write() as conn:
        await conn.execute("UPDATE attachments SET sha256 = ?, size = ? WHERE id = ?",
                           (sha256, size, attachment_id))
