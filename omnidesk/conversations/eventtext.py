"""Event rows as human sentences, for the TUI timeline and `omnidesk show`.

One place words every `events.kind` of omnidesk/eventkinds.py ("chen tagged +bug",
"status open → resolved", "alice queued a reply via support to ann@x"), so the
two surfaces never disagree. Pure: no textual, no I/O. Values come from the
store and may hold a stranger's text (tag names, addresses), so every value is
folded by `omnidesk.textsafe.one_line` and the result is a plain str for the
caller to put into `rich.text.Text` (never markup).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, tzinfo
from typing import Any

from omnidesk.model import Event, Message
from omnidesk.textsafe import one_line
from omnidesk.timeutil import local

#: The longest a single value (tag, address, name) may take in a sentence.
_MAX_VALUE = 60


def _v(value: object) -> str:
    """One value, inert and short."""
    text = one_line(str(value))
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…"


def _get(value: object, key: str) -> Any:
    return value.get(key) if isinstance(value, dict) else None


def _when(ms: object, tz: tzinfo) -> str:
    if not isinstance(ms, int) or isinstance(ms, bool):
        return "?"
    return local(ms, tz).strftime("%Y-%m-%d %H:%M")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


class _Ctx:
    """What a wording needs besides the event: channel names and the agent's timezone."""

    def __init__(self, channels: Mapping[int, str], tz: tzinfo) -> None:
        self.channels = channels
        self.tz = tz

    def channel(self, after: object) -> str | None:
        name = _get(after, "channel")
        if name:
            return _v(name)
        cid = _get(after, "channel_id")
        if isinstance(cid, int) and cid in self.channels:
            return _v(self.channels[cid])
        return None


def _created(who: str, e: Event, c: _Ctx) -> str:
    via = c.channel(e.after)
    line = "conversation started" + (f" via {via}" if via else "")
    if e.agent:
        line = f"{who} started this conversation" + (f" via {via}" if via else "")
    linked = _get(e.after, "linked_to")
    if isinstance(linked, int):
        line += f" (follows #{linked})"
    return line


def _assigned(who: str, e: Event, c: _Ctx) -> str:
    target, team = _get(e.after, "assignee"), _get(e.after, "team")
    old_team = _get(e.before, "team")
    if target:
        line = f"{who} assigned this to {_v(target)}"
    elif team and team != old_team:
        line = f"{who} assigned this to team {_v(team)}"
        team = None
    else:
        line = f"{who} unassigned this"
    if team:
        line += f" (team {_v(team)})"
    return line


def _tagged(who: str, e: Event, c: _Ctx) -> str:
    old = [str(t) for t in _get(e.before, "tags") or ()]
    new = [str(t) for t in _get(e.after, "tags") or ()]
    changes = [f"+{_v(t)}" for t in new if t not in old] + [f"-{_v(t)}" for t in old if t not in new]
    return f"{who} tagged {' '.join(changes)}" if changes else f"{who} left the tags unchanged"


def _status(who: str, e: Event, c: _Ctx) -> str:
    old, new = _get(e.before, "status"), _get(e.after, "status")
    if new == "snoozed":
        line = f"{who} snoozed this until {_when(_get(e.after, 'snoozed_until'), c.tz)}"
    elif old == "snoozed" and new == "open" and _get(e.after, "reason"):
        return "snooze ended: open again"
    else:
        line = f"status {_v(old or '?')} → {_v(new or '?')}"
        if e.agent:
            line = f"{who} changed status {_v(old or '?')} → {_v(new or '?')}"
    return line


def _priority(who: str, e: Event, c: _Ctx) -> str:
    old, new = _get(e.before, "priority"), _get(e.after, "priority")
    line = f"{who} set priority {_v(new or '?')}"
    if old is not None:
        line = f"{who} changed priority {_v(old)} → {_v(new or '?')}"
    return line


def _reopened(who: str, e: Event, c: _Ctx) -> str:
    old = _get(e.before, "status")
    return "reopened by a new message" + (f" (was {_v(old)})" if old else "")


def _channel_switched(who: str, e: Event, c: _Ctx) -> str:
    new, old = c.channel(e.after), c.channel(e.before)
    return f"the customer continued via {new or 'another channel'}" + (f" (was {old})" if old else "")


def _linked(who: str, e: Event, c: _Ctx) -> str:
    other = _get(e.after, "conversation_id")
    return f"linked to #{other}" if isinstance(other, int) else "linked to another conversation"


def _reply_queued(who: str, e: Event, c: _Ctx) -> str:
    via, to = c.channel(e.after), _get(e.after, "to")
    return f"{who} queued a reply" + (f" via {via}" if via else "") + (f" to {_v(to)}" if to else "")


