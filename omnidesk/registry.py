"""Channel adapters by kind: the `omnidesk.adapters` entry-point group, plus the built-ins.

A third-party package adds a channel by declaring an entry point
`[project.entry-points."omnidesk.adapters"] mykind = "pkg.module:MyAdapter"`;
the class is called as `MyAdapter(name, options, secret)` (adapters.base.AdapterFactory).
A kind whose messages also come as local files (`omnidesk import`) declares an
adapters.base.FileImport in the `omnidesk.importers` group, found by `importer_for`.
When omnidesk runs from a source tree without installed metadata, the
built-in kinds (email, maildir, slack, telegram, mastodon, twilio) still resolve.
"""

from __future__ import annotations

import functools
import importlib
import logging
from collections.abc import Callable, Mapping
from typing import Any

from adapters.base import (
    CHOSEN,
    WEBHOOK_URL_OPTION,
    Adapter,
    AdapterFactory,
    Capabilities,
    FileImport,
    Option,
    ReplyCheck,
    SecretResolver,
    split_text,
)
from omnidesk.errors import ConfigError
from omnidesk.settings import ChannelSettings

log = logging.getLogger(__name__)

GROUP = "omnidesk.adapters"
IMPORTERS_GROUP = "omnidesk.importers"

#: Used when the package metadata (and so its entry points) is missing.
BUILTINS: dict[str, str] = {
    "email": "adapters.email.channel:EmailAdapter",
    "maildir": "adapters.email.maildir:MaildirAdapter",
    "slack": "adapters.slack.channel:SlackAdapter",
    "telegram": "adapters.telegram.channel:TelegramAdapter",
    "twilio": "adapters.twilio.channel:TwilioAdapter",
    "mastodon": "adapters.mastodon.channel:MastodonAdapter",
}
BUILTIN_IMPORTERS: dict[str, str] = {"email": "adapters.email.files:EmailFiles"}

#: Kinds registered at run time (`register`); they win over entry points.
_registered: dict[str, AdapterFactory] = {}


def register(kind: str, factory: AdapterFactory) -> None:
    """Add (or replace) an adapter kind for this process, e.g. an embedding application's own channel."""
    _registered[kind] = factory
    capabilities.cache_clear()


def unregister(kind: str) -> None:
    _registered.pop(kind, None)
    capabilities.cache_clear()


def entry_points(group: str) -> Any:
    """The installed entry points of `group`. importlib.metadata costs ~8 ms to import, more
    than the rest of `omnidesk list`, so it is imported when a kind other than a built-in is asked for."""
    from importlib import metadata

    return metadata.entry_points(group=group)


def _load(target: str) -> Any:
    module_name, _, attr = target.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def _declared(group: str = GROUP, builtins: Mapping[str, str] = BUILTINS) -> dict[str, Callable[[], Any]]:
    """kind -> loader, from the group's entry points with the built-ins underneath."""
    loaders: dict[str, Callable[[], Any]] = {
        kind: (lambda t=target: _load(t)) for kind, target in builtins.items()
    }
    for ep in entry_points(group=group):
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
        return loaders[kind]()  # type: ignore[no-any-return]
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"the adapter for channel kind {kind!r} cannot be loaded: {exc}") from exc


def is_known(kind: str) -> bool:
    """Whether an adapter of `kind` is installed; a built-in kind is known without reading entry points."""
    return kind in _registered or kind in BUILTINS or kind in _declared()


def options_for(kind: str) -> tuple[Option, ...] | None:
    """The configuration keys `kind`'s adapter declares (`Adapter.options`); None when it declares none
    (an adapter written before declarations: its keys pass unchecked). ConfigError as `factory_for`.

    Every command reads the config, so a built-in kind's class is loaded directly: reading the
    entry points (importlib.metadata) would cost more than the rest of `omnidesk list`. A plugin
    replacing a built-in kind is built by `factory_for` but validated by the built-in declarations.
    """
    if kind in BUILTINS and kind not in _registered:
        try:
            cls = _load(BUILTINS[kind])
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"the adapter for channel kind {kind!r} cannot be loaded: {exc}") from exc
    else:
        cls = factory_for(kind)
    options = getattr(cls, "options", None)
    if options is None:
        return None
    if not all(isinstance(o, Option) for o in options):
        raise ConfigError(f"the adapter for channel kind {kind!r} declares options that are not"
                          " adapters.base.Option")
    return tuple(options)


