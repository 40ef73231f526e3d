"""CSAT and NPS asked through the channel: the timer that asks, and the rating links it answers.

`ask_due` (the daemon's timers) asks each conversation resolved on a `csat`/`nps` channel
`csat_delay` ago and not reopened since (a reopen clears `resolved_at`, a new resolve starts
the delay again): the survey row and the queued question commit in one unit of work, so a
restart never asks twice and a crash between them asks nothing. NPS goes instead of CSAT when
the channel has `nps` and the customer was not asked NPS within `[surveys] nps_period`.
A reply that refuses (an SMS opt-out, the channel's own rule) stores the row as skipped, why
on the timeline. On email the question carries one-click links to `answer` (the webhook
listener's `/survey/<token>`); on chat the customer answers with a number, which ingest reads
(omnidesk/inbound/placement.py). Definitions of the figures: docs/reports.md.
"""

from __future__ import annotations

import html
import logging
from urllib.parse import parse_qs, urlsplit

from adapters.base import WebhookReply, WebhookRequest
from omnidesk.desk import Desk
from omnidesk.errors import UserError
from omnidesk.langpick import pick
from omnidesk.registry import capabilities
from omnidesk.services.replies import queue_reply
from omnidesk.services.surveytokens import desk_secret, make_token, read_token
from omnidesk.services.unit import unit_of_work
from omnidesk.settings import ChannelSettings
from omnidesk.store import channels as store_channels
from omnidesk.store import customers as store_customers
from omnidesk.store import surveys as store
from omnidesk.surveytext import DEFAULT_QUESTIONS, SCALES, asks_something, chat_scale
from omnidesk.textsafe import one_line
from omnidesk.timeutil import now_ms

log = logging.getLogger(__name__)

#: The listener's path for rating links (services/webhooks.py serves it beside /hooks/).
MOUNT = "/survey/"
MAX_COMMENT = 4000


async def ask_due(desk: Desk, *, now: int | None = None) -> list[int]:
    """Ask every conversation that is due; returns the survey ids written (asked or skipped)."""
    now = now_ms() if now is None else now
    written: list[int] = []
    for settings in desk.settings.channels:
        if not settings.surveys:
            continue
        chan = await store_channels.get_channel(desk.db, settings.name)
        if chan is None:
            continue
        latest = now - settings.csat_delay_ms
        for due in await store.due(desk.db, chan.id, resolved_before=latest,
                                   resolved_after=latest - desk.settings.surveys.max_age_ms):
            try:
                written.append(await _ask(desk, settings, chan.id, due, now))
            except Exception as exc:  # rolled back whole: tried again next pass; the others go on
                log.warning("surveys: #%d not asked: %s: %s", due.conversation_id, type(exc).__name__,
                            one_line(str(exc)))
    return written


async def _ask(desk: Desk, settings: ChannelSettings, channel_id: int, due: store.Due, now: int) -> int:
    surveys = desk.settings.surveys
    nps_due = settings.nps and not await store.asked_since(desk.db, due.customer_id, "nps",
                                                            now - surveys.nps_period_ms)
    kind = "nps" if nps_due else "csat"
    system = desk.as_agent(None)
    async with unit_of_work(system, reason="the survey timer"):
        async with desk.db.write() as conn:
            survey_id = await store.insert(desk.db, conn, due, kind=kind, channel_id=channel_id, now=now,
                                           expires_at=now + surveys.expire_ms)
        message_id, skipped = None, None
        if kind == "csat" and not settings.csat:
            skipped = "NPS was asked within the NPS period"
        else:
            customer = await store_customers.get_customer(desk.db, due.customer_id)
            asked = await _macro_text(system, kind, due.conversation_id, settings.name)
            text = question(desk, settings.kind, kind, customer.language if customer else None, survey_id,
                            now + surveys.expire_ms, asked=asked)
            try:
                queued = await queue_reply(system, due.conversation_id, text, channel=settings.name,
                                           force=True)
                message_id = queued.message_id
            except UserError as exc:  # opted out, or the channel would refuse: not asked, and why
                skipped = one_line(str(exc))
        async with desk.db.write() as conn:
            await store.mark_sent(desk.db, conn, survey_id, message_id, skipped,
                                  conversation_id=due.conversation_id, kind=kind, channel=settings.name,
                                  now=now)
    return survey_id


async def _macro_text(desk: Desk, kind: str, conversation_id: int, channel: str) -> str | None:
    """The text of the macro named `csat`/`nps` for this reply (its variant and language), if there is one.

    Only its text: a survey applies no actions. A macro that cannot be read or rendered is
    logged and the configured question used instead, so a typo in it never stops the survey."""
    from omnidesk.macros.library import load_library
    from omnidesk.services.macro_replies import prepare

    try:
        library = load_library(desk.settings)
        if kind not in library.macros and kind not in library.problems:
            return None
        return (await prepare(desk, library.get(kind), conversation_id, channel=channel)).text
    except UserError as exc:  # MacroError is one
        log.warning("surveys: macro %s not used: %s", kind, one_line(str(exc)))
        return None