def _reply_retried(who: str, e: Event, c: _Ctx) -> str:
    error = _get(e.before, "error")
    return f"{who} retried a failed reply" + (f" ({_v(error)})" if error else "")


_REPORT_STATES = {"failed": "could not be delivered", "delayed": "is delayed", "delivered": "was delivered",
                  "relayed": "was relayed", "expanded": "was delivered"}


def _delivery_report(who: str, e: Event, c: _Ctx) -> str:
    state = str(_get(e.after, "state") or "failed")
    line = "a reply " + _REPORT_STATES.get(state, f"got a delivery report ({_v(state)})")
    recipients = _get(e.after, "recipients")
    if isinstance(recipients, list) and recipients:
        line += " to " + ", ".join(_v(r) for r in recipients[:3]) + (" …" if len(recipients) > 3 else "")
    reason = _get(e.after, "reason")
    return line + (f": {_v(reason)}" if reason else "")


_DELIVERY_STATES = {"queued": "is queued on the channel", "sent": "was sent", "delivered": "was delivered",
                    "read": "was read", "undelivered": "could not be delivered", "failed": "failed"}


def _delivery_changed(who: str, e: Event, c: _Ctx) -> str:
    state = str(_get(e.after, "delivery") or "?")
    line = "a reply " + _DELIVERY_STATES.get(state, f"is now {_v(state)}")
    words = " ".join(str(w) for w in (_get(e.after, "code"), _get(e.after, "detail")) if w)
    return line + (f": {_v(words)}" if words else "")


def _message_edited(who: str, e: Event, c: _Ctx) -> str:
    old = _get(e.before, "text")
    return "a message was edited" + (f"; it said: {_v(old)}" if isinstance(old, str) and old else "")


def _call_logged(who: str, e: Event, c: _Ctx) -> str:
    direction = "an incoming" if _get(e.after, "direction") == "in" else "an outgoing"
    seconds = _get(e.after, "duration_seconds")
    length = f" ({seconds // 60}:{seconds % 60:02d})" if isinstance(seconds, int) else ""
    return f"{who} logged {direction} call{length}"


def _merged(who: str, e: Event, c: _Ctx) -> str:
    source = _get(e.after, "source")
    moved = _get(e.after, "message_ids")
    line = f"{who} merged " + (f"#{source}" if isinstance(source, int) else "a conversation") + " into this"
    if isinstance(moved, list):
        line += f" ({_plural(len(moved), 'message')})"
    return line


def _merged_into(who: str, e: Event, c: _Ctx) -> str:
    return f"{who} merged this into #{_get(e.after, 'merged_into')}"


def _unmerged(who: str, e: Event, c: _Ctx) -> str:
    target = _get(e.before, "merged_into")
    if isinstance(target, int):
        return f"{who} undid the merge into #{target}"
    source = _get(e.before, "source")
    return f"{who} split #{source} back out" if isinstance(source, int) else f"{who} undid a merge"


def _message_moved(who: str, e: Event, c: _Ctx) -> str:
    src, dst = _get(e.before, "conversation_id"), _get(e.after, "conversation_id")
    return f"{who} moved a message from #{src} to #{dst}"


def _customer_merged(who: str, e: Event, c: _Ctx) -> str:
    name = _get(e.before, "source_name")
    source = _get(e.after, "source")
    label = _v(name) if name else f"customer {source}"
    return f"{who} merged {label} into this customer"


def _customer_unmerged(who: str, e: Event, c: _Ctx) -> str:
    return f"{who} split customer {_get(e.before, 'source')} back out"


def _customer_changed(who: str, e: Event, c: _Ctx) -> str:
    old, new = _get(e.before, "customer_id"), _get(e.after, "customer_id")
    return f"{who} moved this from customer {old} to customer {new}"


#: How an identity kind is named in a sentence ("the phone number shared on Telegram").
_IDENTITY_WORDS = {"email": "email address", "phone": "phone number", "slack": "Slack user",
                   "telegram": "Telegram user", "mastodon": "Mastodon handle"}
_CHANNEL_WORDS = {"email": "email", "phone": "the phone", "slack": "Slack", "telegram": "Telegram",
                  "mastodon": "Mastodon"}


def switch_line(channel_name: str | None, channel_kind: str | None, was: str | None) -> str:
    """The separator a customer's timeline shows where they moved: `→ now on Telegram (tg), was support`."""
    word = _CHANNEL_WORDS.get(str(channel_kind), _v(channel_kind or "another channel"))
    line = f"→ now on {word}" + (f" ({_v(channel_name)})" if channel_name else "")
    return line + (f", was {_v(was)}" if was else "")