@functools.cache
def capabilities(kind: str) -> Capabilities:
    """What channels of `kind` can do, as their adapter class declares it (cached: asked per message).

    A kind with no installed adapter (the `phone` channel of logged calls, a plugin
    since uninstalled) can do nothing: it sends nothing and addresses nobody.
    """
    declared = _class_attribute(kind, "capabilities")
    return declared if isinstance(declared, Capabilities) else Capabilities()


def _class_attribute(kind: str, name: str) -> Any:
    """`name` on the adapter class of `kind` (its declared contract members), None when the kind
    or the attribute is missing."""
    try:
        return getattr(factory_for(kind), name, None)
    except ConfigError:
        return None


def reply_parts(kind: str, text: str) -> list[str]:
    """`text` as channels of `kind` send it: the adapter class's own `split_text`, else the
    contract's split at the declared `max_length`."""
    own = _class_attribute(kind, "split_text")
    if callable(own):
        return list(own(text))
    return split_text(text, capabilities(kind).max_length)


def reply_refusal(kind: str) -> Callable[[ReplyCheck], str | None] | None:
    """The adapter class's `reply_refusal` (why it would refuse a reply), or None when it has none."""
    own = _class_attribute(kind, "reply_refusal")
    return own if callable(own) else None


def reply_choices(kind: str) -> Mapping[str, tuple[str, ...]]:
    """What an agent may choose for one reply on a `kind` channel (the adapter class's optional
    `reply_choices`: key -> allowed values, e.g. Mastodon's visibility); empty when nothing."""
    declared = _class_attribute(kind, "reply_choices")
    if not isinstance(declared, Mapping):
        return {}
    return {str(k): tuple(str(v) for v in values) for k, values in declared.items()}


def reply_templates(kind: str, options: Mapping[str, Any]) -> tuple[str, ...]:
    """The approved templates a reply on a `kind` channel configured with `options` may be sent as
    (the adapter class's optional `reply_templates`: WhatsApp's), by name; empty when none."""
    own = _class_attribute(kind, "reply_templates")
    return tuple(str(t) for t in own(options)) if callable(own) else ()


def reply_note(kind: str, text: str, context: Mapping[str, Any],
               chosen: Mapping[str, str] | None = None) -> str | None:
    """The one line the composer shows under a reply on a `kind` channel as it is typed (the adapter
    class's `reply_note`: SMS segments, Mastodon visibility and characters left), or None.

    `context` is the answered message's stored meta; `chosen` the agent's `reply_choices` for this
    reply, handed to the note in the context under `adapters.base.CHOSEN`. A note is a hint: an
    adapter that fails to make one is logged and the composer shows none, rather than the composer
    failing.
    """
    own = _class_attribute(kind, "reply_note")
    if not callable(own):
        return None
    if chosen:
        context = {**context, CHOSEN: dict(chosen)}
    try:
        note = own(text, context)
    except Exception:
        log.exception("the %s adapter's reply_note failed", kind)
        return None
    return str(note) if note else None


def importer_for(kind: str) -> FileImport:
    """How `omnidesk import` reads `kind`'s local files; ConfigError when the kind has none."""
    loaders = _declared(IMPORTERS_GROUP, BUILTIN_IMPORTERS)
    if kind not in loaders:
        raise ConfigError(f"channel kind {kind!r} has no file import installed"
                          f" (kinds with one: {', '.join(sorted(loaders))})")
    try:
        found = loaders[kind]()
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"the file import of channel kind {kind!r} cannot be loaded: {exc}") from exc
    if not isinstance(found, FileImport):
        raise ConfigError(f"the file import of channel kind {kind!r} lacks find, parse or message_id")
    return found


def _default_secret(channel: ChannelSettings) -> SecretResolver:
    from omnidesk.secrets import resolver

    return resolver(channel)


def build_adapter(channel: ChannelSettings, secret: SecretResolver | None = None,
                  webhook_url: str | None = None) -> Adapter:
    """An adapter instance for one configured channel (secrets resolved lazily by the adapter).

    `webhook_url`: the public URL the daemon's listener serves the channel at, handed to the
    adapter as the `WEBHOOK_URL_OPTION` option (adapters/base.py).
    """
    factory = factory_for(channel.kind)
    options: Mapping[str, Any] = dict(channel.options)
    if channel.address and "address" not in options:
        options = {**options, "address": channel.address}
    if webhook_url is not None:
        options = {**options, WEBHOOK_URL_OPTION: webhook_url}
    return factory(channel.name, options, secret or _default_secret(channel))
