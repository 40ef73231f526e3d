"""`customer export`'s archive: `export.json` (schema in docs/privacy.md) plus the original files.

A zip (stdlib `zipfile`): `raw/<message id>` holds a message's bytes as received, and
`attachments/<message id>/<attachment id>-<name>` each attachment's. The file is written
under a temporary name beside FILE, readable by its owner only, and moved into place only
when complete; an existing FILE is never replaced.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from omnidesk.errors import UserError

#: `schema` and `version` of export.json; a change that removes or renames a field bumps it.
SCHEMA = "omnidesk-customer-export"
VERSION = 1


def document(data: Any, *, desk_name: str, exported_by: str | None, exported_at: str) -> dict[str, Any]:
    """export.json without `files`: the same records `customer show --json` and `show --json` print."""
    from omnidesk.cli import records

    return {
        "schema": SCHEMA,
        "version": VERSION,
        "desk": desk_name,
        "exported_at": exported_at,
        "exported_by": exported_by,
        "customer": records.customer(data.customer)
        | {"conversations": [records.conversation_summary(s) for s in data.summaries]},
        "merged_customers": [records.customer(c) for c in data.merged],
        "customer_events": [records.event(e) for e in data.events],
        "conversations": [records.conversation(c) for c in data.conversations],
        "ratings": [_rating(s) for s in data.surveys],
    }


def _rating(s: Any) -> dict[str, Any]:
    """One CSAT/NPS survey: asked (or skipped, and why), the rating and comment if answered."""
    from omnidesk.timeutil import iso

    return {"id": s.id, "conversation_id": s.conversation_id, "kind": s.kind, "channel": s.channel,
            "asked_at": iso(s.asked_at), "skipped": s.skipped, "expires_at": iso(s.expires_at),
            "rating": s.rating, "answered_at": iso(s.answered_at), "comment": s.comment}


def _entries(data: Any) -> list[tuple[str, str, dict[str, Any]]]:
    """(archive path, sha256, what it is) of every original file the customer's data refers to."""
    from omnidesk.conversations.attachment_files import fit_name, safe_name

    out = [(f"raw/{mid}", sha, {"kind": "raw", "message_id": mid}) for mid, sha in sorted(data.raw.items())]
    for conv in data.conversations:
        for m in conv.messages:
            for a in m.attachments:
                name = fit_name(f"{a.id}-{safe_name(a)}", 200)
                out.append((f"attachments/{m.id}/{name}", a.sha256,
                            {"kind": "attachment", "message_id": m.id, "attachment_id": a.id}))
    return out


async def write(path: Path, doc: dict[str, Any], data: Any,
                read: Callable[[str], Awaitable[bytes | None]]) -> dict[str, int]:
    """Write the archive to `path`; returns counts for the audit log."""
    from omnidesk.cli.output import render_json

    if path.exists() or path.is_symlink():
        raise UserError(f"{path}: exists already; give a new file name")
    if not path.parent.is_dir():
        raise UserError(f"{path.parent}: no such directory")
    files, missing = [], []
    temp = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, sha, what in _entries(data):
                content = await read(sha) if sha else None
                if content is None:
                    missing.append(what | {"reason": "not held (never fetched from its channel, or removed)"})
                    continue
                archive.writestr(name, content)
                files.append(what | {"path": name, "sha256": sha, "size": len(content)})
            archive.writestr("export.json", render_json(doc | {"files": files, "missing": missing}))
        os.link(temp, path)  # fails rather than replace a file made meanwhile
    except FileExistsError:
        raise UserError(f"{path}: exists already; give a new file name") from None
    except OSError as exc:
        raise UserError(f"{exc.filename or path}: cannot write the export: {exc.strerror}") from None
    finally:
        temp.unlink(missing_ok=True)
    return {"conversations": len(data.conversations),
            "messages": sum(len(c.messages) for c in data.conversations), "files": len(files)}