def _identity(kind: object, address: object) -> str:
    return f"{_IDENTITY_WORDS.get(str(kind), f'{_v(kind)} identity')} {_v(address)}"


def _shared_on(e: Event) -> str:
    kind = str(_get(e.after, "channel_kind"))
    return _CHANNEL_WORDS.get(kind, _v(kind))


def _identity_linked(who: str, e: Event, c: _Ctx) -> str:
    a = e.after
    by = _IDENTITY_WORDS.get(str(_get(a, "by_kind")), "identity")
    return (f"{_identity(_get(a, 'kind'), _get(a, 'address'))} linked to this customer by the {by} "
            f"shared on {_shared_on(e)} ({_v(_get(a, 'by_address'))})")


def _identity_added(who: str, e: Event, c: _Ctx) -> str:
    a = e.after
    identity = _identity(_get(a, "kind"), _get(a, "address"))
    if e.agent:
        return f"{who} added the {identity}"
    return f"{identity} added to this customer, shared on {_shared_on(e)}"


def _consent(e: Event, what: str) -> str:
    identity = _identity(_get(e.after, "kind"), _get(e.after, "address"))
    return f"{identity} {what}"


def _survey_kind(e: Event) -> tuple[str, int]:
    """("CSAT", 5) or ("NPS", 10): the survey's name and its top rating."""
    return ("CSAT", 5) if _get(e.after, "kind") == "csat" else ("NPS", 10)


def _survey_sent(who: str, e: Event, c: _Ctx) -> str:
    kind = _survey_kind(e)[0]
    skipped = _get(e.after, "skipped")
    if skipped:
        return f"the {kind} survey was not sent: {_v(skipped)}"
    return f"the customer was asked for a {kind} rating via {_v(_get(e.after, 'channel'))}"


def _survey_answered(who: str, e: Event, c: _Ctx) -> str:
    kind, top = _survey_kind(e)
    return f"the customer rated this {_v(_get(e.after, 'rating'))}/{top} ({kind})"


def _identity_removed(who: str, e: Event, c: _Ctx) -> str:
    return f"{who} removed the {_identity(_get(e.before, 'kind'), _get(e.before, 'address'))}"


def _customer_set(who: str, e: Event, c: _Ctx) -> str:
    field, new, old = _get(e.after, "field"), _get(e.after, "value"), _get(e.before, "value")
    line = f"{who} set {_v(field)} " + (_v(new) if new is not None else "(none)")
    if _get(e.after, "manual") is False:
        line = f"{who} let detection set the language" + (f" (now {_v(new)})" if new else "")
    return line + (f" (was {_v(old)})" if old is not None and old != new else "")
_TARGET_WORDS = {"first_response": "first response", "next_response": "next response",
                 "resolution": "resolution"}


def _sla(stage: str) -> Callable[[str, Event, _Ctx], str]:
    def word(who: str, e: Event, c: _Ctx) -> str:
        a = e.after
        if not isinstance(a, dict):
            raise TypeError("no details")
        target = _TARGET_WORDS.get(str(a["target"]), _v(a["target"]))  # KeyError: the generic line
        text = f"the {target} target of SLA policy '{_v(a['policy'])}' {stage}"
        if _get(a, "due_at") is not None:
            text += f" (due {_when(_get(a, 'due_at'), c.tz)})"
        notify = _get(a, "notify") or []
        return text + (f"; told {', '.join(_v(n) for n in notify)}" if notify else "")

    return word


