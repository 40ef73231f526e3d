"""Errors meant for the person at the keyboard: a clear message, no traceback."""

from __future__ import annotations


def shown(value: str, limit: int = 40) -> str:
    """`value` quoted for an error message, cut to `limit` characters (5,000 typed digits are not news)."""
    return repr(value if len(value) <= limit else value[: limit - 1] + "…")


class UserError(Exception):
    """Something the user asked for cannot be done; the message says why.

    The CLI prints the message and exits with `exit_code` (1 by default).
    """

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class UsageError(UserError):
    """A value typed on the command line has the wrong form: exit 2, like the option parser's errors."""

    exit_code = 2


class NotFound(UserError):
    """A conversation, customer, agent or channel named by the user does not exist."""


class ConfigError(UserError):
    """The configuration file is wrong: the message names the file and the key."""


class ChannelRefusal(UserError):
    """The reply's channel would refuse it (its `reply_refusal`: WhatsApp's 24-hour window); nothing
    was queued. `templates` names the channel's approved templates a reply may be sent as instead."""

    def __init__(self, message: str, templates: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.templates = templates


class ReplyCollision(UserError):
    """Another agent replied after the acting agent last read the conversation.

    `queue_reply(..., force=True)` sends anyway; the console asks first, the CLI
    asks on a terminal and refuses without `--force` in a script.
    """

    def __init__(self, conversation_id: int, agents: list[str]) -> None:
        who = " and ".join(agents) if len(agents) <= 2 else f"{', '.join(agents[:-1])} and {agents[-1]}"
        super().__init__(f"{who} replied to #{conversation_id} after you last read it")
        self.conversation_id = conversation_id
        self.agents = agents
