"""Every text leaving the email adapter is Unicode that UTF-8 can encode.

Python's decoders can hand back lone surrogates (U+D800-U+DFFF): `utf-7` decodes
`+2D0-` to one, and header values read with `surrogateescape` keep each undecodable
byte as one (a display name `=?utf-8?q?N=9B?=` becomes `'N\\udc9b'`). SQLite's UTF-8
encoder, JSON consumers and terminals refuse them, so `repair` replaces each with
U+FFFD on the way out of `mime.parse`, and records the defect.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from adapters.base import Address, Attachment, Inbound
from adapters.base import valid_text as clean

DEFECT = "LoneSurrogate"


def repair(record: Inbound) -> Inbound:
    """`record` with every text field clean, and a defect when something was replaced.

    Works in place (keeping `content_hash`, which was computed from what arrived) and
    returns the record.
    """
    if clean(joined := "\0".join(_texts(record))) is joined:  # nearly all mail: one check of all its text
        return record
    record.external_id = clean(record.external_id)
    record.sender = _address(record.sender)
    record.text = clean(record.text)
    record.subject = clean(record.subject)
    if record.display_text is not None:
        record.display_text = clean(record.display_text)
    if record.html is not None:
        record.html = clean(record.html)
    record.recipients = tuple(map(_address, record.recipients))
    record.cc = tuple(map(_address, record.cc))
    record.thread_refs = tuple(map(clean, record.thread_refs))
    record.attachments = tuple(map(_attachment, record.attachments))
    record.defects = (*map(clean, record.defects), DEFECT)
    if record.language is not None:
        record.language = clean(record.language)
    record.meta = _value(record.meta)
    return record


def _texts(record: Inbound) -> list[str]:
    """Every text of `record` (a list, not a generator: this runs for every message)."""
    texts = [record.external_id, record.sender.address, record.sender.display_name, record.text,
             record.subject, record.display_text or "", record.html or "", record.language or "",
             *record.thread_refs, *record.defects]
    for a in (*record.recipients, *record.cc):
        texts += (a.address, a.display_name)
    for f in record.attachments:
        texts += (f.filename, f.content_type, f.content_id or "")
    if record.meta:
        _meta_texts(record.meta, texts)
    return texts


def _meta_texts(value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, dict):
        for k, v in value.items():
            _meta_texts(k, out)
            _meta_texts(v, out)
    elif isinstance(value, list | tuple):
        for v in value:
            _meta_texts(v, out)


def _address(a: Address) -> Address:
    return replace(a, address=clean(a.address), display_name=clean(a.display_name))


def _attachment(a: Attachment) -> Attachment:
    return replace(a, filename=clean(a.filename), content_type=clean(a.content_type),
                   content_id=None if a.content_id is None else clean(a.content_id))


def _value(value: Any) -> Any:
    """Strings inside meta (dicts, lists, tuples) cleaned; meta is small, so it is rebuilt."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        return {_value(k): _value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(map(_value, value))
    return value
