"""Channel adapters by kind: the `omnidesk.adapters` entry-point group, plus the built-ins.

A third-party package adds a channel by declaring an entry point
`[project.entry-points."omnidesk.adapters"] mykind = "pkg.module:MyAdapter"`;
the class is called as `MyAdapter(name, options, secret)` (adapters.base.AdapterFactory).
When omnidesk runs from a source tree without installed metadata, the two
built-in email kinds still resolve.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Mapping
from importlib.metadata import entry_points
from typing import Any

from adapters.base import Adapter, AdapterFactory, SecretResolver
from omnidesk.errors import ConfigError
from omnidesk.settings import ChannelSettings

log = logging.getLogger(__name__)

GROUP = "omnidesk.adapters"

#: Used when the package metadata (and so its entry points) is missing.
BUILTINS: dict[str, str] = {
    "email": "adapters.email.channel:EmailAdapter",
    "maildir": "adapters.email.maildir:MaildirAdapter",
}

#: Kinds registered at run time (`register`); they win over entry points.
_registered: dict[str, AdapterFactory] = {}


def register(kind: str, factory: AdapterFactory) -> None:
    """Add (or replace) an adapter kind for this process, e.g. an embedding application's own channel."""
    _registered[kind] = factory


def unregister(kind: str) -> None:
    _registered.pop(kind, None)


def _load(target: str) -> AdapterFactory:
    module_name, _, attr = target.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj  # type: ignore[no-any-return]


def _declared() -> dict[str, Callable[[], AdapterFactory]]:
    """kind -> loader, from entry points with the built-ins underneath."""
    loaders: dict[str, Callable[[], AdapterFactory]] = {
        kind: (lambda t=target: _load(t)) for kind, target in BUILTINS.items()
    }
    for ep in entry_points(group=GROUP):
        loaders[ep.name] = ep.load
    return loaders


def kinds() -> list[str]:
    """Every adapter kind this installation knows, sorted."""
    return sorted(set(_declared()) | set(_registered))


def factory_for(kind: str) -> AdapterFactory:
    """The adapter class for `kind`; ConfigError naming the known kinds when there is none."""
    if kind in _registered:
        return _registered[kind]
    loaders = _declared()
    if kind not in loaders:
        raise ConfigError(
            f"no channel adapter of kind {kind!r} is installed (known kinds: {', '.join(kinds())})"
        )
    try:
        return loaders[kind]()
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"the adapter for channel kind {kind!r} cannot be loaded: {exc}") from exc


def _default_secret(channel: ChannelSettings) -> SecretResolver:
    from omnidesk.secrets import resolver

    return resolver(channel)


def build_adapter(channel: ChannelSettings, secret: SecretResolver | None = None) -> Adapter:
    """An adapter instance for one configured channel (secrets resolved lazily by the adapter)."""
    factory = factory_for(channel.kind)
    options: Mapping[str, Any] = dict(channel.options)
    if channel.address and "address" not in options:
        options = {**options, "address": channel.address}
    return factory(channel.name, options, secret or _default_secret(channel))
