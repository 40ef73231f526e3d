"""`build_demo`: a fresh desk with a realistic multilingual history, built through the real paths.

Customer mail is written as RFC 5322 files into a local Maildir and ingested by
the `maildir` channel (omnidesk.services.sync.run_sync), agents' actions go through
omnidesk.services.services (assign, tag, note, status, priority, log_call), and agents'
replies leave through the real SMTP adapter to a LocalReceiver on 127.0.0.1,
whose captured copies customers then answer. Customers also write on Slack,
Telegram, Mastodon, SMS and WhatsApp, served by the fakes (omnidesk.demo.chat) that
the desk's `slack`, `telegram`, `mastodon` and `sms` (Twilio) channels reach over HTTP
on 127.0.0.1. One customer tells one story on four channels: she writes by email,
goes on on Telegram sharing the phone number the desk knows from a call, texts from
that phone by SMS and on WhatsApp, and, once an agent added her Mastodon handle, on
Mastodon; every message joins her one open conversation. Nothing leaves the machine.

Layout of `directory`:
    omnidesk.toml   the desk's config (pass it with --config)
    data/           the database and attachment blobs
    maildir/        the support mailbox the `support` channel watches
    received/       replies captured by the LocalReceiver (.eml)
    demo.json       what the simulator needs (customers, threads, the SMTP port)
"""

from __future__ import annotations

import asyncio
import getpass
import json
import logging
import os
import random
import re
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from omnidesk.demo import corpus
from omnidesk.demo.chat import CHAT_CHANNELS, ChatServices
from omnidesk.demo.mailgen import customer_mail, deliver, ensure_maildir, tiny_png
from omnidesk.demo.receiver import REFUSED_DOMAIN, LocalReceiver, free_port

SUPPORT_ADDRESS = "support@omnidesk.example"
CHANNEL = "support"
CONFIG_NAME = "omnidesk.toml"
STATE_NAME = "demo.json"


@dataclass(slots=True)
class Customer:
    name: str
    email: str
    lang: corpus.Language
    tz: str
    phone: str | None = None


@dataclass(slots=True)
class Thread:
    """One planned conversation: who, what, and what the agents will do with it."""

    customer: Customer
    subject: str
    message_ids: list[str] = field(default_factory=list)
    theme: int = 0
    order: str = ""
    assignee: str | None = None
    tags: tuple[str, ...] = ()
    note: str | None = None
    status: str = "open"
    priority: str = "normal"
    reply: bool = False
    thanks: bool = False
    call: bool = False
    hostile: bool = False
    continued: bool = False  # the customer goes on writing on four channels (cross-channel continuity)


