"""What every command module shares: global options, running a coroutine, the desk, prompts.

Every command module uses:

- `cli_state(ctx)` -> the global `--config` / `--as` options;
- `run(coro)` -> asyncio.run with omnidesk's error contract: a `UserError` prints
  one clean line on stderr and exits with its code (1), Ctrl-C exits 130;
- `run_read(command)` -> the same for a command that only reads, without an
  event loop when it can (omnidesk/store/readonly.py);
- `async with desk_session(ctx) as desk:` -> an open, migrated desk, closed after;
- `is_tty()` / `confirm_bulk(...)` -> never prompt without a terminal.

Kept light: nothing here imports the store or rich at module level, so
`omnidesk --help` and `omnidesk list --json` start fast.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

import typer

from omnidesk.errors import UserError

if TYPE_CHECKING:
    from omnidesk.desk import Desk
    from omnidesk.model import Agent

T = TypeVar("T")

#: Exit codes (documented in docs/cli.md): 0 ok, 1 user error, 2 usage (click's own), 130 Ctrl-C.
EXIT_OK = 0
EXIT_USER = 1
EXIT_INTERRUPTED = 130


class CliState(NamedTuple):
    """The global options given before the command name.

    A NamedTuple, not a dataclass: every command defines it at start-up, and a dataclass
    costs ~1 ms to define (see bench/store.py, whole-process `list`).
    """

    config_path: Path | None = None
    as_agent: str | None = None
    data_dir: Path | None = None


def cli_state(ctx: typer.Context) -> CliState:
    """The global options, wherever in the command tree `ctx` is."""
    root = ctx.find_root()
    state = root.obj
    if isinstance(state, CliState):
        return state
    return CliState()


def fail(message: str, *, hint: str | None = None, code: int = EXIT_USER) -> typer.Exit:
    """Print `omnidesk: message` on stderr and return the Exit to raise."""
    _print_error(message, hint)
    return typer.Exit(code)


def _print_error(message: str, hint: str | None = None) -> None:
    from omnidesk.textsafe import clean

    sys.stderr.write(f"omnidesk: {clean(message)}\n")
    if hint:
        sys.stderr.write(f"hint: {clean(hint)}\n")
    sys.stderr.flush()


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine; turn user errors into one line and an exit code."""
    import asyncio

    return guarded(lambda: asyncio.run(coro), cleanup=coro.close)


def run_read(command: Callable[[bool], Coroutine[Any, Any, T]]) -> T:
    """Run a reading command, `command(read_only)`, with `run`'s error contract.

    First on a `ReadOnlyDatabase` with no event loop (`read_only=True`): a one-shot
    read then skips starting asyncio and aiosqlite. If the desk needs a write first
    (a new or older database, a changed channel in the config), the command runs
    again from the start on the full database. Nothing may be printed before the
    desk is read, so the first attempt leaves no trace.
    """
    from omnidesk.store.readonly import NeedsWriter, Suspended, run_inline

    try:
        return guarded(lambda: run_inline(command(True)))
    except (NeedsWriter, Suspended):
        return run(command(False))


def guarded(fn: Callable[[], T], *, cleanup: Callable[[], object] | None = None) -> T:
    """Call `fn` (sync work such as reading stdin, which must stay outside the event loop so
    Ctrl-C interrupts it) with the same error contract as `run`."""
    try:
        return fn()
    except UserError as exc:
        _print_error(str(exc), exc.hint)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        sys.stderr.write("\nomnidesk: interrupted\n")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except BrokenPipeError:
        # `omnidesk list | head`: the reader left; that is not an error.
        _silence_stdout()
        raise typer.Exit(EXIT_OK) from None
    except Exception as exc:
        # A store that cannot be opened is the user's to fix, not a bug: say so in one line.
        from omnidesk.store.sqlitefile import StoreError

        if isinstance(exc, StoreError):
            _print_error(str(exc))
            raise typer.Exit(EXIT_USER) from None
        raise
    finally:
        if cleanup is not None:
            with contextlib.suppress(Exception):
                cleanup()  # a coroutine never awaited (fn failed first) must not warn


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


