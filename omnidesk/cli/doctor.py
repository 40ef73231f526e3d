"""`omnidesk doctor`: is the config valid, the database sound, every channel healthy?

Each check is `ok`, `warn` or `fail`; any `fail` makes the exit code 1, so
cron and monitoring can run it. `--connect` also logs in to every channel's
servers (the adapter's `probe`) and reports each step.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

import typer

from omnidesk.cli.common import cli_state, run
from omnidesk.cli.output import FORMAT_OPTION, JSON_OPTION, Column

if TYPE_CHECKING:
    from omnidesk.desk import Desk

CHECK_FIELDS = ("check", "status", "detail")
CHECK_COLUMNS = (Column("status", "", "str"), Column("check", "Check", "str"),
                 Column("detail", "Detail", "text"))
#: A heartbeat older than this means nobody is syncing the channel right now.
STALE_HEARTBEAT_MS = 5 * 60_000
#: `--connect`: the most one channel's probe may take, all its steps together (seconds).
PROBE_SECONDS = 60.0


@dataclass(slots=True)
class Check:
    check: str
    status: str  # ok | warn | fail
    detail: str

    def row(self) -> dict[str, str]:
        return {"check": self.check, "status": self.status, "detail": self.detail}


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor_command)


def doctor_command(ctx: typer.Context, json_flag: bool = JSON_OPTION,
                   fmt: str | None = FORMAT_OPTION,
                   connect: bool = typer.Option(False, "--connect", help="Also log in to every channel's "
                                                "servers (IMAP, SMTP) and report each step.")) -> None:
    """Check the configuration, the database (integrity, schema) and channel health."""
    run(_doctor(ctx, json_flag, fmt, connect))


async def _doctor(ctx: typer.Context, json_flag: bool, fmt: str | None, connect: bool) -> None:
    from omnidesk.cli.output import choose_format, emit

    chosen = choose_format(fmt, json_flag)
    checks = await collect(ctx, connect=connect)
    if chosen == "table":
        _print(checks)
    else:
        emit([c.row() for c in checks], chosen, fields=CHECK_FIELDS, columns=CHECK_COLUMNS)
    if any(c.status == "fail" for c in checks):
        raise typer.Exit(1)


async def collect(ctx: typer.Context, *, connect: bool = False) -> list[Check]:
    from omnidesk import config as cfg
    from omnidesk.errors import UserError
    from omnidesk.settings import Settings

    state = cli_state(ctx)
    checks: list[Check] = []
    path = cfg.find_config(state.config_path)
    settings: Settings
    if not path.exists() and not cfg.config_is_explicit(state.config_path):
        checks.append(Check("config", "warn", f"no config file at {path}; using defaults (`omnidesk init`)"))
        settings = Settings()
    else:
        try:
            settings = cfg.load_settings(path, warn=None)
        except UserError as exc:
            checks.append(Check("config", "fail", str(exc)))
            return checks
        checks.append(Check("config", "ok", f"{path}: {len(settings.agents)} agents, "
                            f"{len(settings.channels)} channels"))
        checks.extend(Check("config permissions", "warn", w) for w in cfg.permission_warnings(path, settings))
    checks.extend(_secret_checks(settings))
    checks.extend(await _store_checks(settings, state))
    if connect:
        for channel in settings.channels:
            checks.extend(await connect_checks(channel))
    return checks


async def connect_checks(channel: object) -> list[Check]:
    """Log in to the servers of one configured channel: a check per step its adapter reports."""
    import asyncio
    import contextlib

    from omnidesk.registry import build_adapter

    name = f"connect {channel.name}"  # type: ignore[attr-defined]
    try:
        adapter = build_adapter(channel)  # type: ignore[arg-type]
    except Exception as exc:  # unknown kind, bad options: the finding itself
        return [Check(name, "fail", str(exc))]
    probe = getattr(adapter, "probe", None)
    try:
        if probe is None:
            return [Check(name, "warn", f"the {channel.kind} adapter cannot test its connection")]  # type: ignore[attr-defined]
        steps = await asyncio.wait_for(probe(), PROBE_SECONDS)
    except TimeoutError:
        return [Check(name, "fail", f"no answer within {PROBE_SECONDS:.0f} s")]
    except Exception as exc:  # a probe must not raise; if one does, say so rather than crash
        return [Check(name, "fail", f"{type(exc).__name__}: {exc}")]
    finally:
        with contextlib.suppress(Exception):
            await adapter.close()
    return [Check(f"{name}: {s.step}", s.status, s.detail) for s in steps]


def _secret_checks(settings: object) -> list[Check]:
    """Where each channel's declared secrets come from; never runs a command, never shows a value.

    The first secret a kind declares is checked as `secret NAME`, others as `secret NAME.KEY`;
    a required one without a source fails, an optional one without is not mentioned.
    """
    import os

    from omnidesk.errors import UserError
    from omnidesk.registry import options_for

    checks = []
    for channel in settings.channels:  # type: ignore[attr-defined]
        options = channel.options
        try:
            declared = [o for o in options_for(channel.kind) or () if o.secret]
        except UserError:
            continue  # the config check names an adapter that cannot be loaded
        for n, secret in enumerate(declared):
            name = secret.name
            check = f"secret {channel.name}" if n == 0 else f"secret {channel.name}.{name}"
            if f"{name}_cmd" in options:
                checks.append(Check(check, "ok", f"{name} from {name}_cmd (not run by doctor)"))
            elif f"{name}_env" in options:
                var = options[f"{name}_env"]
                status = "ok" if os.environ.get(var) else "fail"
                detail = f"{name} from ${var}" + ("" if status == "ok" else " (not set in this environment)")
                checks.append(Check(check, status, detail))
            elif name in options:
                checks.append(Check(check, "warn", f"{name} written in the config file; "
                                    f"prefer {name}_cmd or {name}_env"))
            elif secret.required:
                checks.append(Check(check, "fail", f"no {name}: set {name}_cmd, {name}_env or {name}"))
    return checks


async def _store_checks(settings: object, state: object) -> list[Check]:
    from omnidesk.services.opendesk import open_desk_from_settings
    from omnidesk.store import doctor as store_doctor
    from omnidesk.store.channels import channel_health
    from omnidesk.store.filemodes import permission_warnings
    from omnidesk.store.sqlitefile import SCHEMA_VERSION
    from omnidesk.timeutil import now_ms

    checks: list[Check] = []
    try:
        desk = await open_desk_from_settings(settings, as_agent=state.as_agent)  # type: ignore[arg-type,attr-defined]
    except Exception as exc:  # any failure to open is the finding itself
        return [Check("database", "fail", f"cannot open the database: {exc}")]
    try:
        db = desk.db
        problems = await store_doctor.integrity_problems(db)
        if problems:
            checks.append(Check("database", "fail", f"{db.path}: " + "; ".join(problems[:5])))
        else:
            counts = await store_doctor.counts(db)
            checks.append(Check("database", "ok", f"{db.path}: schema {await db.user_version()}/"
                                f"{SCHEMA_VERSION}, {counts['conversations']} conversations, "
                                f"{counts['messages']} messages"))
            fk = await store_doctor.foreign_key_problems(db)
            if fk:
                checks.append(Check("foreign keys", "fail", f"{fk} rows point at missing rows"))
            failed = counts.get("outbox_failed", 0)
            if failed:
                checks.append(Check("outbox", "warn", f"{failed} failed replies (`omnidesk outbox list`)"))
        checks.extend(Check("file permissions", "warn", w) for w in permission_warnings(db.path))
        checks.extend(await _rules_checks(desk))
        if desk.agent is not None:
            checks.append(Check("agent", "ok", f"acting as {desk.agent.name}"))
        else:
            checks.append(Check("agent", "warn",
                                "no agent for this login: reading works, changes need --as NAME"))
        now = now_ms()
        configured = {c.name for c in settings.channels}  # type: ignore[attr-defined]
        for h in await channel_health(db):
            name = f"channel {h.name}"
            if h.name not in configured and not h.failing:
                continue  # e.g. "phone": made by `call log`, nothing syncs it
            if h.failing:
                checks.append(Check(name, "fail", f"last error: {h.last_error}"))
            elif h.heartbeat_at is None:
                checks.append(Check(name, "warn", "never synced (run `omnidesk sync`)"))
            elif now - h.heartbeat_at > STALE_HEARTBEAT_MS:
                minutes = (now - h.heartbeat_at) // 60000
                checks.append(Check(name, "warn", f"no heartbeat for {minutes} minutes "
                                    "(is `omnidesk sync` running?)"))
            else:
                checks.append(Check(name, "ok", f"synced by {h.runner or 'a runner'}"))
    finally:
        await desk.db.close()
    return checks


def _print(checks: list[Check]) -> None:
    from rich.console import Console
    from rich.text import Text

    from omnidesk.textsafe import one_line

    console = Console(highlight=False, markup=False, emoji=False)
    styles = {"ok": "green", "warn": "yellow", "fail": "bold red"}
    for c in checks:
        line = Text()
        line.append(f"{c.status:<4}", style=styles.get(c.status, ""))
        line.append(f"  {c.check}: ")
        line.append(one_line(c.detail))
        console.print(line)
    failed = sum(c.status == "fail" for c in checks)
    if failed:
        sys.stderr.write(f"{failed} check(s) failed\n")


async def _rules_checks(desk: Desk) -> list[Check]:
    """The routing rules file, checked as the daemon would load it, and what waits for it."""
    from omnidesk.rules.loader import RuleError
    from omnidesk.rules.routing import load_for
    from omnidesk.store.routing import pending_count

    checks = []
    try:
        rules = await load_for(desk)
    except RuleError as exc:
        checks.append(Check("rules", "fail", str(exc)))
    else:
        if rules.source is not None and rules.signature is not None:
            checks.append(Check("rules", "ok", f"{rules.source}: {len(rules.rules)} rules"))
    waiting = await pending_count(desk.db)
    if waiting:
        checks.append(Check("routing", "warn", f"{waiting} messages wait for routing (run `omnidesk sync`)"))
    return checks
