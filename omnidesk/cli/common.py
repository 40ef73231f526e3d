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
import errno
import io
import os
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

import typer
from typer.core import TyperGroup

from omnidesk.errors import UsageError, UserError, shown
from omnidesk.limits import MAX_ID, MAX_LIMIT, id_value

if TYPE_CHECKING:
    from omnidesk.desk import Desk
    from omnidesk.model import Agent

T = TypeVar("T")

#: Exit codes (documented in docs/cli.md): 0 ok, 1 user error, 2 usage (click's own), 130 Ctrl-C.
EXIT_OK = 0
EXIT_USER = 1
EXIT_USAGE = 2
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
    """Point fd 1 at /dev/null, so the interpreter's last flush of what is buffered cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _fd_identity(fd: int | None) -> tuple[int, int] | None:
    """(device, inode) of an open fd, or of /dev/null for None; None when it cannot be read."""
    try:
        st = os.fstat(fd) if fd is not None else os.stat(os.devnull)
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino


class _ClosedOutput(io.TextIOBase):
    """sys.stdout of a process started with it closed (`omnidesk list >&-`): a write is an error."""

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, "standard output is closed")

    def isatty(self) -> bool:
        return False


def _reserve_closed_stdout() -> None:
    """Started with fd 1 closed: put /dev/null there, so no file opened later (the database)
    becomes fd 1, and make writing to sys.stdout fail as it should."""
    if sys.stdout is not None:
        return
    fd = os.open(os.devnull, os.O_WRONLY)
    if fd != 1:
        os.dup2(fd, 1)
        os.close(fd)
    sys.stdout = _ClosedOutput()


class OneLineErrors(TyperGroup):
    """The root command, keeping the error contract for what happens outside `run`.

    Usage errors (unknown option, a value out of range) are one line and exit 2,
    like a UserError's; a reader that left (`omnidesk --help | head -c1`) is exit
    0 and silence; any other failure to write, such as a full disk (`> /dev/full`),
    is one line and exit 1. typer's own main would draw a box for the first and a
    traceback or exit 1 for the others.
    """

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True, **extra: Any) -> Any:
        args = sys.argv[1:] if args is None else list(args)
        prog_name = prog_name or "omnidesk"
        self._main_shell_completion(extra, prog_name, complete_var)
        _reserve_closed_stdout()
        stdout_before = _fd_identity(1)
        try:
            with self.make_context(prog_name, args, **extra) as ctx:
                self.invoke(ctx)
            sys.stdout.flush()  # a full disk shows here, not in the interpreter's exit
            code = EXIT_OK
        except typer.Exit as exc:
            code = exc.exit_code
        except typer.TyperException as exc:  # click's UsageError and the like
            code = exc.exit_code
            if type(exc).__name__ != "NoArgsIsHelpError":  # `omnidesk customer`: its help is printed already
                sub = getattr(exc, "ctx", None)
                see = f" (see `{sub.command_path} --help`)" if sub is not None else ""
                _print_error(exc.format_message() + see)
        except (EOFError, typer.Abort):
            _print_error("aborted")
            code = EXIT_USER
        except KeyboardInterrupt:
            code = EXIT_INTERRUPTED
        except BrokenPipeError:
            _silence_stdout()
            code = EXIT_OK
        except SystemExit as exc:
            # rich (help, tables) answers a broken pipe by pointing fd 1 at /dev/null and exiting 1.
            gone = exc.code == 1 and stdout_before != _fd_identity(1) == _fd_identity(None)
            code = EXIT_OK if gone else exc.code
        except OSError as exc:
            _silence_stdout()
            place = exc.filename if exc.filename is not None else "cannot write the output"
            _print_error(f"{place}: {exc.strerror or exc}")
            code = EXIT_USER
        if standalone_mode:
            sys.exit(code)
        return code


@asynccontextmanager
async def desk_session(ctx: typer.Context, *, need_agent: bool = False,
                       read_only: bool = False) -> AsyncIterator[Desk]:
    """An open desk for one command (config from --config/$OMNIDESK_CONFIG, agent from --as).

    With `need_agent`, fail unless an acting agent is known (mutating commands);
    `read_only` is `run_read`'s first attempt.
    """
    from omnidesk.services.opendesk import open_desk

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


def no_terminal(what: str, hint: str) -> typer.Exit | None:
    """Refuse a full-screen `what` where nobody can see it (SSH without -t, cron, a pipe):
    one line on stderr and the Exit (2) to raise; None when there is a terminal."""
    if is_tty():
        return None
    return fail(f"no terminal for {what}; {hint}", code=EXIT_USAGE)


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


_ID_FORMS = {"conversation": "a number like 123 or #123", "message": "a number, see `omnidesk outbox list`"}


def parse_id(value: str, what: str = "conversation") -> int:
    """A conversation, customer or message id as typed (`123`; `#123` for conversations).

    Anything else, or an id past MAX_ID, is a UsageError (exit 2) naming the value.
    """
    text = value.strip()
    if what == "conversation":
        text = text.removeprefix("#")
    if not (text.isascii() and text.isdigit()):
        raise UsageError(f"not a {what} id: {shown(value)} (expected {_ID_FORMS.get(what, 'a number')})")
    number = id_value(text)
    if number is None:
        raise UsageError(f"{what} id out of range: {shown(value)} (expected 1 to {MAX_ID})")
    return number


def id_parser(what: str) -> Callable[[str], int]:
    """`parse_id` as a typer `parser=` for an option or argument that is only an id."""

    def parse(value: str) -> int:
        try:
            return parse_id(value, what)
        except UsageError as exc:
            raise typer.BadParameter(str(exc)) from None

    return parse


def limit_option(help: str) -> Any:
    """The `--limit/-L N` option of the listing commands: 1 to MAX_LIMIT, default 50."""
    return typer.Option(50, "--limit", "-L", min=1, max=MAX_LIMIT, help=help)


def parse_ids(values: Sequence[str]) -> list[int]:
    """Conversation ids as typed: `123` or `#123`, duplicates dropped, order kept."""
    return list(dict.fromkeys(parse_id(value) for value in values))


async def target_ids(desk: Desk, ids: Sequence[str], query: str | None) -> list[int]:
    """The conversations a mutating command acts on: explicit ids, or every match of --query."""
    if ids and query:
        raise UserError("give conversation ids or --query, not both")
    if query is not None:
        from omnidesk.conversations import reads

        found = await reads.conversation_ids(desk, query)
        if not found:
            raise UserError(f"no conversation matches {query!r}")
        return found
    if not ids:
        raise UserError("no conversation given", hint="pass ids like 12 #13, or --query 'status:open ...'")
    return parse_ids(ids)