@asynccontextmanager
async def desk_session(ctx: typer.Context, *, need_agent: bool = False,
                       read_only: bool = False) -> AsyncIterator[Desk]:
    """An open desk for one command (config from --config/$OMNIDESK_CONFIG, agent from --as).

    With `need_agent`, fail unless an acting agent is known (mutating commands);
    `read_only` is `run_read`'s first attempt.
    """
    from omnidesk.opendesk import open_desk

    state = cli_state(ctx)
    desk = await open_desk(state.config_path, as_agent=state.as_agent, data_dir=state.data_dir,
                           read_only=read_only)
    try:
        if need_agent:
            require_agent(desk)
        yield desk
    finally:
        await desk.db.close()


def require_agent(desk: Desk) -> Agent:
    """The acting agent, or a UserError saying how to name one."""
    if desk.agent is None:
        user = os.environ.get("USER") or os.environ.get("LOGNAME") or "?"
        raise UserError(
            f"no agent is configured for OS user {user!r}",
            hint="pass --as NAME, or add an [[agents]] entry with os_user = "
            f"{user!r} to the config (see `omnidesk agent list`)",
        )
    return desk.agent


def _forced() -> bool | None:
    forced = os.environ.get("OMNIDESK_FORCE_TTY")
    return None if forced not in ("0", "1") else forced == "1"


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def is_tty(stream: Any = None) -> bool:
    """True when a person can answer: stdin and `stream` (default stdout) are both terminals.

    Prompts and $EDITOR need this. `OMNIDESK_FORCE_TTY=1` makes tests able to
    exercise the interactive path; `=0` forces the piped behaviour.
    """
    forced = _forced()
    if forced is not None:
        return forced
    return _isatty(sys.stdin) and _isatty(sys.stdout if stream is None else stream)


def output_is_tty() -> bool:
    """True when stdout is a terminal: pick tables and relative times (`echo x | omnidesk list`)."""
    forced = _forced()
    return forced if forced is not None else _isatty(sys.stdout)


def confirm_bulk(action: str, conversation_ids: Sequence[int], *, yes: bool,
                 preview: Sequence[str] = ()) -> None:
    """Guard a change that touches several conversations.

    One conversation, or `yes`: go ahead. Several on a TTY: show what would
    change and ask. Several without a TTY: refuse (exit 1) and say `--yes` is
    required, because nobody can answer a prompt there.
    """
    if yes or len(conversation_ids) <= 1:
        return
    count = len(conversation_ids)
    if not is_tty():
        raise UserError(
            f"{action} would change {count} conversations; "
            "--yes is required when not running interactively",
        )
    sys.stderr.write(f"{action} would change {count} conversations:\n")
    lines = list(preview) or [f"#{cid}" for cid in conversation_ids]
    for line in lines[:20]:
        sys.stderr.write(f"  {line}\n")
    if len(lines) > 20:
        sys.stderr.write(f"  ... and {len(lines) - 20} more\n")
    if not typer.confirm("Go ahead?", default=False, err=True):
        raise UserError("cancelled; nothing changed")


def parse_ids(values: Sequence[str]) -> list[int]:
    """Conversation ids as typed: `123` or `#123`, duplicates dropped, order kept."""
    ids: list[int] = []
    for value in values:
        text = value.strip().removeprefix("#")
        if not text.isdigit():
            raise UserError(f"not a conversation id: {value!r} (expected a number like 123 or #123)")
        number = int(text)
        if number not in ids:
            ids.append(number)
    return ids


async def target_ids(desk: Desk, ids: Sequence[str], query: str | None) -> list[int]:
    """The conversations a mutating command acts on: explicit ids, or every match of --query."""
    if ids and query:
        raise UserError("give conversation ids or --query, not both")
    if query is not None:
        from omnidesk import reads

        found = await reads.conversation_ids(desk, query)
        if not found:
            raise UserError(f"no conversation matches {query!r}")
        return found
    if not ids:
        raise UserError("no conversation given", hint="pass ids like 12 #13, or --query 'status:open ...'")
    return parse_ids(ids)
