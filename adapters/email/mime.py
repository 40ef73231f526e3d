"""Raw RFC 5322 bytes -> `Inbound`: the one place email is parsed.

`parse` never raises. It reads the message with the fast `compat32` policy
(well-formed mail through adapters/email/fastparse.py, which builds the same
tree several times faster) and decodes the headers people see (Subject, names) the way
`email.policy.default` does (see adapters/email/headers.py); the MIME tree is
walked in adapters/email/parts.py, with charset repair (charsets.py); HTML-only
mail is converted to text, and quotes and signatures are folded into
`display_text` (bodytext.py). Defects are recorded, never fatal; input that is
not a message at all comes back quarantined with its raw bytes.
"""

from __future__ import annotations

import email.utils
import hashlib
import re
from datetime import UTC, datetime
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32

from adapters.base import (
    FLAG_AUTO_REPLY,
    FLAG_BOUNCE,
    FLAG_LIST,
    FLAG_QUARANTINED,
    Address,
    Inbound,
)
from adapters.email import bodytext, dsn, fastparse, headers, wellformed
from adapters.email.parts import Body, collect

_PARSER = BytesParser(policy=compat32)

#: Text of a quarantined message shown to agents, at most.
MAX_QUARANTINE_TEXT = 1_000_000

SYNTHETIC_DOMAIN = "omnidesk.invalid"

_BOM = b"\xef\xbb\xbf"
_HEADER_LINE = re.compile(rb"^[!-9;-~]+[ \t]*:")
_BLANK_LINE = re.compile(rb"\r\n\r\n|\n\n|\r\r")
_BOUNCE_SENDER = re.compile(
    r"^(mailer[-_.]?daemon|post[-_.]?master|mail[-_.]?daemon|mdaemon|mail[-_.]delivery[-_.]"
    r"(system|subsystem)|<>)(@|$)",
    re.IGNORECASE,
)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|delivery (status|failure|has failed|notification)|mail delivery failed|failure notice"
    r"|returned mail|non remis|unzustellbar|nicht zustellbar|message not delivered|delivery problem",
    re.IGNORECASE,
)
#: Subject prefixes of vacation responders in the seeds' languages (and the common others).
_AUTO_SUBJECT = re.compile(
    r"^\s*(auto(matic)?[ _-]?(reply|response|antwort)|auto:|out of (the )?office|abwesenheit"
    r"|automatische antwort|réponse automatique|respuesta automática|risposta automatica"
    r"|resposta automática|automatisch antwoord|autosvar|automatikus válasz|házon kívül"
    r"|automaattinen vastaus|自動返信|自动回复|自動回覆|پاسخ خودکار|автоответ"
    r"|автоматический ответ)",
    re.IGNORECASE,
)


def parse(raw: bytes, *, fallback_date: datetime | None = None) -> Inbound:
    """Parse one message. Never raises: the worst case is a quarantined record.

    `fallback_date` (a file's mtime, an mbox `From ` line) dates messages
    without a usable Date or Received header. Every text of the result is
    valid Unicode (adapters/email/wellformed.py).
    """
    try:
        record = _parse(raw, fallback_date)
    except Exception as exc:  # RecursionError, MemoryError-free bugs: keep the bytes, flag it
        record = quarantined(raw, f"ParseError:{type(exc).__name__}", fallback_date)
    return wellformed.repair(record)


def message_id_of(raw: bytes) -> str | None:
    """The external id `parse` gives `raw`, read from the header block alone (cheap).

    None when only a full parse can tell: no Message-ID (the id is then
    synthesised from the content), leading junk, or header lines the parser
    would repair. Lets a re-run import skip mail it already holds unparsed.
    """
    data, _ = _strip_leading_junk(raw)
    if not data.strip():
        return None
    items = fastparse.header_items(data)
    if not items:
        return None
    for name, value in items:
        if name.strip().lower() == "message-id":
            return next(iter(headers.message_ids(value)), None)
    return None


def quarantined(raw: bytes, defect: str, fallback_date: datetime | None = None) -> Inbound:
    """A record for input that is not a usable message: raw kept, text best effort."""
    text = raw[:MAX_QUARANTINE_TEXT].decode("utf-8", "replace").replace("\x00", "\ufffd")
    return Inbound(
        external_id=f"<{hashlib.sha256(raw).hexdigest()[:40]}@quarantine.{SYNTHETIC_DOMAIN}>",
        sender=Address("email", "", ""),
        sent_at=fallback_date or datetime.now(UTC),
        text=bodytext.normalise_newlines(text),
        raw=raw,
        defects=(defect,),
        flags=frozenset({FLAG_QUARANTINED}),
        meta={"synthetic_id": True},
    )


# -- the message ------------------------------------------------------------------