def _toml(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def config_text(directory: Path, *, smtp_port: int, os_user: str, chat: ChatServices) -> str:
    """The demo desk's config: three agents (alice is you), maildir, the chat channels, views."""
    agents = []
    for i, (name, display, email, skills) in enumerate(corpus.AGENTS):
        lines = ["[[agents]]", f"name = {_toml(name)}", f"display_name = {_toml(display)}",
                 f"email = {_toml(email)}", f"skills = [{', '.join(_toml(s) for s in skills)}]"]
        if i == 0:
            lines.extend([f"os_user = {_toml(os_user)}", 'role = "admin"'])
        agents.append("\n".join(lines))
    views = [("Mine", "assignee:me status:open", "1"), ("Unassigned", "is:unassigned status:open", "2"),
             ("Billing", "tag:billing -status:resolved", "3"), ("VIP", "tag:vip", "4"),
             ("Chinese", "退款", "5")]
    view_text = "\n\n".join(f"[[views]]\nname = {_toml(n)}\nquery = {_toml(q)}\nkey = {_toml(k)}"
                            for n, q, k in views)
    return f"""\
# The omnidesk demo desk (written by `omnidesk demo`; safe to delete with its directory).

[desk]
name = "omnidesk demo"
timezone = "Europe/Budapest"
data_dir = {_toml(str(directory / "data"))}
undo_seconds = 5

{chr(10).join(a + chr(10) for a in agents)}
[channels.{CHANNEL}]
kind = "maildir"
address = {_toml(SUPPORT_ADDRESS)}
path = {_toml(str(directory / "maildir"))}
poll_seconds = 1
smtp_host = "127.0.0.1"
smtp_port = {smtp_port}
smtp_tls = "none"

{chat.channels_toml()}
{view_text}
"""


def _customers(rng: random.Random) -> list[Customer]:
    people = []
    for lang in corpus.LANGUAGES:
        for index, (name, local) in enumerate(lang.names):
            domain = rng.choice(lang.domains)
            phone = f"{lang.phone_prefix}{index:02d}" if rng.random() < 0.4 else None
            people.append(Customer(name, f"{local}@{domain}", lang, rng.choice(lang.timezones), phone))
    # One customer whose replies bounce, so a failed delivery (with the server's words) is on show.
    people.append(Customer("Nobody Home", f"nobody@{REFUSED_DOMAIN}", corpus.EN, "Europe/London"))
    return people


def _plan(rng: random.Random, count: int, people: list[Customer]) -> list[Thread]:
    weights = [corpus.LANGUAGE_WEIGHTS[corpus.LANGUAGES.index(p.lang)] for p in people[:-1]]
    threads: list[Thread] = []
    used: set[tuple[str, str]] = set()
    agents = [a[0] for a in corpus.AGENTS]
    for n in range(count):
        customer = rng.choices(people[:-1], weights)[0] if n != 7 else people[-1]
        for _ in range(20):  # a customer rarely writes twice about the same thing: pick again
            theme = rng.randrange(len(customer.lang.issues))
            order = f"A-{rng.randrange(10000, 99999)}"
            subject = customer.lang.issues[theme][0].format(order=order)
            if (customer.email, subject) not in used:
                break
            if n != 7:
                customer = rng.choices(people[:-1], weights)[0]
        else:
            subject = f"{subject} ({order})"
        used.add((customer.email, subject))
        roll = rng.random()
        status = ("resolved" if roll < 0.35 else "pending" if roll < 0.5 else "snoozed" if roll < 0.56
                  else "open")
        thread = Thread(
            customer=customer, subject=subject, theme=theme, order=order,
            assignee=rng.choice(agents) if rng.random() < 0.65 else None,
            tags=corpus.THEMES[customer.lang.code][theme] + (("vip",) if rng.random() < 0.08 else ()),
            note=rng.choice(corpus.NOTES) if rng.random() < 0.2 else None,
            status=status,
            priority=rng.choices(("normal", "high", "urgent", "low"), (80, 12, 4, 4))[0],
            reply=(status in ("resolved", "pending") and rng.random() < 0.3) or n == 7,
            call=customer.phone is not None and rng.random() < 0.3,
        )
        thread.thanks = thread.reply and status == "resolved"
        threads.append(thread)
    # The customer who writes by email and then continues on Telegram: open, recent, a phone on file.
    mover = next(p for p in people if p.lang is corpus.HU)
    mover.phone = mover.phone or f"{corpus.HU.phone_prefix}99"
    order = f"A-{rng.randrange(10000, 99999)}"
    subject = corpus.HU.issues[3][0].format(order=order)
    if (mover.email, subject) in used:  # its own conversation, not one the history already has
        subject = f"{subject} ({order})"
    threads.append(Thread(customer=mover, subject=subject, theme=3, order=order, tags=("shipping",),
                          status="open", call=True, continued=True))
    for i, (subject, _, _) in enumerate(corpus.HOSTILE):
        # Hostile samples stay open and unassigned, near the top of the inbox.
        threads.append(Thread(customer=people[i % len(people)], subject=subject, hostile=True,
                              tags=("bug",), status="open"))
    return threads


def _local(when: datetime, tz: str) -> datetime:
    return when.astimezone(ZoneInfo(tz))


def _write_history(maildir: Path, threads: list[Thread], rng: random.Random, seed: int,
                   now: datetime) -> int:
    """The customers' mail: first messages over the last three weeks, some follow-ups. Returns files."""
    written = 0
    for n, t in enumerate(threads):
        c = t.customer
        start = now - timedelta(days=21) + timedelta(seconds=rng.randrange(0, 20 * 86400))
        if t.hostile:
            _subject, body, display = corpus.HOSTILE[[h[0] for h in corpus.HOSTILE].index(t.subject)]
            name = display
            start = now - timedelta(minutes=30 + n % 60)
        else:
            if t.continued:  # recent, so the Telegram message still finds it open (continuity window)
                start = now - timedelta(minutes=50)
            body = c.lang.issues[t.theme][1].format(order=t.order, name=c.name)
            body += "\n\n" + c.lang.signoff.format(name=c.name)
            name = c.name
        domain = c.email.split("@", 1)[1]
        mid = f"<demo.{seed}.{n}.0@{domain}>"
        attachments: list[tuple[str, str, bytes]] = []
        if t.theme == corpus.DAMAGED and c.lang.code != "uz" and not t.hostile:
            attachments.append(("photo.png", "image/png", tiny_png()))
        if t.hostile and "bidi" in body:
            attachments.append(("invoice\u202egpj.exe", "application/octet-stream", b"MZ not really"))
        legacy = rng.random() < 0.35
        data = customer_mail(
            sender_name=name, sender=c.email, to=f"Support <{SUPPORT_ADDRESS}>", subject=t.subject,
            body=body, date=_local(start, c.tz), message_id=mid,
            charset=c.lang.charset if legacy else "utf-8", html=rng.random() < 0.1 and not t.hostile,
            attachments=attachments,
        )
        deliver(maildir, data, f"d{seed}-{n}-0", start)
        t.message_ids.append(mid)
        written += 1
        if not t.hostile and rng.random() < 0.3:
            # The customer writes again before anyone answered (threads by In-Reply-To).
            later = min(start + timedelta(hours=rng.randrange(2, 48)), now - timedelta(minutes=5))
            follow = rng.choice(c.lang.followups).format(order=t.order)
            mid2 = f"<demo.{seed}.{n}.1@{domain}>"
            data = customer_mail(
                sender_name=c.name, sender=c.email, to=SUPPORT_ADDRESS, subject="Re: " + t.subject,
                body=follow, date=_local(later, c.tz), message_id=mid2,
                in_reply_to=mid, charset="utf-8",
            )
            deliver(maildir, data, f"d{seed}-{n}-1", later)
            t.message_ids.append(mid2)
            written += 1
    # An auto-reply and a message nobody can parse: the desk flags one and quarantines the other.
    data = customer_mail(sender_name="Vacation Bot", sender="ooo@mail.example", to=SUPPORT_ADDRESS,
                         subject="Automatic reply: Out of office", body="I am away until Monday.",
                         date=now - timedelta(hours=3), message_id=f"<demo.{seed}.auto@mail.example>",
                         headers=(("Auto-Submitted", "auto-replied"),))
    deliver(maildir, data, f"d{seed}-auto", now - timedelta(hours=3))
    garbage = b"\xff\xfe\x00garbage\r\n\r\n\x00\x01\x02 not a mail at all \xc3\x28"
    deliver(maildir, garbage, f"d{seed}-garbage", now - timedelta(hours=2))
    return written + 2


async def _conversation_ids(desk: Any, threads: list[Thread]) -> dict[int, tuple[int, int]]:
    """Thread index -> (conversation id, customer id), found through the read side (address + subject)."""
    from omnidesk.conversations import reads

    found: dict[tuple[str, str], tuple[int, int]] = {}
    after = None
    while True:
        page = await reads.list_conversations(desk, "", limit=500, after=after)
        for s in page.items:
            found.setdefault((s.customer_address.lower(), s.subject), (s.id, s.customer_id))
            found.setdefault((s.customer_name, s.subject), (s.id, s.customer_id))
        if page.next_after is None:
            break
        after = page.next_after
    mapping = {}
    for i, t in enumerate(threads):
        hit = found.get((t.customer.email.lower(), t.subject)) or found.get((t.customer.name, t.subject))
        if hit is not None:
            mapping[i] = hit
    return mapping


async def build_demo(directory: Path, *, conversations: int = 300, seed: int = 1,
                     smtp_port: int | None = None, receiver: LocalReceiver | None = None,
                     chat: ChatServices | None = None) -> Path:
    """Write a demo desk into `directory` and fill it; returns the config path.

    `receiver`: a running LocalReceiver the config should point at (its port); else
    one is started on `smtp_port` (or a free port) just for the build. `chat`: running
    ChatServices (Slack and Telegram fakes) the config points at; else started for the build.
    """
    from omnidesk.outbound.outbox import Dispatcher
    from omnidesk.services import services
    from omnidesk.services.opendesk import open_desk
    from omnidesk.services.sync import run_sync

    began = time.perf_counter()
    directory = Path(directory).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    maildir = ensure_maildir(directory / "maildir")
    port = receiver.port if receiver is not None else (smtp_port or free_port())
    os_user = os.environ.get("USER") or os.environ.get("LOGNAME") or getpass.getuser()
    config_path = directory / CONFIG_NAME
    own_chat = chat is None
    chat = chat if chat is not None else ChatServices().start()
    config_path.write_text(config_text(directory, smtp_port=port, os_user=os_user, chat=chat), "utf-8")
    config_path.chmod(0o600)  # it holds the chat fakes' tokens: owner only, as for any token in a file

    rng = random.Random(seed)
    now = datetime.now(UTC)
    build_started = int(now.timestamp() * 1000)
    people = _customers(rng)
    threads = _plan(rng, conversations, people)
    _write_history(maildir, threads, rng, seed, now)

    own_receiver = receiver is None
    if receiver is None:
        receiver = LocalReceiver(port=port, directory=directory / "received")
    desk = await open_desk(config_path, as_agent="alice")
    try:
        # Replies written while building leave at once; the live demo keeps the configured undo window.
        fast = replace(desk.settings.desk, undo_seconds=0)
        desk = replace(desk, settings=replace(desk.settings, desk=fast))
        stop = asyncio.Event()
        await run_sync(desk, once=True, stop=stop, channels=[CHANNEL], dispatch=False)
        found = await _conversation_ids(desk, threads)
        ids = {i: cid for i, (cid, _) in found.items()}
        agents = {a[0]: desk.as_agent(await services.resolve_agent(desk, a[0], None)) for a in corpus.AGENTS}
        lead = agents["alice"]

        by_assignee: dict[str, list[int]] = {}
        by_tag: dict[str, list[int]] = {}
        by_priority: dict[str, list[int]] = {}
        for i, t in ids.items():
            thread = threads[i]
            if thread.assignee:
                by_assignee.setdefault(thread.assignee, []).append(t)
            for tag in thread.tags:
                by_tag.setdefault(tag, []).append(t)
            if thread.priority != "normal":
                by_priority.setdefault(thread.priority, []).append(t)
        for name, cids in by_assignee.items():
            await services.assign(lead, cids, name)
        for tag, cids in by_tag.items():
            await services.tag(agents[rng.choice(list(agents))], cids, add=[tag])
        for priority, cids in by_priority.items():
            await services.set_priority(lead, cids, priority)  # type: ignore[arg-type]
        for i, cid in ids.items():
            t = threads[i]
            actor = agents.get(t.assignee or "alice", lead)
            if t.note:
                await services.add_note(actor, cid, t.note)
            if t.call and t.customer.phone:
                await services.log_call(actor, direction=rng.choice(("in", "out")),
                                        duration_seconds=rng.randrange(45, 900),
                                        notes=rng.choice(corpus.CALL_NOTES), phone=t.customer.phone,
                                        customer_id=found[i][1], conversation_id=cid)

        # Chat after the calls: the mover's phone is on file when they share it on Telegram.
        crossing, on_chat = await _chat_history(lead, chat, people, threads, found, rng, stop)

        # Agents' replies really leave through the maildir channel's SMTP to the local receiver.
        replied = [(i, cid) for i, cid in ids.items() if threads[i].reply]
        for i, cid in replied:
            t = threads[i]
            actor = agents.get(t.assignee or "alice", lead)
            text = rng.choice(t.customer.lang.replies).format(name=t.customer.name, order=t.order)
            await services.queue_reply(actor, cid, text)
        # ... and on chat, through the real adapters to the fakes; the four-channel customer and the
        # WhatsApp customer outside the 24-hour window are left for the agent.
        waiting = {crossing, on_chat.get("whatsapp_window")}
        for name in CHAT_CHANNELS:
            for summary in [s for s in await chat_conversations(desk, name) if s.id not in waiting][:1]:
                await services.queue_reply(lead, summary.id, rng.choice(CHAT_ANSWERS))
        if own_receiver:
            await receiver.__aenter__()
        try:
            dispatcher = Dispatcher(desk, backoff_base=0.2)
            # The refused reply is on purpose; its warning would only clutter `omnidesk demo`'s start.
            outbox_log = logging.getLogger("omnidesk.outbound.outbox")
            level = outbox_log.level
            outbox_log.setLevel(logging.ERROR)
            try:
                await dispatcher.run_once()
            finally:
                outbox_log.setLevel(level)
                await dispatcher.close()
            answered = _answer_replies(maildir, receiver, threads, replied, rng, seed)
        finally:
            if own_receiver:
                await receiver.__aexit__(None, None, None)
        if answered:
            await run_sync(desk, once=True, stop=stop, channels=[CHANNEL], dispatch=False)

        # Statuses last: a customer's new mail reopens pending/resolved conversations.
        by_status: dict[str, list[int]] = {}
        for i, cid in ids.items():
            if threads[i].status != "open":
                by_status.setdefault(threads[i].status, []).append(cid)
        for status, cids in by_status.items():
            if status == "snoozed":
                soon = [c for k, c in enumerate(cids) if k % 3 == 0]
                later = [c for c in cids if c not in soon]
                now_ms = int(time.time() * 1000)
                if soon:  # wakes while the demo runs: the timer reopens it with an event
                    await services.set_status(lead, soon, "snoozed", snooze_until=now_ms + 90_000)
                if later:
                    await services.set_status(lead, later, "snoozed", snooze_until=now_ms + 3 * 86_400_000)
            else:
                await services.set_status(lead, cids, status)  # type: ignore[arg-type]
        # Agents acted "now"; spread their work over the days after each customer's mail.
        from omnidesk.store.demo import backdate

        await backdate(desk.db, list(ids.values()), since=build_started, until=int(time.time() * 1000),
                       now=int(time.time() * 1000))
        _write_state(directory, threads, people, port, seed, time.perf_counter() - began, crossing, on_chat)
    finally:
        await desk.db.close()
        if own_chat:
            chat.stop()
    return config_path


#: What an agent answers on chat (short, as chat is).
CHAT_ANSWERS = ("Thanks! Looking into it now.", "Köszönjük, utánanézünk!", "已收到，我们马上处理。",
                "ممنون، در حال بررسی هستیم.")


async def _chat_history(desk: Any, chat: ChatServices, people: list[Customer], threads: list[Thread],
                        found: dict[int, tuple[int, int]], rng: random.Random,
                        stop: asyncio.Event) -> tuple[int | None, dict[str, int]]:
    """Customers on Slack (#support), Telegram (private chats), Mastodon (mentions and direct
    messages), SMS and WhatsApp, read in by the desk's real sync.

    The mover (who wrote by email) shares their phone on Telegram and writes on, then texts from
    that phone by SMS and on WhatsApp (the phone identity), and, after `desk`'s agent added their
    Mastodon handle, writes there: continuity puts every message in their open email conversation.
    Returns that conversation and, by role, conversations the headless session answers.
    """
    from omnidesk.services.customer_edits import add_identity
    from omnidesk.services.sync import run_sync

    now = datetime.now(UTC)
    by_lang = {lang.code: [p for p in people if p.lang is lang] for lang in corpus.LANGUAGES}
    on_mastodon = chat.add_mastodon(by_lang["zh"][3].name, "zh", _username(by_lang["zh"][3]),
                                    visibility="public")
    on_sms = chat.add_phone(by_lang["fa"][3].name, "fa", _e164(corpus.FA, 77))
    writers = [chat.add_slack(by_lang["en"][1].name, "en", email=by_lang["en"][1].email),
               chat.add_slack(by_lang["zh"][1].name, "zh"), chat.add_slack(by_lang["hu"][4].name, "hu"),
               chat.add_telegram(by_lang["fa"][1].name, "fa"), chat.add_telegram(by_lang["zh"][2].name, "zh"),
               on_mastodon, chat.add_mastodon(by_lang["fa"][2].name, "fa", _username(by_lang["fa"][2])),
               on_sms, chat.add_phone(by_lang["zh"][4].name, "zh", _e164(corpus.ZH, 77), whatsapp=True)]
    for person in writers:
        chat.say(person, rng.choice(chat.chat_lines(person)))
    # Wrote on WhatsApp yesterday: a free-form answer is refused now, an approved template is not.
    late = chat.add_phone(by_lang["hu"][5].name, "hu", _e164(corpus.HU, 77), whatsapp=True)
    chat.say(late, corpus.CHAT_LINES["hu"][1], at=now - timedelta(hours=30))
    index = next(i for i, t in enumerate(threads) if t.continued)
    mover = threads[index].customer
    assert mover.phone is not None
    on_telegram = chat.add_telegram(mover.name, mover.lang.code, phone=mover.phone)
    chat.share_contact(on_telegram, at=now - timedelta(minutes=41))
    chat.say(on_telegram, corpus.CHAT_LINES["hu"][3], at=now - timedelta(minutes=40))
    phone = mover.phone.replace(" ", "")
    chat.say(chat.add_phone(mover.name, "hu", phone), corpus.MOVER_LINES[0], at=now - timedelta(minutes=30))
    chat.say(chat.add_phone(mover.name, "hu", phone, whatsapp=True), corpus.MOVER_LINES[1],
             at=now - timedelta(minutes=20))
    handle = _username(mover)
    if index in found:  # she said on WhatsApp where else she is; the agent notes it on her
        await add_identity(desk, found[index][1], "mastodon", f"{handle}@mastodon.social")
    chat.say(chat.add_mastodon(mover.name, "hu", handle), corpus.MOVER_LINES[2],
             at=now - timedelta(minutes=10))
    await run_sync(desk, once=True, stop=stop, channels=list(CHAT_CHANNELS), dispatch=False)
    roles = {"mastodon": on_mastodon.handle.acct.lower(), "sms": on_sms.phone, "whatsapp_window": late.phone}
    on_chat = {role: cid for role, address in roles.items()
               if address and (cid := await _latest_conversation(desk, address)) is not None}
    return (found[index][0] if index in found else None), on_chat


def _username(person: Customer) -> str:
    """A Mastodon username for `person` (letters, digits and underscores)."""
    return re.sub(r"\W", "_", person.email.split("@", 1)[0], flags=re.ASCII)


def _e164(lang: corpus.Language, index: int) -> str:
    return f"{lang.phone_prefix}{index:02d}".replace(" ", "")


async def _latest_conversation(desk: Any, address: str) -> int | None:
    """The newest conversation of the customer with identity `address`."""
    from omnidesk.conversations import reads

    for customer in await reads.find_customers(desk, address, limit=5):
        if any(i.address == address for i in customer.identities):
            conversations = await reads.customer_conversations(desk, customer.id)
            return conversations[0].id if conversations else None
    return None


async def chat_conversations(desk: Any, channel: str) -> list[Any]:
    """Summaries of the conversations whose latest inbound message came by `channel`, newest first."""
    from omnidesk.conversations import reads

    return list((await reads.list_conversations(desk, f"channel:{channel}", limit=500)).items)


def _answer_replies(maildir: Path, receiver: LocalReceiver, threads: list[Thread],
                    replied: list[tuple[int, int]], rng: random.Random, seed: int) -> int:
    """Customers who were told "fixed" thank the agent, answering the captured reply (In-Reply-To)."""
    by_address = {threads[i].customer.email.lower(): threads[i] for i, _ in replied if threads[i].thanks}
    answered = 0
    for n, captured in enumerate(list(receiver.messages)):
        msg = captured.message
        to = (msg.get("To") or "").lower()
        thread = next((t for addr, t in by_address.items() if addr in to), None)
        if thread is None:
            continue
        c = thread.customer
        refs = [r for r in (msg.get("References") or "").split() if r]
        # Date headers have whole seconds: one more keeps the thanks after the reply it answers.
        when = datetime.now(UTC) + timedelta(seconds=1)
        data = customer_mail(
            sender_name=c.name, sender=c.email, to=SUPPORT_ADDRESS, subject=str(msg.get("Subject", "")),
            body=rng.choice(c.lang.thanks) + "\n\n" + c.lang.signoff.format(name=c.name),
            date=_local(when, c.tz), message_id=f"<demo.{seed}.thanks.{n}@{c.email.split('@', 1)[1]}>",
            in_reply_to=str(msg.get("Message-ID")), references=refs,
        )
        deliver(maildir, data, f"d{seed}-thanks-{n}", when)
        by_address.pop(c.email.lower(), None)
        answered += 1
    return answered


def _write_state(directory: Path, threads: list[Thread], people: list[Customer], port: int, seed: int,
                 seconds: float, crossing: int | None, on_chat: dict[str, int]) -> None:
    state = {
        "seed": seed,
        "smtp_port": port,
        "maildir": str(directory / "maildir"),
        "support_address": SUPPORT_ADDRESS,
        "build_seconds": round(seconds, 3),
        "cross_channel_conversation": crossing,  # the customer who wrote on four channels
        "chat_conversations": on_chat,  # role (mastodon, sms, whatsapp_window) -> conversation
        "customers": [{"name": p.name, "email": p.email, "lang": p.lang.code, "tz": p.tz}
                      for p in people if not p.email.endswith(REFUSED_DOMAIN)],
        "threads": [{"email": t.customer.email, "subject": t.subject, "message_ids": t.message_ids}
                    for t in threads if not t.hostile and not t.customer.email.endswith(REFUSED_DOMAIN)],
    }
    (directory / STATE_NAME).write_text(json.dumps(state, ensure_ascii=False, indent=1), "utf-8")


def load_state(directory: Path) -> dict[str, Any]:
    """What build_demo recorded (customers, threads, the SMTP port, the cross-channel conversation,
    chat conversations by role)."""
    return json.loads((Path(directory) / STATE_NAME).read_text("utf-8"))
