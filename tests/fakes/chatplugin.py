"""A third party's channel kind, `chatplugin`, declaring options of every type and a secret."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from adapters.base import Capabilities, Option, SecretResolver


class ChatPlugin:
    """A third party's chat channel."""

    kind: ClassVar[str] = "chatplugin"
    capabilities: ClassVar[Capabilities] = Capabilities(addresses=frozenset({"telegram"}))
    options: ClassVar[tuple[Option, ...]] = (
        Option("token", "str", "Bot token.", required=True, secret=True),
        Option("api_url", "str", "Base URL of the API.", default="https://api.chat.example/"),
        Option("mode", "str", "How to read.", choices=("poll", "push")),
        Option("poll_seconds", "number", "Seconds between polls.", minimum=0.5, maximum=3600),
        Option("rooms", "list", "Rooms to read."),
    )

    def __init__(self, name: str, options: Mapping[str, Any], secret: SecretResolver) -> None:
        self.name = name


def registered() -> Iterator[None]:
    """Register the kind for one test (a fixture body: `yield from registered()`)."""
    from omnidesk import registry

    registry.register(ChatPlugin.kind, ChatPlugin)  # type: ignore[arg-type]
    try:
        yield
    finally:
        registry.unregister(ChatPlugin.kind)