def _parse(raw: bytes, fallback_date: datetime | None) -> Inbound:
    if not raw.strip():
        return quarantined(raw, "EmptyMessage", fallback_date)
    data, junk = _strip_leading_junk(raw)
    defects: list[str] = ["LeadingJunk"] if junk else []
    # Well-formed mail takes the fast path (the same tree); the stdlib decides the rest.
    msg = fastparse.parse(data) or _PARSER.parsebytes(data)
    if _has_defect(msg, "MissingHeaderBodySeparatorDefect"):
        repaired = _drop_bad_header_lines(data)
        if repaired is not None:
            msg = _PARSER.parsebytes(repaired)
            defects.append("InvalidHeaderLine")
    items = msg.raw_items()
    hmap: dict[str, list[str]] = {}
    for name, value in items:
        hmap.setdefault(name.strip().lower(), []).append(value)
    if not hmap:
        return quarantined(raw, "NotAMessage", fallback_date)

    body = Body()
    collect(msg, body, 0)
    hint = body.charset_hint
    for part in msg.walk():
        for defect in part.defects:
            defects.append(type(defect).__name__)
    defects.extend(body.defects)

    def first(name: str) -> str | None:
        values = hmap.get(name)
        return values[0] if values else None

    subject = headers.decode_text(first("subject"), hint)
    sender, sender_defect = _sender(hmap, hint)
    if sender_defect:
        defects.append(sender_defect)
    sent_at, date_defect = _date(hmap, fallback_date)
    if date_defect:
        defects.append(date_defect)

    meta: dict[str, object] = {}
    message_id = next(iter(headers.message_ids(first("message-id"))), None)
    if message_id is None:
        message_id = _synthetic_id(hmap, data)
        meta["synthetic_id"] = True
        defects.append("MissingMessageId")

    text = bodytext.normalise_newlines("\n\n".join(body.plain)) if body.plain else ""
    html = body.html[0] if body.html else None
    if not body.plain and html is not None:
        text = bodytext.html_to_text(html)
        meta["text_from_html"] = True
    display = bodytext.fold(text)

    flags = _flags(hmap, body, sender.address, sender.display_name, subject)
    language = (first("content-language") or "").split(",")[0].strip() or None
    for key in ("list-id", "auto-submitted", "precedence", "delivered-to", "x-original-to"):
        value = first(key)
        if value:
            meta[key] = headers.decode_text(value, hint)[:500]
    if not sender.address:
        flags.add(FLAG_QUARANTINED)
        defects.insert(0, "MissingSender")  # a quarantined record's first defect says why
    thread_refs = _thread_refs(hmap, message_id)
    report = None
    if FLAG_BOUNCE in flags and body.report_types != {"feedback-report"}:  # abuse reports are not DSNs
        report = dsn.report(msg, text, first("x-failed-recipients") or "")
        if report.message_ref and report.message_ref not in thread_refs and report.message_ref != message_id:
            # The bounced message is what this one is about: threading joins it there.
            thread_refs = (*thread_refs, report.message_ref)[-50:]

    return Inbound(
        external_id=message_id,
        sender=sender,
        sent_at=sent_at,
        text=text,
        subject=subject,
        display_text=display,
        html=html,
        recipients=_addresses(hmap.get("to"), hint),
        cc=_addresses(hmap.get("cc"), hint),
        thread_refs=thread_refs,
        attachments=tuple(body.attachments),
        raw=raw,
        defects=tuple(dict.fromkeys(defects)),
        flags=frozenset(flags),
        language=language[:35] if language else None,
        meta=meta,
        report=report,
    )


def _strip_leading_junk(raw: bytes) -> tuple[bytes, bool]:
    """Skip a UTF-8 BOM, blank or all-space lines, and an mbox `From ` line before the headers.

    Returns the message bytes and whether there was junk (an mbox line is not junk).
    """
    start = 3 if raw.startswith(_BOM) else 0
    while True:
        end = raw.find(b"\n", start)
        line = raw[start:] if end < 0 else raw[start : end + 1]
        if line and not line.strip() and end >= 0:
            start = end + 1
            continue
        break
    junk = start > 0
    if raw.startswith(b"From ", start):
        end = raw.find(b"\n", start)
        if end >= 0:
            start = end + 1
    return (raw[start:] if start else raw), junk


def _has_defect(msg: Message, name: str) -> bool:
    return any(type(d).__name__ == name for d in msg.defects)


def _drop_bad_header_lines(data: bytes) -> bytes | None:
    """Remove lines that are not header fields from inside a header block.

    The stdlib ends the header block at the first malformed line (e.g. a field
    name with spaces), turning the rest of the headers into body. Only lines
    after at least one good header are dropped, so a body without headers
    stays a body.
    """
    lines = data.splitlines(keepends=True)
    kept: list[bytes] = []
    seen_header = dropped = False
    for index, line in enumerate(lines):
        if not line.strip(b"\r\n"):
            kept.extend(lines[index:])
            break
        if _HEADER_LINE.match(line) or (seen_header and line[:1] in (b" ", b"\t") and kept):
            seen_header = True
            kept.append(line)
        elif seen_header:
            dropped = True
        else:
            return None
    return b"".join(kept) if dropped else None


