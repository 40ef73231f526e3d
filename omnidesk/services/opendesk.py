"""Open a desk from configuration: settings, database, agents, channels, acting agent.

The CLI, the TUI and the sync daemon all start here, so they agree on where
the config and the database are and on who is acting.
"""

from __future__ import annotations

import os
from pathlib import Path

from omnidesk.desk import Desk
from omnidesk.errors import ConfigError, UserError
from omnidesk.model import Agent
from omnidesk.settings import AgentSettings, Settings

DB_NAME = "omnidesk.db"


def load_config(config: Path | None = None) -> Settings:
    """Settings from `--config`/$OMNIDESK_CONFIG/the default file; defaults if none exists.

    A file that was named explicitly must exist; the default location may be
    empty (a fresh machine runs `omnidesk list` on an empty desk).
    """
    from omnidesk import config as cfg

    path = cfg.find_config(config)
    if not path.exists() and not cfg.config_is_explicit(config):
        return Settings()
    return cfg.load_settings(path)


async def open_desk(config: Path | None = None, *, as_agent: str | None = None,
                    data_dir: Path | None = None, read_only: bool = False) -> Desk:
    """Load the config and open `<data_dir>/omnidesk.db` (migrated, agents/channels synced).

    `as_agent` must name a known agent, and only an admin (or anyone on a desk of one
    agent) may name another than themselves. Without it the agent configured for
    $USER acts, or nobody (None): reading needs no agent, mutating commands check.
    `read_only` opens a `ReadOnlyDatabase` (store/readonly.py), which raises
    `NeedsWriter` where the full open would migrate or write the config.
    """
    return await open_desk_from_settings(load_config(config), as_agent=as_agent, data_dir=data_dir,
                                         read_only=read_only)


async def open_desk_from_settings(settings: Settings, *, as_agent: str | None = None,
                                  data_dir: Path | None = None, read_only: bool = False) -> Desk:
    from omnidesk.config import data_dir_for
    from omnidesk.store.sqlitefile import SCHEMA_VERSION

    directory = Path(data_dir) if data_dir is not None else data_dir_for(settings)
    # Migrate only when behind: a read-only command then takes no write lock at all,
    # so `omnidesk list` never queues behind the sync daemon's transactions.
    if read_only:
        from omnidesk.store.readonly import ReadOnlyDatabase

        db = ReadOnlyDatabase.open(directory / DB_NAME)
    else:
        db = await _open_db(directory / DB_NAME)
    try:
        if await db.user_version() != SCHEMA_VERSION:
            await db.migrate()
        desk = Desk(db=db, settings=settings, data_dir=directory)
        await _sync_config(desk)
        agent, via = await _acting_agent(desk, as_agent)
        db.via_agent_id = via.id if via is not None else None
        return desk.as_agent(agent)
    except BaseException:
        await db.close()
        raise


async def _open_db(path: Path):  # -> Database
    """Open the file, turning "cannot create/open/read it" into one clear UserError."""
    import sqlite3

    from omnidesk.store.db import Database

    try:
        return await Database.open(path, migrate=False)
    except PermissionError as exc:
        raise UserError(f"{path}: permission denied ({exc.strerror})",
                        hint="set desk.data_dir in the config to a directory you can write") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot create the database: {exc.strerror}") from None
    except sqlite3.DatabaseError as exc:
        raise UserError(f"{path}: cannot open the database: {exc}",
                        hint="`omnidesk doctor` checks it; restore a backup if the file is damaged") from None


async def _sync_config(desk: Desk) -> None:
    """Configured agents and channels exist as rows (idempotent upserts)."""
    settings = desk.settings
    if settings.agents:
        from omnidesk.store.agents import list_agents, sync_agents

        wanted = [_normalised(a, settings) for a in settings.agents]
        stored = {a.name: a for a in await list_agents(desk.db)}
        if any(not _agent_matches(stored.get(a.name), a) for a in wanted):
            await sync_agents(desk.db, wanted)
    if settings.channels:
        from omnidesk.store.channels import ensure_channel

        for channel in settings.channels:
            await ensure_channel(desk.db, channel.name, channel.kind, channel.address)


def _normalised(agent: AgentSettings, settings: Settings) -> AgentSettings:
    """`agent` with its identities in stored form; a bad one is a ConfigError naming it."""
    if not agent.identities:
        return agent  # most agents: and the read path need not import phonenumbers
    from omnidesk.customers.identity import InvalidIdentity, normalise

    pairs = []
    for kind, address in agent.identities:
        try:
            pairs.append((kind, normalise(kind, address)))
        except InvalidIdentity as exc:
            where = settings.source or "config"
            raise ConfigError(f"{where}: agents {agent.name!r}: {kind}: {exc}") from None
    return agent._replace(identities=tuple(sorted(set(pairs))))


def _agent_matches(stored: Agent | None, wanted: AgentSettings) -> bool:
    email = [("email", wanted.email.strip().lower())] if wanted.email and wanted.email.strip() else []
    return stored is not None and (
        stored.display_name, stored.email, stored.os_user, tuple(stored.skills), tuple(stored.teams),
        set(stored.identities), stored.capacity, stored.role,
    ) == (wanted.display_name, wanted.email, wanted.os_user, tuple(wanted.skills), tuple(wanted.teams),
          {*email, *wanted.identities}, wanted.capacity, wanted.role)


def _os_user() -> str | None:
    """$USER, else $LOGNAME, else the password database (cron and some SSH sessions set neither)."""
    user = os.environ.get("USER") or os.environ.get("LOGNAME")
    if user:
        return user
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


async def _acting_agent(desk: Desk, as_agent: str | None) -> tuple[Agent | None, Agent | None]:
    """(who acts, the admin acting as them or None).

    Who you are is the agent whose `os_user` is your OS user. `--as NAME` names
    another only for an admin (every event then says "admin acting as NAME"), or on
    a desk with a single active agent; a deactivated agent cannot act at all.
    """
    from omnidesk.store.agents import agent_by_os_user

    os_user = _os_user()
    # The lenient lookup, without importing the whole service layer: reads stay quick to start.
    me = await agent_by_os_user(desk.db, os_user) if os_user else None
    if as_agent is None:
        return _active(me), None
    from omnidesk.services import services

    target = await services.resolve_agent(desk, as_agent, os_user)
    if me is not None and me.id == target.id:
        return _active(me), None
    if me is None:
        from omnidesk.store.agents import active_count

        if target.active and await active_count(desk.db) == 1:
            return target, None  # a desk of one: --as can only name that one
        raise UserError(
            f"--as {as_agent}: OS user {os_user!r} is not an agent of this desk, and only an admin "
            "may act as another agent",
            hint=f"an admin adds you: `omnidesk agent add NAME --os-user {os_user}`, or an [[agents]] "
            f"entry with os_user = {os_user!r} in the config",
        )
    from omnidesk.permissions import require

    require(_active(me), "agent.act_as")
    return _active(target), me


def _active(agent: Agent | None) -> Agent | None:
    """`agent`, unless it is deactivated: then a UserError, since it cannot act."""
    if agent is not None and not agent.active:
        raise UserError(f"agent {agent.name} is deactivated and cannot act",
                        hint=f"an admin runs `omnidesk agent reactivate {agent.name}`")
    return agent
