"""Every agent action, one function each, shared by the CLI and the TUI.

Each mutating action runs in one write transaction, records an event per
conversation it changed (agent, time, before/after), and returns an
`ActionResult` that `undo` can reverse. The acting agent is `desk.agent`.
All SQL is in omnidesk/store/; this module decides, the store persists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from omnidesk.desk import Desk
from omnidesk.model import Agent, Priority, Status


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What an action changed: enough to describe it in a toast and to undo it."""

    action: str  # "assign", "tag", "status", ...
    conversation_ids: tuple[int, ...]
    event_ids: tuple[int, ...]
    description: str  # "Resolved #12", "Assigned 3 conversations to alice"
    message_id: int | None = None  # notes, replies, calls


async def assign(desk: Desk, conversation_ids: Sequence[int], assignee: str | None,
                 *, team: str | None = None) -> ActionResult:
    """Assign to an agent (by name; "me" is desk.agent) and/or a team; None unassigns."""
    raise NotImplementedError


async def tag(desk: Desk, conversation_ids: Sequence[int], add: Sequence[str] = (),
              remove: Sequence[str] = ()) -> ActionResult:
    raise NotImplementedError


async def set_status(desk: Desk, conversation_ids: Sequence[int], status: Status,
                     *, snooze_until: int | None = None) -> ActionResult:
    """open | pending | snoozed (needs snooze_until, epoch ms) | resolved | spam."""
    raise NotImplementedError


async def set_priority(desk: Desk, conversation_ids: Sequence[int], priority: Priority) -> ActionResult:
    raise NotImplementedError


async def add_note(desk: Desk, conversation_id: int, text: str) -> ActionResult:
    """An internal note: a `note` message, never sent to the customer."""
    raise NotImplementedError


async def queue_reply(desk: Desk, conversation_id: int, text: str, *, channel: str | None = None,
                      to: str | None = None, reply_all: bool = False, html: str | None = None,
                      attachments: Sequence[str] = ()) -> ActionResult:
    """Store an `out` message plus an outbox row (one transaction); the dispatcher sends it.

    By default it goes through the channel of the latest inbound message to the
    customer's identity on that channel; `channel`/`to` pick another. Sending
    waits desk.settings.desk.undo_seconds, during which `cancel_reply` stops it.
    """
    raise NotImplementedError


async def cancel_reply(desk: Desk, message_id: int) -> ActionResult:
    """Cancel a queued reply still in its undo window (or failed); error if it already left."""
    raise NotImplementedError


async def retry_reply(desk: Desk, message_id: int) -> ActionResult:
    """Queue a failed reply again, now."""
    raise NotImplementedError


async def merge_conversations(desk: Desk, source_id: int, target_id: int) -> ActionResult:
    """Move every message of source into target; source is marked merged_into target."""
    raise NotImplementedError


async def move_message(desk: Desk, message_id: int, target_conversation_id: int) -> ActionResult:
    raise NotImplementedError


async def merge_customers(desk: Desk, source_id: int, target_id: int) -> ActionResult:
    """Move identities and conversations of source to target (reversible by unmerge)."""
    raise NotImplementedError


async def unmerge_customer(desk: Desk, customer_id: int) -> ActionResult:
    """Undo the latest merge into `customer_id`: the merged customer gets back what it had."""
    raise NotImplementedError


async def log_call(desk: Desk, *, direction: str, duration_seconds: int, notes: str,
                   phone: str | None = None, customer_id: int | None = None,
                   conversation_id: int | None = None) -> ActionResult:
    """Record a phone call as a `phone` message on the customer's timeline."""
    raise NotImplementedError


async def mark_read(desk: Desk, conversation_id: int) -> None:
    """The acting agent has opened the conversation (no event: reading is not a change)."""
    raise NotImplementedError


async def undo(desk: Desk, result: ActionResult) -> ActionResult:
    """Reverse an action from its events (assign, tag, status, priority, notes, unsent replies)."""
    raise NotImplementedError


async def add_agent(desk: Desk, name: str, *, display_name: str = "", email: str | None = None,
                    os_user: str | None = None, skills: Sequence[str] = (),
                    teams: Sequence[str] = ()) -> Agent:
    raise NotImplementedError


async def resolve_agent(desk: Desk, name: str | None, os_user: str | None) -> Agent:
    """The agent named (`--as NAME`), else the one configured for os_user; UserError if none."""
    raise NotImplementedError
