"""The demo's chat services: a Slack workspace and a Telegram bot, served by the fakes on 127.0.0.1.

    with ChatServices() as chat:
        config gets chat.channels_toml()   # `slack` and `telegram` channels at the fakes' api_url
        chat.seed(email_customers)         # people who write on Slack and Telegram
        chat.say(chat.people[0], "hi")     # a customer writes; the desk's sync reads it

The desk reaches them only through its `slack` and `telegram` channels (the real
adapters), so agents' replies really travel over HTTP and land in the fakes
(`slack_replies()`, `telegram_replies()`). The fakes keep everything in memory: a
desk reopened after the demo finds both services gone (the channels say so).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Self

from omnidesk.demo import corpus
from omnidesk.demo.fakes import slack as fake_slack
from omnidesk.demo.fakes import telegram as fake_telegram

SLACK_CHANNEL = "slack"
TELEGRAM_CHANNEL = "telegram"
#: Telegram user ids of the demo's bot users (private chats have the same id).
_FIRST_TELEGRAM_ID = 5550001


@dataclass(slots=True)
class ChatPerson:
    """Someone who writes on one chat service: who they are there, and in which language."""

    name: str
    lang: str
    service: str  # "slack" | "telegram"
    handle: Any  # the fake's user (slack.User) or Bot API user dict
    phone: str | None = None  # the number they share on Telegram


class ChatServices:
    """FakeSlack and FakeTelegram in threads of their own, and the demo's people on them."""

    def __init__(self) -> None:
        self.slack = fake_slack.FakeSlack()
        self.telegram = fake_telegram.FakeTelegram()
        self.people: list[ChatPerson] = []
        self.support: fake_slack.Channel | None = None

    def start(self) -> Self:
        self.slack.start()
        self.telegram.start()
        return self

    def stop(self) -> None:
        self.slack.stop()
        self.telegram.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def channels_toml(self) -> str:
        """The desk's `slack` and `telegram` channel tables, pointing at the running fakes."""
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

    def say(self, person: ChatPerson, text: str) -> None:
        """`person` writes `text`: in #support on Slack, in their private chat with the bot on Telegram."""
        if person.service == "slack":
            assert self.support is not None
            self.slack.say(self.support, person.handle, text)
        else:
            self.telegram.say(person.handle, text)

    def share_contact(self, person: ChatPerson) -> None:
        """A Telegram person shares their own phone number with the bot (a `phone` identity for the desk)."""
        assert person.service == "telegram" and person.phone
        self.telegram.share_contact(person.handle, person.phone)

    def slack_replies(self) -> list[str]:
        """Texts the desk's bot posted on Slack, oldest first."""
        return [str(m.get("text", "")) for m in self.slack.bot_posts()]

    def telegram_replies(self) -> list[str]:
        """Texts the desk's bot sent on Telegram, oldest first."""
        return [str(m.get("text", "")) for m in self.telegram.sent()]

    def chat_lines(self, person: ChatPerson) -> tuple[str, ...]:
        return corpus.CHAT_LINES.get(person.lang, corpus.CHAT_LINES["en"])
