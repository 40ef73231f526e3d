"""Twilio Message resources and webhook forms as omnidesk records and delivery changes.

A customer's message is an `Inbound` whose sender is the phone number in E.164 with any
`whatsapp:` prefix stripped (kind `phone`), so the same phone on SMS, WhatsApp, Telegram and
calls is one customer; `meta["twilio"]` keeps the transport and both addresses as Twilio
wrote them, which a reply uses to answer from the number the customer wrote to. A message
that is only an opt-out keyword (STOP, ...) or an opt-in one (START, ...) is flagged so.
Our own messages' statuses become `DeliveryChange`s.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from adapters.base import (
    FLAG_OPT_IN,
    FLAG_OPT_OUT,
    FLAG_QUARANTINED,
    Address,
    Attachment,
    DeliveryChange,
    Inbound,
    valid_text,
)
from adapters.twilio.codes import meaning

WHATSAPP = "whatsapp:"
#: Carrier opt-out keywords (CTIA, and the ones Twilio's Advanced Opt-Out honours), whole message.
OPT_OUT_WORDS = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "optout", "revoke"})
OPT_IN_WORDS = frozenset({"start", "unstop", "yes"})
#: Twilio's message statuses as the contract's delivery states; the others are not ours to report.
STATES = {"accepted": "queued", "scheduled": "queued", "queued": "queued", "sending": "queued",
          "sent": "sent", "delivered": "delivered", "read": "read", "undelivered": "undelivered",
          "failed": "failed", "canceled": "failed", "partially_delivered": "delivered"}


def transport(address: str) -> str:
    """`whatsapp` for a `whatsapp:+...` address, else `sms`."""
    return "whatsapp" if address.startswith(WHATSAPP) else "sms"


def bare(address: str) -> str:
    """The phone number without the `whatsapp:` prefix."""
    return address.removeprefix(WHATSAPP)


_MONTHS = {m: n for n, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                                         "Nov", "Dec"), 1)}


def parse_date(value: Any) -> datetime | None:
    """A Twilio date (`Fri, 24 May 2019 17:44:50 +0000`) as an aware datetime, or None.

    Twilio always writes this one form in UTC, read here directly (email.utils' general
    RFC 2822 parser, the fallback, took a fifth of a poll's time).
    """
    if not value:
        return None
    text = str(value)
    parts = text.split()
    try:
        if len(parts) == 6 and parts[5] == "+0000" and parts[2] in _MONTHS:
            hour, minute, second = parts[4].split(":")
            return datetime(int(parts[3]), _MONTHS[parts[2]], int(parts[1]), int(hour), int(minute),
                            int(second), tzinfo=UTC)
        return parsedate_to_datetime(text).astimezone(UTC)
    except (TypeError, ValueError):
        return None


def consent_flags(body: str) -> frozenset[str]:
    """FLAG_OPT_OUT or FLAG_OPT_IN when the whole message is such a keyword (any case)."""
    word = body.strip().lower()
    if word in OPT_OUT_WORDS:
        return frozenset({FLAG_OPT_OUT})
    if word in OPT_IN_WORDS:
        return frozenset({FLAG_OPT_IN})
    return frozenset()


def inbound(sid: str, sender: str, to: str, body: str, sent_at: datetime, *,
            attachments: tuple[Attachment, ...] = (), name: str = "",
            raw: Mapping[str, Any] | None = None) -> Inbound:
    """One customer message; `sender` and `to` as Twilio gives them (`whatsapp:+...` or `+...`)."""
    text = valid_text(body)
    if not text and not attachments:
        text = "[an empty message]"
    return Inbound(
        external_id=sid,
        sender=Address("phone", bare(sender), valid_text(name)),
        sent_at=sent_at,
        text=text,
        recipients=(Address("phone", bare(to)),),
        chat_like=True,
        attachments=attachments,
        raw=json.dumps(raw, ensure_ascii=False, sort_keys=True).encode() if raw is not None else None,
        flags=consent_flags(body),
        meta={"twilio": {"transport": transport(sender), "from": sender, "to": to}},
    )


def from_resource(message: Mapping[str, Any], attachments: tuple[Attachment, ...] = (),
                  sent_at: datetime | None = None) -> Inbound:
    """A Message resource of direction `inbound` (from the Messages list); `sent_at` if already read."""
    sent_at = sent_at or parse_date(message.get("date_sent")) or parse_date(message.get("date_created")) \
        or datetime.now(UTC)
    return inbound(str(message["sid"]), str(message["from"]), str(message["to"]),
                   str(message.get("body") or ""), sent_at, attachments=attachments, raw=message)


def from_form(form: Mapping[str, str], received_at: datetime) -> Inbound:
    """An incoming-message webhook's form (MessageSid, From, To, Body, NumMedia, MediaUrlN, ProfileName)."""
    return inbound(form["MessageSid"], form["From"], form["To"], form.get("Body", ""), received_at,
                   attachments=form_media(form), name=form.get("ProfileName", ""), raw=form)


def media_attachments(sid: str, media_list: list[Mapping[str, Any]]) -> tuple[Attachment, ...]:
    """Lazy attachments of a message's Media list; fetch_ref is the media's URI without `.json`."""
    return tuple(_attachment(sid, n, str(m["uri"]).removesuffix(".json"), str(m.get("content_type") or ""))
                 for n, m in enumerate(media_list))


def form_media(form: Mapping[str, str]) -> tuple[Attachment, ...]:
    count = int(form.get("NumMedia") or 0) if str(form.get("NumMedia") or "0").isdigit() else 0
    return tuple(_attachment(form["MessageSid"], n, form[f"MediaUrl{n}"],
                             form.get(f"MediaContentType{n}", ""))
                 for n in range(count) if form.get(f"MediaUrl{n}"))


def _attachment(sid: str, n: int, ref: str, content_type: str) -> Attachment:
    import mimetypes

    content_type = content_type or "application/octet-stream"
    extension = mimetypes.guess_extension(content_type.split(";")[0].strip()) or ""
    return Attachment(f"{sid}-{n + 1}{extension}", content_type, fetch_ref=ref)


def delivery(sid: str, status: str, at: datetime, code: Any = None,
             message: str = "") -> DeliveryChange | None:
    """Our message's status as a DeliveryChange (None for a status that is not a delivery state)."""
    state = STATES.get(status)
    if state is None:
        return None
    code_text = "" if code in (None, "", 0, "0") else str(code)
    detail = meaning(code_text, message) if code_text else ("canceled" if status == "canceled" else "")
    return DeliveryChange(external_id=sid, state=state, at=at, code=code_text, detail=detail)


def resource_delivery(message: Mapping[str, Any]) -> DeliveryChange | None:
    at = parse_date(message.get("date_updated")) or datetime.now(UTC)
    return delivery(str(message["sid"]), str(message.get("status") or ""), at, message.get("error_code"),
                    str(message.get("error_message") or ""))


def quarantined(message: Mapping[str, Any], exc: Exception) -> Inbound:
    """A Message resource this module cannot read, kept raw for an agent instead of blocking the number."""
    what = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
    return Inbound(
        external_id=str(message.get("sid") or ""),
        sender=Address("phone", bare(str(message.get("from") or ""))),
        sent_at=parse_date(message.get("date_sent")) or datetime.now(UTC),
        text="",
        chat_like=True,
        raw=json.dumps(message, ensure_ascii=False, sort_keys=True, default=str).encode(),
        defects=(valid_text(f"unreadable Twilio message: {what}"),),
        flags=frozenset({FLAG_QUARANTINED}),
    )