_WORDING: dict[str, Callable[[str, Event, _Ctx], str]] = {
    "created": _created,
    "assigned": _assigned,
    "tagged": _tagged,
    "status": _status,
    "priority": _priority,
    "reopened": _reopened,
    "linked": _linked,
    "channel_switched": _channel_switched,
    "note": lambda who, e, c: f"{who} added an internal note",
    "note_removed": lambda who, e, c: f"{who} removed an internal note",
    "reply_queued": _reply_queued,
    "reply_cancelled": lambda who, e, c: f"{who} cancelled a queued reply",
    "reply_retried": _reply_retried,
    "delivery_report": _delivery_report,
    "delivery_changed": _delivery_changed,
    "message_edited": _message_edited,
    "message_deleted": lambda who, e, c: "a message was deleted on its channel (its text is kept)",
    "opted_out": lambda who, e, c: _consent(e, "opted out of messages (STOP): nothing is sent to it"),
    "opted_in": lambda who, e, c: _consent(e, "opted in to messages again (START)"),
    "survey_sent": _survey_sent,
    "survey_answered": _survey_answered,
    "survey_commented": lambda who, e, c: f"the customer commented: {_v(_get(e.after, 'comment'))}",
    "call_logged": _call_logged,
    "merged": _merged,
    "merged_into": _merged_into,
    "unmerged": _unmerged,
    "message_moved": _message_moved,
    "customer_merged": _customer_merged,
    "customer_unmerged": _customer_unmerged,
    "customer_changed": _customer_changed,
    "agent_added": lambda who, e, c: f"{who} added agent {_v(_get(e.after, 'agent') or '?')}",
    "agent_deactivated": lambda who, e, c: f"{who} deactivated agent {_v(_get(e.after, 'agent') or '?')}",
    "agent_reactivated": lambda who, e, c: f"{who} reactivated agent {_v(_get(e.after, 'agent') or '?')}",
    "customer_exported": lambda who, e, c: f"{who} exported everything held about this customer",
    "customer_erased": lambda who, e, c: f"{who} erased this customer's personal data",
    "retention_applied": lambda who, e, c: (
        f"{who} applied the retention policy: raw bytes of "
        f"{_plural(int(_get(e.after, 'raw') or 0), 'message')}, "
        f"{_plural(int(_get(e.after, 'conversations') or 0), 'conversation')}"),
    "role_changed": lambda who, e, c: (f"{who} made {_v(_get(e.after, 'agent') or '?')} "
                                       f"{_v(_get(e.after, 'role') or '?')}"
                                       f" (was {_v(_get(e.before, 'role') or '?')})"),
    "identity_linked": _identity_linked,
    "identity_added": _identity_added,
    "identity_removed": _identity_removed,
    "customer_set": _customer_set,
    "sla_warning": _sla("is due soon"),
    "sla_breached": _sla("was breached"),
    "auto_acknowledged": lambda who, e, c: "acknowledged automatically"
    + (f" with macro '{_v(_get(e.after, 'macro'))}'" if _get(e.after, "macro") else ""),
}

#: Events whose message is already in a timeline: showing both would say it twice.
MESSAGE_EVENTS = frozenset({"note", "call_logged", "reply_queued"})

#: Every kind with its own sentence (tests check each one is worded).
KNOWN_KINDS = frozenset(_WORDING)


def copied(m: Message) -> list[str]:
    """`cc: a, b` and (on our replies) `bcc: c` lines, inert, for both timelines."""
    lines = []
    for role in ("cc", "bcc"):
        people = [r.get("address", "") for r in m.recipients if r.get("role") == role and r.get("address")]
        if people:
            lines.append(f"{role}: " + ", ".join(_v(a) for a in people))
    return lines


def message_marks(m: Message) -> list[str]:
    """What a timeline says about a message besides its text: automated mail is not an answer,
    a message deleted or edited on its channel (with the text it had before)."""
    marks = []
    if "bounce" in m.flags:
        marks.append("delivery report from a mail server: not a customer's message")
    elif "auto-reply" in m.flags:
        marks.append("automatic reply: not counted as the customer's answer")
    if m.deleted_at is not None:
        marks.append("deleted on the channel; the text is kept for the record")
    if m.edits:
        marks.append(f"edited ({_plural(len(m.edits), 'earlier version')}); before: {_v(m.edits[-1].text)}")
    return marks


def _undo(e: Event) -> str:
    """Undo rows say so (a removed note is always one: no marker needed there)."""
    if e.kind == "note_removed" or _get(e.after, "undo_of") is None:
        return ""
    return " (undo)"


def _reason(e: Event) -> str:
    """Why a unit of work acted, when it said: "... by rule 'Hungarian billing'"."""
    return f" by {_v(e.reason)}" if e.reason else ""


def channel_names(messages: Iterable[Message]) -> dict[int, str]:
    """Channel id -> name, from the messages that carry both (for `describe`'s `channels`)."""
    return {m.channel_id: m.channel_name for m in messages if m.channel_id and m.channel_name}


def describe(event: Event, *, channels: Mapping[int, str] | None = None, tz: tzinfo = UTC) -> str:
    """One plain-text sentence for an event; unknown kinds get a readable generic line.

    `channels` maps channel id -> name (ingest's `created` stores only the id).
    """
    who = _v(event.agent) if event.agent else "system"
    if event.via:
        who = f"{_v(event.via)} acting as {who}"
    wording = _WORDING.get(event.kind)
    if wording is not None:
        try:
            return wording(who, event, _Ctx(channels or {}, tz)) + _reason(event) + _undo(event)
        except (TypeError, ValueError, KeyError):  # an old or odd row: fall through to generic
            pass
    return f"{who}: {_v(event.kind.replace('_', ' '))}"