def question(desk: Desk, channel_kind: str, kind: str, language: str | None, survey_id: int,
             expires_at: int, *, asked: str | None = None) -> str:
    """The question in the customer's language (`asked`: a macro's text, already in it): a number to
    reply with on chat, links on email; `{scale}` in a configured question places the scale."""
    if asked is None:
        surveys = desk.settings.surveys
        configured = surveys.csat_question if kind == "csat" else surveys.nps_question
        found = pick(configured or DEFAULT_QUESTIONS[kind], language, desk.settings.desk.language)
        text = found[1] if found else ""
    else:
        text = asked.strip() + ("" if "{scale}" in asked else " {scale}")
    if not capabilities(channel_kind).subject:
        return text.replace("{scale}", chat_scale(kind))
    hooks = desk.settings.webhooks
    assert hooks is not None  # config refuses surveys on email without [webhooks]
    url = f"{hooks.public_url}{MOUNT}{make_token(desk_secret(desk.data_dir), survey_id, expires_at)}"
    low, high = SCALES[kind]
    links = "\n".join(f"  {n}: {url}?r={n}" for n in range(high, low - 1, -1))
    return f"{text.replace('{scale}', '').rstrip()}\n\n{links}\n"


async def answer(desk: Desk, request: WebhookRequest) -> WebhookReply:
    """A rating link (GET, `?r=N`) or its comment form (POST): a page, and the answer stored once."""
    token = request.path.strip("/")
    now = int(request.received_at.timestamp() * 1000)
    survey_id, why = read_token(desk_secret(desk.data_dir), token, now)
    if survey_id is None:
        return _page(410 if why.endswith("expired") else 403, why, "Nothing was recorded.")
    survey = await store.get(desk.db, survey_id)
    if survey is None:
        return _page(404, "this survey is no longer here", "Nothing was recorded.")
    if request.method == "GET":
        return await _rate(desk, survey, request, now)
    if request.method == "POST":
        return await _comment(desk, survey, request, now)
    return _page(405, "this address takes a click or the comment form", "Nothing was recorded.")


async def _rate(desk: Desk, survey: store.Survey, request: WebhookRequest, now: int) -> WebhookReply:
    if survey.rating is not None:
        return _page(409, "you have already rated this", "Thank you: your first answer is the one we keep.")
    low, high = SCALES[survey.kind]
    given = parse_qs(urlsplit(request.url).query).get("r", [""])[0]
    if not given.isdigit() or not low <= int(given) <= high:
        return _page(400, f"pick a number from {low} to {high}", "Nothing was recorded.")
    if not await store.run(desk.db, store.rate, survey, int(given), now, via="link"):
        return _page(409, "you have already rated this", "Thank you: your first answer is the one we keep.")
    return _page(200, "thank you for your rating", "Anything to add? (optional)", form=True)


async def _comment(desk: Desk, survey: store.Survey, request: WebhookRequest, now: int) -> WebhookReply:
    if survey.rating is None:
        return _page(409, "please pick a rating first", "Nothing was recorded.")
    if survey.comment is not None:
        return _page(409, "we already have your comment", "Thank you.")
    try:
        form = parse_qs(request.body.decode("utf-8"), max_num_fields=5)
    except (UnicodeDecodeError, ValueError):
        return _page(400, "the form could not be read", "Nothing was recorded.")
    text = form.get("comment", [""])[0].strip()[:MAX_COMMENT]
    if not text:
        return _page(400, "the comment is empty", "Nothing was recorded.", form=True)
    reopen = desk.settings.surveys.reopen_on_question and asks_something(text)
    if not await store.run(desk.db, store.comment, survey, text, now, reopen=reopen):
        return _page(409, "we already have your comment", "Thank you.")
    return _page(200, "thank you for your comment", "We will answer your question soon." if reopen else "")


def _page(status: int, title: str, line: str, *, form: bool = False) -> WebhookReply:
    """A small self-contained page; every word is escaped (a reason may quote what we were sent)."""
    body = (f"<!doctype html><html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title></head>"
            f"<body><h1>{html.escape(title[:1].upper() + title[1:])}</h1><p>{html.escape(line)}</p>")
    if form:
        body += ("<form method=\"post\"><textarea name=\"comment\" rows=\"5\" cols=\"60\" maxlength=\""
                 f"{MAX_COMMENT}\"></textarea><br><button type=\"submit\">Send</button></form>")
    return WebhookReply(status=status, body=(body + "</body></html>\n").encode(),
                        content_type="text/html; charset=utf-8")
