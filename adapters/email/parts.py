"""The MIME tree of a parsed message -> text, HTML and attachments (used by mime.py).

Plain text is preferred over HTML inside multipart/alternative (the HTML is
kept too); other inline text parts are joined; everything else, enclosed
messages and DSN fields included, becomes an attachment with its decoded bytes
and its RFC 2231 / RFC 2047 file name. Report parts (delivery-status,
feedback-report, disposition-notification) are noted for the flags.
"""

from __future__ import annotations

import email.utils
import re
from email.message import Message
from email.policy import compat32

from adapters.base import Attachment
from adapters.email import bodytext, charsets, headers

#: Nested multiparts deeper than this are not walked (the parser itself copes).
MAX_DEPTH = 40


class Body:
    """What a walk over the MIME tree found."""

    __slots__ = ("attachments", "charset_hint", "defects", "html", "plain", "report_types")

    def __init__(self) -> None:
        self.plain: list[str] = []
        self.html: list[str] = []
        self.attachments: list[Attachment] = []
        self.defects: list[str] = []
        self.report_types: set[str] = set()
        self.charset_hint: str | None = None


def _content_type(part: Message) -> tuple[str, dict[str, str]]:
    """(type/subtype, simple params) read once per part; the stdlib's reader for hard cases.

    Message.get_param re-parses the header on every call, which was a tenth of
    the parse time; most Content-Type values are `type/sub; key=value; ...`.
    """
    value = part.get("content-type")
    if value is None:
        return part.get_default_type(), {}
    value = headers.unfold(str(value))
    if "*" in value or "\\" in value or ('"' in value and ";" in "".join(value.split('"')[1::2])):
        params: dict[str, str] = {}
        try:
            for key, val in part.get_params(header="content-type")[1:]:
                params[key.lower()] = email.utils.collapse_rfc2231_value(val)
        except Exception:
            pass
        return part.get_content_type(), params
    head, *rest = value.split(";")
    ctype = head.strip().lower()
    if ctype.count("/") != 1:
        ctype = "text/plain"  # as the stdlib: an invalid type means text/plain
    params = {}
    for item in rest:
        key, sep, val = item.partition("=")
        if sep:
            val = val.strip()
            if len(val) >= 2 and val[0] == val[-1] == '"':
                val = val[1:-1]
            params[key.strip().lower()] = val
    return ctype, params


def collect(part: Message, body: Body, depth: int) -> None:
    ctype, params = _content_type(part)
    maintype, _, subtype = ctype.partition("/")
    if depth > MAX_DEPTH:
        body.defects.append("TooDeeplyNested")
        return
    # is_multipart(), not get_payload(): that reads the transfer encoding and scans the whole
    # payload for surrogates on every call, to answer the same question.
    if maintype == "message" or (maintype != "multipart" and part.is_multipart()):
        if subtype in ("delivery-status", "global-delivery-status", "feedback-report",
                       "disposition-notification"):
            body.report_types.add(subtype.removeprefix("global-"))
        _attach_message(part, body, subtype)
        return
    if part.is_multipart():
        children = part.get_payload()
        if subtype == "report":
            report_type = params.get("report-type", "").lower()
            if report_type:
                body.report_types.add(report_type)
        if subtype == "alternative":
            _alternative(children, body, depth)
            return
        for child in children:
            collect(child, body, depth + 1)
        return
    _leaf(part, body, maintype, subtype, params)


def _alternative(children: list[Message], body: Body, depth: int) -> None:
    """Keep the plain-text alternative for text and the richest HTML one for html."""
    found = []
    for child in children:
        sub = Body()
        collect(child, sub, depth + 1)
        found.append(sub)
        body.defects.extend(sub.defects)
        body.report_types |= sub.report_types
        body.attachments.extend(sub.attachments)
        if body.charset_hint is None:
            body.charset_hint = sub.charset_hint
    with_plain = [sub for sub in found if sub.plain]
    with_html = [sub for sub in found if sub.html]
    if with_plain:
        body.plain.extend(with_plain[0].plain)
    if with_html:
        body.html.extend(with_html[-1].html)


