"""Who a reply-all copies on each route, and what is worth copying from a conversation."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from omnidesk.model import Conversation
from omnidesk.tui.widgets.composer import Route
from omnidesk.tui.widgets.picker import Choice

_ORDER_NUMBER = re.compile(r"(?:order|rendelés|订单|سفارش|buyurtma)?\s*#?\b([A-Z]{0,3}-?\d{5,})\b", re.I)


def with_reply_all_cc(routes: list[Route], conversation: Conversation, channels: list[Any]) -> list[Route]:
    """The routes with who a reply-all would copy on each (as omnidesk.services.replies computes it)."""
    from omnidesk.services.replies import address_text, reply_all_cc

    parent = next((m for m in reversed(conversation.messages) if m.direction == "in"), None)
    if parent is None:
        return routes
    ours = [c.address or "" for c in channels]
    return [
        replace(
            route,
            cc=tuple(
                address_text(a.address, a.display_name)
                for a in reply_all_cc(
                    parent.author_address,
                    parent.author_name,
                    parent.recipients,
                    route.to,
                    route.address_kind,
                    ours,
                )
            ),
        )
        for route in routes
    ]


def copy_choices(conversation: Conversation) -> list[Choice]:
    """Things worth copying: the link, the customer's addresses, order numbers in the text."""
    choices = [Choice(f"#{conversation.summary.id}", f"#{conversation.summary.id}", "conversation")]
    for identity in conversation.customer.identities:
        choices.append(Choice(identity.address, identity.address, identity.kind))
    seen: set[str] = set()
    for message in conversation.messages:
        for match in _ORDER_NUMBER.finditer(message.text):
            number = match.group(1)
            if number not in seen:
                seen.add(number)
                choices.append(Choice(number, number, "number in a message"))
    return choices


def _downloads() -> Path:
    try:
        from platformdirs import user_downloads_dir

        return Path(user_downloads_dir())
    except Exception:
        return Path.home() / "Downloads"
