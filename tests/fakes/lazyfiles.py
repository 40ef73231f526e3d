"""A channel whose files are only references, fetched on demand (as Telegram's getFile or Slack's
url_private): registered as kind `lazyfiles` for a test, it serves `files` and records each fetch."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any, ClassVar

from adapters.base import Batch, Capabilities, Option, Outbound, PermanentError, Receipt, SecretResolver

KIND = "lazyfiles"


class LazyFiles:
    kind: ClassVar[str] = KIND
    capabilities: ClassVar[Capabilities] = Capabilities()
    options: ClassVar[tuple[Option, ...]] = ()
    #: fetch_ref -> bytes the channel still has; a missing one has expired.
    files: ClassVar[dict[str, bytes]] = {}
    fetched: ClassVar[list[str]] = []

    def __init__(self, name: str, options: Mapping[str, Any], secret: SecretResolver) -> None:
        self.name = name

    async def fetch_attachment(self, fetch_ref: str) -> bytes:
        self.fetched.append(fetch_ref)
        if fetch_ref not in self.files:
            raise PermanentError(f"the file link {fetch_ref} has expired")
        return self.files[fetch_ref]

    async def poll(self, cursor: str | None) -> AsyncIterator[Batch]:
        return
        yield  # an async generator with nothing to give

    async def wait_for_changes(self, timeout: float) -> None:
        return None

    async def send(self, outbound: Outbound) -> Receipt:
        raise PermanentError("this channel cannot send")

    async def close(self) -> None:
        return None


def registered(files: dict[str, bytes]) -> Iterator[type[LazyFiles]]:
    """Register the kind with `files` for one test (a fixture body: `yield from registered(...)`)."""
    from omnidesk import registry

    LazyFiles.files = dict(files)
    LazyFiles.fetched = []
    registry.register(KIND, LazyFiles)
    try:
        yield LazyFiles
    finally:
        registry.unregister(KIND)