def _leaf(part: Message, body: Body, maintype: str, subtype: str, params: dict[str, str]) -> None:
    has_disposition = part.get("content-disposition") is not None
    disposition = _disposition(part) if has_disposition else None
    filename = _filename(part, body) if has_disposition or "name" in params else None
    if maintype == "text" and subtype in ("plain", "html") and disposition != "attachment" and not filename:
        text = _decode_text_part(part, body, params.get("charset"))
        if subtype == "plain":
            if params.get("format", "").lower() == "flowed":
                text = bodytext.unflow(
                    bodytext.normalise_newlines(text), params.get("delsp", "").lower() == "yes"
                )
            body.plain.append(text)
        else:
            body.html.append(text)
        return
    data = _payload_bytes(part, body)
    content_id = part.get("Content-ID")
    if content_id is not None:
        content_id = headers.unfold(str(content_id)).strip().strip("<>") or None
    inline = disposition == "inline" or (
        disposition is None and content_id is not None and maintype == "image"
    )
    body.attachments.append(
        Attachment(
            filename=filename or _default_name(maintype, subtype, len(body.attachments)),
            content_type=f"{maintype}/{subtype}",
            data=data,
            content_id=content_id,
            inline=inline,
        )
    )


def _disposition(part: Message) -> str | None:
    try:
        return part.get_content_disposition()
    except Exception:
        return None


def _filename(part: Message, body: Body) -> str | None:
    """RFC 2231 (`filename*=utf-8''...`) and RFC 2047 (`=?utf-8?...?=`) names, decoded."""
    try:
        name = part.get_filename()
    except Exception:
        body.defects.append("BadFilename")
        return None
    if name is None:
        return None
    if "=?" in name or not name.isascii():
        name = headers.decode_text(name, body.charset_hint)
    name = name.replace("/", "_").replace("\\", "_").replace("\x00", "").strip()
    return name or None


def _default_name(maintype: str, subtype: str, index: int) -> str:
    extension = {"rfc822": "eml", "delivery-status": "txt", "rfc822-headers": "txt", "plain": "txt",
                 "html": "html", "calendar": "ics"}.get(
        subtype, subtype if maintype == "image" else "txt" if maintype == "text" else "bin"
    )
    return f"part-{index + 1}.{extension}"


def _payload_bytes(part: Message, body: Body) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        body.defects.append("UndecodablePayload")
        payload = part.get_payload()
        data = payload.encode("ascii", "surrogateescape") if isinstance(payload, str) else b""
    return data if isinstance(data, bytes) else b""


def _decode_text_part(part: Message, body: Body, charset: str | None) -> str:
    data = _payload_bytes(part, body)
    if charset and body.charset_hint is None:
        body.charset_hint = charset
    text, defect = charsets.decode(data, charset)
    if defect:
        body.defects.append(defect)
    return text.replace("\x00", "")


def _attach_message(part: Message, body: Body, subtype: str) -> None:
    """An enclosed message (or DSN fields) becomes an attachment with its bytes."""
    payload = part.get_payload()
    chunks = []
    try:
        items = payload if isinstance(payload, list) else [payload]
        for item in items:
            if isinstance(item, Message):
                chunks.append(item.as_bytes(policy=compat32))
            elif isinstance(item, str):
                chunks.append(item.encode("ascii", "surrogateescape"))
            elif isinstance(item, bytes):
                chunks.append(item)
    except Exception:
        body.defects.append("UnserialisableEnclosedMessage")
        try:
            chunks = [part.as_string().encode("utf-8", "surrogateescape")]
        except Exception:
            chunks = []
    data = b"\n".join(chunks)
    filename = _filename(part, body)
    if filename is None and subtype == "rfc822" and isinstance(payload, list) and payload:
        inner = payload[0]
        if isinstance(inner, Message):
            raw_subject = next((v for k, v in inner.raw_items() if k.lower() == "subject"), None)
            subject = headers.decode_text(raw_subject)
            if subject:
                filename = re.sub(r"[\\/\x00-\x1f]", "_", subject)[:100] + ".eml"
    body.attachments.append(
        Attachment(
            filename=filename or _default_name("message", subtype, len(body.attachments)),
            content_type=f"message/{subtype}",
            data=data,
            inline=False,
        )
    )
