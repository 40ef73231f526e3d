"""The demo's chat services: Slack, Telegram, Mastodon and Twilio (SMS, WhatsApp), fakes on 127.0.0.1.

    with ChatServices() as chat:
        config gets chat.channels_toml()   # `slack`, `telegram`, `mastodon`, `sms` at the fakes' URLs
        person = chat.add_telegram("Anna", "hu")
        chat.say(person, "hi")             # a customer writes; the desk's sync reads it

The desk reaches them only through its channels (the real adapters), so agents' replies
really travel over HTTP and land in the fakes (`slack_replies()`, `telegram_replies()`,
`mastodon_replies()`, `sms_replies()`). The fakes keep everything in memory: a desk
reopened after the demo finds the services gone (the channels say so).
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Self

from omnidesk.demo import corpus
from omnidesk.demo.fakes import mastodon as fake_mastodon
from omnidesk.demo.fakes import slack as fake_slack
from omnidesk.demo.fakes import telegram as fake_telegram
from omnidesk.demo.fakes import twilio as fake_twilio

SLACK_CHANNEL = "slack"
TELEGRAM_CHANNEL = "telegram"
MASTODON_CHANNEL = "mastodon"
SMS_CHANNEL = "sms"  # one Twilio account: an SMS number and a WhatsApp sender
CHAT_CHANNELS = (SLACK_CHANNEL, TELEGRAM_CHANNEL, MASTODON_CHANNEL, SMS_CHANNEL)
SMS_NUMBER = "+15005550006"
WHATSAPP_NUMBER = "whatsapp:+14155238886"
#: The WhatsApp templates the demo's Twilio channel may send outside the 24-hour window.
WHATSAPP_TEMPLATES = (("order_update", "HX" + "6f" * 16), ("delivery_delay", "HX" + "d1" * 16))
#: Telegram user ids of the demo's bot users (private chats have the same id).
_FIRST_TELEGRAM_ID = 5550001


@dataclass(slots=True)
class ChatPerson:
    """Someone who writes on one chat service: who they are there, and in which language."""

    name: str
    lang: str
    service: str  # "slack" | "telegram" | "mastodon" | "sms" | "whatsapp"
    handle: Any  # the fake's user (slack.User), Bot API user dict, Mastodon account, or phone number
    phone: str | None = None  # the number they share on Telegram
    visibility: str = "direct"  # how they write on Mastodon


class ChatServices:
    """FakeSlack, FakeTelegram, FakeMastodon and FakeTwilio in threads of their own, and the demo's
    people on them."""

    def __init__(self) -> None:
        self.slack = fake_slack.FakeSlack()
        self.telegram = fake_telegram.FakeTelegram()
        self.mastodon = fake_mastodon.FakeMastodon()
        self.twilio = fake_twilio.FakeTwilio(numbers=(SMS_NUMBER, WHATSAPP_NUMBER))
        self.people: list[ChatPerson] = []
        self.support: fake_slack.Channel | None = None

    def _fakes(self) -> tuple[Any, ...]:
        return (self.slack, self.telegram, self.mastodon, self.twilio)

    def start(self) -> Self:
        for fake in self._fakes():
            fake.start()
        return self

    def stop(self) -> None:
        for fake in self._fakes():
            fake.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def channels_toml(self) -> str:
        """The desk's `slack`, `telegram`, `mastodon` and `sms` channel tables, at the running fakes."""
        def q(value: str) -> str:
            return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string

        return f"""\
[channels.{SLACK_CHANNEL}]
kind = "slack"
token = {q(fake_slack.TOKEN)}
api_url = {q(self.slack.base_url)}
poll_seconds = 1

[channels.{TELEGRAM_CHANNEL}]
kind = "telegram"
token = {q(fake_telegram.TOKEN)}
api_url = {q(self.telegram.api_url)}
long_poll_seconds = 1

[channels.{MASTODON_CHANNEL}]
kind = "mastodon"
instance = {q(self.mastodon.base_url)}
access_token = {q(fake_mastodon.TOKEN)}
poll_seconds = 1

[channels.{SMS_CHANNEL}]
kind = "twilio"
account_sid = {q(fake_twilio.ACCOUNT_SID)}
auth_token = {q(fake_twilio.AUTH_TOKEN)}
api_url = {q(self.twilio.api_url)}
numbers = [{q(SMS_NUMBER)}, {q(WHATSAPP_NUMBER)}]
whatsapp_templates = [{", ".join(q(f"{name}={sid}") for name, sid in WHATSAPP_TEMPLATES)}]
poll_seconds = 1
"""

    def add_slack(self, name: str, lang: str, *, email: str | None = None) -> ChatPerson:
        """A workspace member who writes in #support; `email` is their Slack profile email."""
        if self.support is None:
            self.support = self.slack.add_channel("support")
        handle = self.slack.add_user(name, real_name=name, email=email)
        person = ChatPerson(name, lang, "slack", handle)
        self.people.append(person)
        return person

    def add_telegram(self, name: str, lang: str, *, phone: str | None = None) -> ChatPerson:
        """Someone who writes to the bot in a private chat; `phone` is what they would share."""
        first, _, last = name.partition(" ")
        handle = self.telegram.user(_FIRST_TELEGRAM_ID + len(self.people), first, last_name=last or None,
                                    language_code=lang)
        person = ChatPerson(name, lang, "telegram", handle, phone=phone)
        self.people.append(person)
        return person

    def add_mastodon(self, name: str, lang: str, username: str, *, domain: str = "mastodon.social",
                     visibility: str = "direct") -> ChatPerson:
        """An account of another instance that mentions the desk: `direct` messages, or `public` toots."""
        handle = self.mastodon.account(username, domain, display_name=name)
        person = ChatPerson(name, lang, "mastodon", handle, visibility=visibility)
        self.people.append(person)
        return person

    def add_phone(self, name: str, lang: str, phone: str, *, whatsapp: bool = False) -> ChatPerson:
        """Someone who texts the desk's number, or writes to its WhatsApp sender, from `phone` (E.164)."""
        person = ChatPerson(name, lang, "whatsapp" if whatsapp else "sms", phone, phone=phone)
        self.people.append(person)
        return person

    def say(self, person: ChatPerson, text: str, *, at: datetime | None = None) -> None:
        """`person` writes `text` (at `at`, default now): in #support on Slack, in their private chat
        with the bot on Telegram, mentioning the desk on Mastodon, or to the desk's number."""
        if person.service == "slack":
            assert self.support is not None
            self.slack.say(self.support, person.handle, text)
        elif person.service == "telegram":
            self.telegram.say(person.handle, text, **_telegram_date(at))
        elif person.service == "mastodon":
            status = self.mastodon.mention(person.handle, text, visibility=person.visibility)
            if at is not None:  # before anyone read it, so the fake serves this time
                status["created_at"] = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        elif person.service == "whatsapp":
            self.twilio.text(f"whatsapp:{person.handle}", WHATSAPP_NUMBER, text, at=at,
                             profile_name=person.name)
        else:
            self.twilio.text(person.handle, SMS_NUMBER, text, at=at)

    def share_contact(self, person: ChatPerson, *, at: datetime | None = None) -> None:
        """A Telegram person shares their own phone number with the bot (a `phone` identity for the desk)."""
        assert person.service == "telegram" and person.phone
        self.telegram.share_contact(person.handle, person.phone, **_telegram_date(at))

    def slack_replies(self) -> list[str]:
        """Texts the desk's bot posted on Slack, oldest first."""
        return [str(m.get("text", "")) for m in self.slack.bot_posts()]

    def telegram_replies(self) -> list[str]:
        """Texts the desk's bot sent on Telegram, oldest first."""
        return [str(m.get("text", "")) for m in self.telegram.sent()]

    def mastodon_replies(self) -> list[str]:
        """Texts of the statuses the desk's account posted, oldest first."""
        return [html.unescape(re.sub(r"<br />", "\n", re.sub(r"</?p>", "", str(s["content"]))))
                for s in self.mastodon.posted()]

    def sms_replies(self) -> list[str]:
        """Bodies of the messages the desk sent through Twilio (SMS and WhatsApp), oldest first."""
        return [str(m.get("body", "")) for m in self.twilio.sent()]

    def chat_lines(self, person: ChatPerson) -> tuple[str, ...]:
        return corpus.CHAT_LINES.get(person.lang, corpus.CHAT_LINES["en"])


def _telegram_date(at: datetime | None) -> dict[str, int]:
    """A Bot API message's `date` for `at` (none: the fake's now)."""
    return {"date": int(at.timestamp())} if at is not None else {}
