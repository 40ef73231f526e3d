"""Bot API updates as omnidesk records: messages to the bot become Inbound, edits become Edit.

Taken: every message of a private chat, and in groups only messages that address the bot
(an @mention of it, a /command@it, or a reply to one of its messages). Service messages
(members joining, pins, title changes) and other bots are not customer messages and are
left out. Entity offsets count UTF-16 code units, as the Bot API documents.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from adapters.base import FLAG_QUARANTINED, Address, Attachment, Edit, Inbound, raw_json, valid_text

#: Keys that make a message a service message (Bot API `Message`), never a customer's words.
SERVICE_KEYS = frozenset({
    "new_chat_members", "left_chat_member", "new_chat_title", "new_chat_photo", "delete_chat_photo",
    "group_chat_created", "supergroup_chat_created", "channel_chat_created", "pinned_message",
    "message_auto_delete_timer_changed", "migrate_to_chat_id", "migrate_from_chat_id",
    "forum_topic_created", "forum_topic_edited", "forum_topic_closed", "forum_topic_reopened",
    "video_chat_started", "video_chat_ended", "video_chat_scheduled", "video_chat_participants_invited",
    "boost_added", "chat_background_set", "users_shared", "chat_shared", "write_access_allowed",
    "proximity_alert_triggered",
})

#: Content we show as a short note when the message has no text (kind -> note).
_NOTES = {"sticker": "a sticker", "location": "a location", "venue": "a venue", "poll": "a poll",
          "dice": "a dice roll", "game": "a game", "animation": "an animation", "audio": "an audio file",
          "video_note": "a video message", "story": "a story", "invoice": "an invoice"}


def display_name(user: Mapping[str, Any]) -> str:
    """"First Last (@username)", or whichever parts the user has."""
    name = " ".join(str(user[k]) for k in ("first_name", "last_name") if user.get(k))
    username = user.get("username")
    if username:
        return f"{name} (@{username})" if name else f"@{username}"
    return name


def _at(timestamp: Any) -> datetime:
    return datetime.fromtimestamp(int(timestamp or 0), UTC)


def _entity_text(text: str, entity: Mapping[str, Any]) -> str:
    units = text.encode("utf-16-le")
    start, length = int(entity.get("offset", 0)), int(entity.get("length", 0))
    return units[2 * start:2 * (start + length)].decode("utf-16-le", "replace")


def addresses_bot(message: Mapping[str, Any], bot: Mapping[str, Any]) -> bool:
    """Whether a group message is meant for the bot: it mentions it or answers one of its messages."""
    parent = message.get("reply_to_message") or {}
    if (parent.get("from") or {}).get("id") == bot.get("id"):
        return True
    handle = "@" + str(bot.get("username") or "").lower()
    for text_key, entities_key in (("text", "entities"), ("caption", "caption_entities")):
        text = str(message.get(text_key) or "")
        for entity in message.get(entities_key) or ():
            kind = entity.get("type")
            if kind == "text_mention" and (entity.get("user") or {}).get("id") == bot.get("id"):
                return True
            if kind == "mention" and _entity_text(text, entity).lower() == handle:
                return True
            if kind == "bot_command" and _entity_text(text, entity).lower().endswith(handle):
                return True
    return False


def wanted(message: Mapping[str, Any], bot: Mapping[str, Any] | None) -> bool:
    """Whether `message` is one the desk takes (see the module docstring); `bot` needed for groups."""
    sender = message.get("from") or {}
    if not sender or sender.get("is_bot") or SERVICE_KEYS & message.keys():
        return False
    if message["chat"]["type"] == "private":  # no chat: unreadable, quarantined by `translate`
        return True
    return bot is not None and addresses_bot(message, bot)


def _attachments(message: Mapping[str, Any]) -> tuple[Attachment, ...]:
    """Lazy attachments: the file_id is the fetch_ref, the bytes come through getFile on demand."""
    n = message.get("message_id")
    found: list[Attachment] = []
    photos = message.get("photo") or []
    if photos:
        largest = max(photos, key=lambda p: (int(p.get("width", 0)) * int(p.get("height", 0)),
                                             int(p.get("file_size", 0))))
        found.append(Attachment(f"photo_{n}.jpg", "image/jpeg", fetch_ref=str(largest["file_id"]),
                                size=largest.get("file_size")))
    defaults = {"document": ("file", "application/octet-stream"), "voice": (f"voice_{n}.ogg", "audio/ogg"),
                "video": (f"video_{n}.mp4", "video/mp4")}
    for key, (name, content_type) in defaults.items():
        item = message.get(key)
        if isinstance(item, dict) and item.get("file_id"):
            found.append(Attachment(valid_text(str(item.get("file_name") or name)),
                                    str(item.get("mime_type") or content_type),
                                    fetch_ref=str(item["file_id"]), size=item.get("file_size")))
    return tuple(found)


def e164(phone: str) -> str | None:
    """`phone` (Telegram gives digits without '+') in E.164, or None if phonenumbers calls it invalid."""
    import phonenumbers

    try:
        number = phonenumbers.parse(phone if phone.startswith("+") else "+" + phone, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _contact(message: Mapping[str, Any]) -> tuple[str, tuple[Address, ...], tuple[str, ...]]:
    """Text, also_known_as and defects of a shared contact (the sender's own number is an identity)."""
    contact = message["contact"]
    phone = str(contact.get("phone_number") or "")
    name = valid_text(" ".join(str(contact[k]) for k in ("first_name", "last_name") if contact.get(k)))
    text = f"Shared a contact: {name}, {phone}" if name else f"Shared a contact: {phone}"
    if contact.get("user_id") != (message.get("from") or {}).get("id"):
        return text, (), ()
    number = e164(phone)
    if number is None:
        return text, (), (f"the shared phone number {phone!r} is not a valid number",)
    return text, (Address("phone", number, name),), ()


def _text(message: Mapping[str, Any]) -> str:
    text = message.get("text") or message.get("caption") or ""
    if not text:
        for key, note in _NOTES.items():
            if key in message:
                emoji = (message.get("sticker") or {}).get("emoji", "") if key == "sticker" else ""
                text = f"[{note}{' ' + emoji if emoji else ''}]"
                break
    return valid_text(str(text))


def inbound(message: Mapping[str, Any]) -> Inbound:
    """One taken message as an Inbound record (scope: the chat id; id: the message_id)."""
    sender, chat = message["from"], message["chat"]
    text, also_known_as, defects = _text(message), (), ()
    if isinstance(message.get("contact"), dict):
        text, also_known_as, defects = _contact(message)
    attachments = _attachments(message)
    if not text and not attachments:
        text = "[a Telegram message omnidesk cannot show: " + ", ".join(
            sorted(k for k in message if k not in ("message_id", "from", "chat", "date"))) + "]"
    parent = message.get("reply_to_message") or {}
    return Inbound(
        external_id=str(message["message_id"]),
        sender=Address("telegram", str(sender["id"]), valid_text(display_name(sender))),
        sent_at=_at(message.get("date")),
        text=valid_text(text),
        thread_refs=(str(parent["message_id"]),) if parent.get("message_id") else (),
        scope=str(chat["id"]),
        also_known_as=also_known_as,
        chat_like=True,
        attachments=attachments,
        raw=raw_json(message),
        defects=defects,
        meta={"telegram": {"chat_id": chat["id"], "chat_type": chat.get("type", ""),
                           "message_id": message["message_id"]}},
    )


def edit(message: Mapping[str, Any]) -> Edit:
    """An `edited_message` as an Edit of the stored message."""
    return Edit(external_id=str(message["message_id"]), text=_text(message),
                edited_at=_at(message.get("edit_date") or message.get("date")),
                scope=str(message["chat"]["id"]))


def needs_bot(updates: list[dict[str, Any]]) -> bool:
    """Whether any update is from a group, so the bot's own id and username are needed to judge it."""
    return any(((u.get("message") or u.get("edited_message") or {}).get("chat") or {}).get("type")
               not in (None, "private") for u in updates)


def translate(updates: list[dict[str, Any]],
              bot: Mapping[str, Any] | None) -> tuple[list[Inbound], list[Edit]]:
    """The records and edits the desk takes from a getUpdates answer."""
    records: list[Inbound] = []
    edits: list[Edit] = []
    for update in updates:
        try:
            if isinstance(update.get("message"), dict) and wanted(update["message"], bot):
                records.append(inbound(update["message"]))
            elif isinstance(update.get("edited_message"), dict) and wanted(update["edited_message"], bot):
                edits.append(edit(update["edited_message"]))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            records.append(quarantined(update, exc))
    return records, edits


def quarantined(update: Mapping[str, Any], exc: Exception) -> Inbound:
    """An update this module cannot read, kept raw for an agent instead of blocking the bot's queue."""
    message = update.get("message") or update.get("edited_message") or {}
    sender = message.get("from") if isinstance(message, dict) else None
    sender_id = str(sender.get("id", "")) if isinstance(sender, dict) else ""
    what = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
    return Inbound(
        external_id=f"update-{update.get('update_id')}",
        sender=Address("telegram", sender_id),
        sent_at=datetime.now(UTC),
        text="",
        chat_like=True,
        raw=raw_json(update),
        defects=(valid_text(f"unreadable Telegram update: {what}"),),
        flags=frozenset({FLAG_QUARANTINED}),
    )