def _sender(hmap: dict[str, list[str]], hint: str | None) -> tuple[Address, str | None]:
    for name in ("from", "sender", "reply-to", "return-path"):
        for value in hmap.get(name, ()):
            for display, addr in headers.parse_addresses(value, hint):
                if addr:
                    defect = None if name == "from" else f"SenderFrom:{name}"
                    return Address("email", addr, display), defect
    return Address("email", "", ""), "MissingSender"


def _addresses(values: list[str] | None, hint: str | None) -> tuple[Address, ...]:
    if not values:
        return ()
    out = []
    for value in values:
        for display, addr in headers.parse_addresses(value, hint):
            if addr:
                out.append(Address("email", addr, display))
    return tuple(out)


def _date(hmap: dict[str, list[str]], fallback: datetime | None) -> tuple[datetime, str | None]:
    for value in hmap.get("date", ()):
        parsed = _parse_date(value)
        if parsed is not None:
            return parsed, None
    # Received: "...; Tue, 1 Jan 2019 10:00:00 +0000" (the first is the last hop: our delivery).
    for value in hmap.get("received", ())[:1]:
        parsed = _parse_date(value.rpartition(";")[2])
        if parsed is not None:
            return parsed, "DateFromReceived"
    if fallback is not None:
        return fallback, "MissingDate"
    return datetime.now(UTC), "MissingDate"


def _parse_date(value: str) -> datetime | None:
    try:
        parsed = email.utils.parsedate_to_datetime(headers.unfold(value).strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:  # "-0000": the time is UTC, the zone unknown
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _thread_refs(hmap: dict[str, list[str]], own_id: str) -> tuple[str, ...]:
    """References (oldest first) then In-Reply-To (the direct parent) last; no duplicates."""
    refs: list[str] = []
    for value in hmap.get("references", ())[:1]:
        refs.extend(headers.message_ids(value))
    parents = headers.message_ids((hmap.get("in-reply-to") or [None])[0])
    parent = parents[0] if parents else None
    ordered = [r for r in dict.fromkeys(refs) if r != parent and r != own_id]
    if parent and parent != own_id:
        ordered.append(parent)
    return tuple(ordered[-50:])


def _synthetic_id(hmap: dict[str, list[str]], data: bytes) -> str:
    """A Message-ID for mail without one, stable across deliveries of the same message.

    Hashes the sender-controlled fields and the body, not Received/Delivered-To
    (which differ per copy), with line ends normalised (a CRLF copy and an LF
    copy of one message get one id).
    """
    h = hashlib.sha256()
    for name in ("from", "to", "cc", "date", "subject"):
        for value in hmap.get(name, ()):
            folded = " ".join(value.split()).encode("utf-8", "surrogateescape")
            h.update(name.encode() + b":" + folded + b"\n")
    match = _BLANK_LINE.search(data)
    body = data[match.end() :] if match else b""
    h.update(b"\n" + b"\n".join(line.rstrip() for line in body.replace(b"\r", b"\n").split(b"\n")).strip())
    return f"<{h.hexdigest()[:40]}@{SYNTHETIC_DOMAIN}>"


def _flags(hmap: dict[str, list[str]], body: Body, sender: str, sender_name: str, subject: str) -> set[str]:
    """auto-reply / bounce / list from headers, report parts, and (for bounces) the sender."""
    flags: set[str] = set()
    auto = (hmap.get("auto-submitted") or [""])[0].strip().lower()
    precedence = (hmap.get("precedence") or [""])[0].strip().lower()
    # RFC 3834; responders that predate it mark themselves with Precedence bulk or junk.
    if (auto and not auto.startswith("no")) or precedence in ("auto_reply", "bulk", "junk"):
        flags.add(FLAG_AUTO_REPLY)
    if any(k in hmap for k in ("x-autoreply", "x-autorespond", "x-autoresponder", "x-autogenerated")):
        flags.add(FLAG_AUTO_REPLY)
    if precedence in ("list", "bulk", "junk") or any(
        k in hmap for k in ("list-id", "list-post", "list-unsubscribe", "mailing-list", "x-mailing-list")
    ):
        flags.add(FLAG_LIST)
    report = body.report_types
    if "delivery-status" in report or "feedback-report" in report or "x-failed-recipients" in hmap:
        flags.add(FLAG_BOUNCE)
    if "disposition-notification" in report:
        flags.add(FLAG_AUTO_REPLY)
    bounce_sender = bool(_BOUNCE_SENDER.match(sender) or _BOUNCE_SENDER.match(sender_name.replace(" ", "-")))
    return_path = " ".join((hmap.get("return-path") or [""])[0].split()).strip("<>")
    if bounce_sender or (
        _BOUNCE_SUBJECT.search(subject)
        and (FLAG_AUTO_REPLY in flags or ("return-path" in hmap and not return_path)
             or _BOUNCE_SENDER.match(return_path))
    ):
        flags.add(FLAG_BOUNCE)
    if FLAG_BOUNCE not in flags and _AUTO_SUBJECT.search(subject):
        flags.add(FLAG_AUTO_REPLY)
    return flags
