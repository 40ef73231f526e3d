"""Who may do what: the roles and the one table of actions that need more than `agent`.

Roles are ordered: `agent` < `lead` < `admin`. An action missing from `PERMISSIONS`
is open to every active agent (replying, assigning, tagging, notes). The table is
what docs/security.md shows and tests/unit/test_permissions.py walks, action by
action, on the CLI and in the console. The services check it (`require`), so
both faces refuse the same things with the same line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from omnidesk.errors import UserError

if TYPE_CHECKING:
    from omnidesk.model import Agent

ROLES: tuple[str, ...] = ("agent", "lead", "admin")

#: action -> the least role that may do it.
PERMISSIONS: dict[str, str] = {
    "customer.merge": "lead",  # merge and unmerge customers
    "customer.export": "lead",
    "customer.erase": "lead",
    "audit.read": "lead",
    "retention.run": "admin",  # `omnidesk retention`, also --dry-run
    "agent.manage": "admin",  # add, deactivate, reactivate agents
    "agent.act_as": "admin",  # `--as NAME` for another agent (a desk of one agent excepted)
}

#: How each action is named in a refusal.
DESCRIPTIONS: dict[str, str] = {
    "customer.merge": "merging customers",
    "customer.export": "exporting a customer",
    "customer.erase": "erasing a customer",
    "audit.read": "reading the audit log",
    "retention.run": "running the retention policy",
    "agent.manage": "managing agents",
    "agent.act_as": "acting as another agent (--as)",
}


class PermissionDenied(UserError):
    """The acting agent's role is below what the action needs."""


def rank(role: str) -> int:
    return ROLES.index(role)


def allowed(agent: Agent | None, action: str) -> bool:
    """True when `agent` may do `action`; nobody acting (the system: timers) may do everything."""
    if agent is None:
        return True
    return rank(agent.role) >= rank(PERMISSIONS.get(action, "agent"))


def require(agent: Agent | None, action: str) -> None:
    """Raise `PermissionDenied` naming the missing role unless `agent` may do `action`."""
    if allowed(agent, action):
        return
    assert agent is not None
    needed = PERMISSIONS[action]
    roles = " or ".join(r for r in ROLES if rank(r) >= rank(needed))
    raise PermissionDenied(
        f"{DESCRIPTIONS[action]} needs the {needed} role; "
        f"{agent.name} is {_article(agent.role)} {agent.role}",
        hint=f'an admin sets role = "{needed}" for {agent.name} in the config ([[agents]]); '
        f"roles that may: {roles}",
    )


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"
