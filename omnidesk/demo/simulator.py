"""`simulate`: customers keep writing while the demo runs, through the real Maildir path.

Every few seconds one of: a new conversation from a known customer, a
follow-up on one of their threads (In-Reply-To, so it threads by rule 1), or,
when a LocalReceiver is given, a customer answering the reply an agent just
sent (the whole round trip: TUI -> outbox -> SMTP -> receiver -> Maildir -> ingest).
When the demo's ChatServices are given, some customers write on Slack, Telegram,
Mastodon, SMS or WhatsApp instead, through the fakes the desk's chat channels poll,
and the desk's SMS and WhatsApp messages move on to delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from omnidesk.demo import corpus
from omnidesk.demo.builder import load_state
from omnidesk.demo.chat import ChatServices
from omnidesk.demo.mailgen import customer_mail, deliver
from omnidesk.demo.receiver import LocalReceiver

_LANGS = {lang.code: lang for lang in corpus.LANGUAGES}


async def simulate(desk_dir: Path, stop: asyncio.Event, *, receiver: LocalReceiver | None = None,
                   chat: ChatServices | None = None, interval: tuple[float, float] = (3.0, 8.0),
                   seed: int | None = None, limit: int | None = None) -> int:
    """Write customer mail (and chat) until `stop` (or `limit` messages). Returns how many."""
    state = load_state(Path(desk_dir))
    maildir = Path(state["maildir"])
    support = state["support_address"]
    rng = random.Random(seed)
    answered = len(receiver.messages) if receiver is not None else 0
    written = 0
    while not stop.is_set() and (limit is None or written < limit):
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=rng.uniform(*interval))
        if stop.is_set():
            break
        now = datetime.now(UTC)
        key = f"sim{now.timestamp():.6f}-{written}"
        if chat is not None:
            chat.twilio.advance()  # the carrier moves our SMS and WhatsApp messages on: sent, delivered
        if chat is not None and chat.people and rng.random() < 0.3:
            person = rng.choice(chat.people)
            chat.say(person, rng.choice(chat.chat_lines(person)))
            written += 1
            continue
        if receiver is not None and len(receiver.messages) > answered and rng.random() < 0.7:
            captured = receiver.messages[answered]
            answered += 1
            data = _answer(captured.message, state, rng, now, key)
            if data is None:
                continue
        elif state["threads"] and rng.random() < 0.3:
            thread = rng.choice(state["threads"])
            customer = next((c for c in state["customers"] if c["email"] == thread["email"]), None)
            if customer is None:
                continue
            lang = _LANGS[customer["lang"]]
            data = customer_mail(
                sender_name=customer["name"], sender=customer["email"], to=support,
                subject="Re: " + thread["subject"], body=rng.choice(lang.followups).format(order="A-10001"),
                date=now.astimezone(ZoneInfo(customer["tz"])), message_id=f"<{key}@{_domain(customer)}>",
                in_reply_to=thread["message_ids"][-1], references=thread["message_ids"][:-1],
            )
            thread["message_ids"].append(f"<{key}@{_domain(customer)}>")
        else:
            customer = rng.choice(state["customers"])
            lang = _LANGS[customer["lang"]]
            subject, body = rng.choice(lang.issues)
            order = f"A-{rng.randrange(10000, 99999)}"
            subject = subject.format(order=order)
            mid = f"<{key}@{_domain(customer)}>"
            data = customer_mail(
                sender_name=customer["name"], sender=customer["email"], to=support, subject=subject,
                body=body.format(order=order, name=customer["name"]) + "\n\n"
                + lang.signoff.format(name=customer["name"]),
                date=now.astimezone(ZoneInfo(customer["tz"])), message_id=mid,
            )
            state["threads"].append({"email": customer["email"], "subject": subject, "message_ids": [mid]})
        deliver(maildir, data, key, now)
        written += 1
    return written


def _domain(customer: dict[str, str]) -> str:
    return customer["email"].split("@", 1)[1]


def _answer(message: object, state: dict, rng: random.Random, now: datetime, key: str) -> bytes | None:
    to = str(message.get("To") or "").lower()  # type: ignore[attr-defined]
    customer = next((c for c in state["customers"] if c["email"].lower() in to), None)
    if customer is None:
        return None
    lang = _LANGS[customer["lang"]]
    refs = str(message.get("References") or "").split()  # type: ignore[attr-defined]
    return customer_mail(
        sender_name=customer["name"], sender=customer["email"], to=state["support_address"],
        subject=str(message.get("Subject") or ""),  # type: ignore[attr-defined]
        body=rng.choice(lang.thanks) + "\n\n" + lang.signoff.format(name=customer["name"]),
        date=now.astimezone(ZoneInfo(customer["tz"])), message_id=f"<{key}@{_domain(customer)}>",
        in_reply_to=str(message.get("Message-ID")), references=refs,  # type: ignore[attr-defined]
    )
