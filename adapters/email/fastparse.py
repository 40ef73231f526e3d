"""A fast path for well-formed mail: the same `Message` tree as the stdlib's compat32 parser.

`email.feedparser` reads a message line by line through a generator stack and
compiles a new regular expression for every multipart boundary (the `re` cache
cannot help: boundaries are unique), which made it half of our parse time.
Most real mail is simple: a header block, a blank line, then either one body
or multipart parts. `parse` handles exactly that case and builds the tree
feedparser would build (headers via compat32's `header_source_parse`, payload
strings, one trailing line end stripped from each part, preamble, epilogue);
anything unusual (a header line feedparser would flag, an enclosed `message/*`,
multipart/digest, a missing or doubled boundary, deep nesting) returns None
and the caller uses the stdlib parser, so defects are still recorded by it.
"""

from __future__ import annotations

import re
from email.message import Message
from email.policy import compat32

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
_HEADER_NAME = re.compile(r"[\041-\071\073-\176]+:")
_EOL_AT_END = re.compile(r"(?:\r\n|\r|\n)\Z")
_EOL_AT_START = re.compile(r"\A(?:\r\n|\r|\n)")
_MAX_DEPTH = 8


def parse(data: bytes) -> Message | None:
    """The compat32 Message for `data`, or None when the stdlib parser must decide."""
    text = data.decode("ascii", "surrogateescape")
    return _message(_LINE.findall(text), 0)


def _message(lines: list[str], depth: int) -> Message | None:
    msg = Message(policy=compat32)
    headers = msg._headers  # what Message.set_raw appends to; compat32 stores (name, value) as is
    current: list[str] | None = None
    body_start = len(lines)
    for index, line in enumerate(lines):
        first = line[:1]
        if first in (" ", "\t"):
            if current is None:
                return None  # FirstHeaderLineIsContinuationDefect: let the stdlib record it
            current.append(line)
            continue
        if current is not None:
            headers.append(compat32.header_source_parse(current))
            current = None
        if line in ("\n", "\r\n", "\r"):
            body_start = index + 1
            break
        if line.startswith("From ") or not _HEADER_NAME.match(line):
            return None  # envelope lines, bad header lines, a missing separator
        current = [line]
    else:
        if current is not None:
            headers.append(compat32.header_source_parse(current))
    body = lines[body_start:]
    maintype = msg.get_content_maintype()
    if maintype == "message":
        return None  # enclosed messages and DSN fields: the stdlib builds sub-messages
    if maintype != "multipart":
        msg.set_payload("".join(body))
        return msg
    return _multipart(msg, body, depth)


def _multipart(msg: Message, body: list[str], depth: int) -> Message | None:
    boundary = msg.get_boundary()
    if (boundary is None or depth >= _MAX_DEPTH or msg.get_content_subtype() == "digest"
            or msg.get("content-transfer-encoding", "8bit").lower() not in ("7bit", "8bit", "binary")):
        return None
    separator = "--" + boundary
    cut = len(separator)
    preamble: list[str] | None = None
    part: list[str] | None = None
    parts: list[Message] = []
    closed_at = -1
    for index, line in enumerate(body):
        if line.startswith(separator):
            rest = line[cut:]
            close = rest.startswith("--")
            if close:
                rest = rest[2:]
            if not rest.rstrip("\r\n").strip(" \t") and len(rest) - len(rest.rstrip("\r\n")) <= 2:
                if part is None:
                    if close or preamble is not None:
                        return None  # no start boundary: StartBoundaryNotFoundDefect
                    preamble = body[:index]
                    part = []
                    continue
                if not part:
                    return None  # adjacent boundary lines: feedparser's special case
                child = _message(part, depth + 1)
                if child is None:
                    return None
                # RFC 2046: the line end before a boundary belongs to the boundary.
                if isinstance(child.get_payload(), list):
                    if child.epilogue == "":
                        child.epilogue = None
                    elif child.epilogue is not None:
                        child.epilogue = _EOL_AT_END.sub("", child.epilogue)
                else:
                    payload = child.get_payload()
                    match = _EOL_AT_END.search(payload)
                    if match:
                        child.set_payload(payload[: match.start()])
                parts.append(child)
                if close:
                    closed_at = index
                    break
                part = []
                continue
        if part is not None:
            part.append(line)
    if closed_at < 0 or preamble is None:
        return None  # CloseBoundaryNotFoundDefect or no parts at all
    if preamble:
        preamble[-1] = _EOL_AT_END.sub("", preamble[-1])
        msg.preamble = "".join(preamble)
    close_line = body[closed_at]
    epilogue = ([""] if close_line.endswith(("\n", "\r")) else []) + body[closed_at + 1 :]
    if epilogue:
        epilogue[0] = _EOL_AT_START.sub("", epilogue[0])
    msg.epilogue = "".join(epilogue)
    msg.set_payload(parts)
    return msg


def header_items(data: bytes) -> list[tuple[str, str]] | None:
    """The header fields of `data` exactly as `parse` would read them, without touching the body.

    None when the header block is anything but plain fields ended by a blank
    line or the end of input (the stdlib would record a defect, and mime.py
    might repair the block).
    """
    text = data.decode("ascii", "surrogateescape")
    items: list[tuple[str, str]] = []
    current: list[str] | None = None
    for match in _LINE.finditer(text):
        line = match.group()
        if line[:1] in (" ", "\t"):
            if current is None:
                return None
            current.append(line)
            continue
        if current is not None:
            items.append(compat32.header_source_parse(current))
            current = None
        if line in ("\n", "\r\n", "\r"):
            return items
        if line.startswith("From ") or not _HEADER_NAME.match(line):
            return None
        current = [line]
    if current is not None:
        items.append(compat32.header_source_parse(current))
    return items
