"""Write customer mail as real RFC 5322 files into a Maildir, the way an MTA delivers it.

The demo feeds the desk through the same path as production: files land in
`new/` (written to `tmp/` first, then renamed, so a reader never sees half a
file) and the `maildir` channel ingests them.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Sequence
from datetime import datetime
from email import encoders
from email.header import Header
from email.message import Message
from email.mime.application import MIMEApplication
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr
from pathlib import Path


def ensure_maildir(path: Path) -> Path:
    for sub in ("tmp", "new", "cur"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    return path


def _encoded(value: str) -> str:
    """An RFC 2047 encoded-word header value when it is not plain ASCII."""
    try:
        value.encode("ascii")
        return value
    except UnicodeEncodeError:
        return Header(value, "utf-8").encode()


def tiny_png() -> bytes:
    """A valid 2x2 PNG (a "photo" attachment without shipping binary files)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    raw = b"".join(b"\x00" + b"\xcc\x33\x33" * 2 for _ in range(2))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", (2).to_bytes(4, "big") * 2 + b"\x08\x02\x00\x00\x00")
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def customer_mail(*, sender_name: str, sender: str, to: str, subject: str, body: str, date: datetime,
                  message_id: str, in_reply_to: str | None = None, references: Sequence[str] = (),
                  charset: str = "utf-8", html: bool = False,
                  attachments: Sequence[tuple[str, str, bytes]] = (),
                  headers: Sequence[tuple[str, str]] = ()) -> bytes:
    """One message as bytes. `charset` is tried first (legacy clients), UTF-8 when it cannot encode.

    Built with the compat32 classes (email.mime): the policy.default header objects cost
    ~8 ms a message, too slow for a demo that should build in a few seconds.
    """
    try:
        body.encode(charset)
    except (UnicodeEncodeError, LookupError):
        charset = "utf-8"
    if html:
        paragraphs = "".join(f"<p>{line}</p>" for line in body.split("\n\n"))
        text_part: Message = MIMEText(f"<html><body>{paragraphs}</body></html>", "html", charset)
    else:
        text_part = MIMEText(body if body.endswith("\n") else body + "\n", "plain", charset)
    msg: Message
    if attachments:
        msg = MIMEMultipart()
        msg.attach(text_part)
        for filename, content_type, data in attachments:
            maintype, _, subtype = content_type.partition("/")
            part = (MIMEApplication(data, subtype) if maintype == "application"
                    else MIMEBase(maintype, subtype))
            if maintype != "application":
                part.set_payload(data)
                encoders.encode_base64(part)
            part.add_header("Content-Disposition", "attachment", filename=("utf-8", "", filename))
            msg.attach(part)
    else:
        msg = text_part
    msg["From"] = formataddr((sender_name, sender), charset="utf-8")
    msg["To"] = to
    msg["Subject"] = _encoded(subject)
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        refs = list(references) if in_reply_to in references else [*references, in_reply_to]
        msg["References"] = " ".join(refs)
    for name, value in headers:
        msg[name] = value
    return msg.as_bytes()


def deliver(maildir: Path, data: bytes, key: str, when: datetime | None = None) -> Path:
    """Drop a message into `maildir/new` atomically (tmp/ then rename), like an MTA."""
    ensure_maildir(maildir)
    stamp = int((when or datetime.now()).timestamp())
    name = f"{stamp}.{key}.omnidesk-demo"
    tmp = maildir / "tmp" / name
    tmp.write_bytes(data)
    target = maildir / "new" / name
    os.replace(tmp, target)
    if when is not None:
        os.utime(target, (when.timestamp(), when.timestamp()))
    return target
