"""Delivery status notifications -> `DeliveryReport`: which message of ours bounced, and why.

RFC 3464 reports (`multipart/report; report-type=delivery-status`) are read
field by field: per-recipient `Action`, `Status`, `Diagnostic-Code`, and the
original Message-ID from the enclosed `message/rfc822` or `text/rfc822-headers`
part. Bounces in the older, non-standard shapes (qmail, Exim, Exchange texts
that quote the original headers) are read from their text: a quoted
`Message-ID:` line, an enhanced status code (RFC 3463) or an SMTP reply code.
Stdlib only (see docs/architecture.md, Dependencies). Never raises.
"""

from __future__ import annotations

import re
from email.message import Message
from email.parser import HeaderParser
from email.policy import compat32

from adapters.base import DeliveryReport, valid_text
from adapters.email import headers

_HEADER_PARSER = HeaderParser(policy=compat32)
_REPORT_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})
_ORIGINAL_TYPES = frozenset({"message/rfc822", "message/global", "text/rfc822-headers",
                             "message/rfc822-headers", "text/rfc822-header"})
#: How bad each action is: a report about several recipients takes its worst.
_SEVERITY = {"failed": 3, "delayed": 2, "delivered": 1, "relayed": 1, "expanded": 1}
_ENHANCED = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_SMTP_CODE = re.compile(r"(?<![\d.])([245]\d\d)(?![\d.])")
_QUOTED_ID = re.compile(r"^[ \t>]*Message-ID:[ \t]*(<[^<>\s]+>)", re.IGNORECASE | re.MULTILINE)
_DELAYED_TEXT = re.compile(
    r"not (yet )?been delivered|delivery (is )?delayed|will (continue|keep) (to )?(try|retry)"
    r"|still trying|warning: message .* delayed|temporar(y|ily) (failure|deferred)",
    re.IGNORECASE,
)
MAX_DIAGNOSTIC = 500


def report(msg: Message, text: str, failed_recipients: str = "") -> DeliveryReport:
    """What a bounce says about our message; `text` is its decoded plain text. Never raises."""
    try:
        found = _standard(msg)
    except Exception:  # a broken report part: the text may still tell
        found = None
    if found is None:
        found = _from_text(text, failed_recipients)
    try:
        original = _original_id(msg, text)
    except Exception:  # an enclosed part too broken to read: the report still counts, unmatched
        original = None
    # Header values read with surrogateescape keep undecodable bytes as lone surrogates.
    return DeliveryReport(valid_text(original) if original else None, found.state, valid_text(found.status),
                          valid_text(found.diagnostic), tuple(map(valid_text, found.recipients)))


def _standard(msg: Message) -> DeliveryReport | None:
    """The worst per-recipient block of the first RFC 3464 report part, or None without one."""
    for part in msg.walk():
        if part.get_content_type() not in _REPORT_TYPES:
            continue
        blocks = _blocks(part)
        recipients = [b for b in blocks if _field(b, "action") or _field(b, "final-recipient")
                      or _field(b, "status")]
        if not recipients:
            continue
        ranked = sorted(recipients, key=lambda b: -_SEVERITY.get(_action(b), 0))
        worst = ranked[0]
        state = _action(worst)
        return DeliveryReport(
            None, state, _status(worst), _diagnostic(worst),
            tuple(_recipient(b) for b in ranked if _action(b) == state and _recipient(b)),
        )
    return None


def _blocks(part: Message) -> list[dict[str, str]]:
    """The report's field groups (per-message first, then one per recipient), names lower-cased."""
    payload = part.get_payload()
    if isinstance(payload, list):  # compat32 parses each group as a header block
        return [{k.strip().lower(): headers.unfold(str(v)) for k, v in p.items()} for p in payload]
    raw = part.get_payload(decode=True)
    data = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(payload)
    groups = re.split(r"\r?\n[ \t]*\r?\n", data.replace("\r\n", "\n").strip())
    return [{k.strip().lower(): headers.unfold(str(v)) for k, v in _HEADER_PARSER.parsestr(g).items()}
            for g in groups if g.strip()]


def _field(block: dict[str, str], name: str) -> str:
    return block.get(name, "").strip()


def _action(block: dict[str, str]) -> str:
    action = _field(block, "action").lower().split(" ")[0].split("(")[0]
    if action in _SEVERITY:
        return action
    status = _status(block)  # no (or an unknown) action: the status class decides
    return "delayed" if status.startswith("4") else "delivered" if status.startswith("2") else "failed"


def _status(block: dict[str, str]) -> str:
    match = _ENHANCED.search(_field(block, "status")) or _ENHANCED.search(_field(block, "diagnostic-code"))
    if match:
        return match.group(0)
    code = _SMTP_CODE.search(_field(block, "diagnostic-code"))
    return code.group(1) if code else ""


def _diagnostic(block: dict[str, str]) -> str:
    value = _field(block, "diagnostic-code")
    kind, sep, rest = value.partition(";")
    if sep and " " not in kind.strip():  # "smtp; 550 5.1.1 ...": drop the diagnostic type
        value = rest
    return " ".join(value.split())[:MAX_DIAGNOSTIC]


def _recipient(block: dict[str, str]) -> str:
    value = _field(block, "final-recipient") or _field(block, "original-recipient")
    return value.partition(";")[2].strip() if ";" in value else value


def _from_text(text: str, failed_recipients: str) -> DeliveryReport:
    """A non-standard bounce: the first status code in its text, delayed when it says so."""
    match = _ENHANCED.search(text)
    status = match.group(0) if match else ""
    if not status:
        code = _SMTP_CODE.search(text)
        status = code.group(1) if code else ""
    delayed = status.startswith("4") or (not status.startswith("5") and bool(_DELAYED_TEXT.search(text)))
    line = ""
    if match:
        start = text.rfind("\n", 0, match.start()) + 1
        end = text.find("\n", match.end())
        line = " ".join(text[start : end if end >= 0 else None].split())[:MAX_DIAGNOSTIC]
    recipients = tuple(a for _, a in headers.parse_addresses(failed_recipients) if a)
    return DeliveryReport(None, "delayed" if delayed else "failed", status, line, recipients)


def _original_id(msg: Message, text: str) -> str | None:
    """The Message-ID of the message the report is about: enclosed headers first, then quoted text."""
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype not in _ORIGINAL_TYPES:
            continue
        payload = part.get_payload()
        if isinstance(payload, list) and payload:
            value = payload[0].get("message-id")
        else:
            raw = part.get_payload(decode=True)
            data = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(payload)
            value = _HEADER_PARSER.parsestr(data.lstrip()).get("message-id")
        ids = headers.message_ids(str(value)) if value is not None else []
        if ids:
            return ids[0]
    quoted = _QUOTED_ID.search(text)
    return quoted.group(1) if quoted else None
