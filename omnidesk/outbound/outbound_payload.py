"""Outbound <-> JSON, for the outbox table's `payload` column.

Attachments are stored as blob references (sha256 in the blob store), never
inline bytes, so the payload stays small; the dispatcher loads them to send.
"""

from __future__ import annotations

import json
from typing import Any

from adapters.base import Address, Outbound


def _address(a: Address) -> dict[str, str]:
    return {"kind": a.kind, "address": a.address, "display_name": a.display_name}


def dump(outbound: Outbound, attachment_refs: list[dict[str, Any]] | None = None) -> str:
    """JSON for the outbox. `attachment_refs`: [{"sha256", "filename", "content_type"}]."""
    return json.dumps({
        "message_ref": outbound.message_ref,
        "to": [_address(a) for a in outbound.to],
        "cc": [_address(a) for a in outbound.cc],
        "bcc": [_address(a) for a in outbound.bcc],
        "from": _address(outbound.from_address) if outbound.from_address else None,
        "subject": outbound.subject,
        "text": outbound.text,
        "html": outbound.html,
        "in_reply_to": outbound.in_reply_to,
        "references": list(outbound.references),
        "attachments": attachment_refs or [],
        "meta": dict(outbound.meta),
        "scope": outbound.scope,
        "context": dict(outbound.context),
        "template": outbound.template,
        "template_variables": dict(outbound.template_variables),
        "automatic": outbound.automatic,
    }, ensure_ascii=False, separators=(",", ":"))


def load(payload: str) -> tuple[Outbound, list[dict[str, Any]]]:
    """The Outbound (without attachment bytes) and its attachment references."""
    data = json.loads(payload)
    outbound = Outbound(
        message_ref=data["message_ref"],
        to=tuple(Address(**a) for a in data["to"]),
        cc=tuple(Address(**a) for a in data.get("cc", [])),
        bcc=tuple(Address(**a) for a in data.get("bcc", [])),
        from_address=Address(**data["from"]) if data.get("from") else None,
        subject=data.get("subject", ""),
        text=data["text"],
        html=data.get("html"),
        in_reply_to=data.get("in_reply_to"),
        references=tuple(data.get("references", [])),
        meta=data.get("meta", {}),
        scope=data.get("scope", ""),  # payloads written before replies carried them lack both
        context=data.get("context", {}),
        template=data.get("template", ""),
        template_variables=data.get("template_variables", {}),
        automatic=bool(data.get("automatic", False)),
    )
    return outbound, list(data.get("attachments", []))
