"""The omnidesk console: the Textual App, action dispatch, live updates, undo, in-process sync.

Threading rules (design principle 6): every store or network call runs in a
Textual worker that only posts messages; `@on` handlers own widget state.
Live updates come from polling `PRAGMA data_version` (cheap; changes when any
other connection commits) and collapse into one `StoreChanged` per burst.
"""

from __future__ import annotations

import gc
import inspect
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any

from rich.text import Text
from textual import work
from textual.app import App, SystemCommand
from textual.reactive import reactive
from textual.screen import Screen

from omnidesk.conversations import reads
from omnidesk.desk import Desk
from omnidesk.errors import UserError
from omnidesk.services import services
from omnidesk.tui import actions
from omnidesk.tui.messages import ActionDone, ActionFailed, HealthLoaded, StoreChanged
from omnidesk.tui.palette import ActionCommands
from omnidesk.tui.textfmt import inert_line, relative
from omnidesk.tui.widgets.picker import ConfirmScreen

#: Bulk actions over at least this many conversations ask first.
BULK_CONFIRM = 5
#: How often the store is asked whether anything changed (seconds).
POLL_SECONDS = 1.0
HEALTH_SECONDS = 5.0
#: Textual's palette commands that an action of ours already is: `quit`, and `help` (`?`) lists the keys.
SHADOWED_SYSTEM_COMMANDS = frozenset({"Quit", "Keys"})


class OmnideskApp(App[None]):
    CSS_PATH = "omnidesk.tcss"
    TITLE = "omnidesk"
    COMMANDS = App.COMMANDS | {ActionCommands}
    BINDINGS = actions.bindings("app")
    ENABLE_COMMAND_PALETTE = True

    health: reactive[Text] = reactive(Text(""), always_update=True)

    def __init__(
        self,
        desk: Desk | None = None,
        *,
        open_desk: Callable[[], Awaitable[Desk]] | None = None,
        run_sync: bool = False,
        clock: Callable[[], int] | None = None,
        poll_seconds: float = POLL_SECONDS,
        close_desk: bool = False,
        background: Sequence[Callable[[Any], Awaitable[None]]] = (),
    ) -> None:
        super().__init__()
        self.desk: Desk = desk  # type: ignore[assignment]  # set in on_mount when opened lazily
        self._open_desk = open_desk
        self._close_desk = close_desk or (desk is None)
        self.run_sync_inprocess = run_sync
        self._clock = clock
        self.poll_seconds = poll_seconds
        self.keymap: dict[str, str] = {}
        self.undo_stack: list[services.ActionResult] = []
        self.agents: list[Any] = []
        self.known_tags: set[str] = set()
        self._data_version: int | None = None
        self._polling = False
        self._started_background = False
        self._mine: set[int] | None = None
        self._sla_seen: int | None = None  # the newest event id looked at for SLA notices
        self._recently_assigned_by_me: set[int] = set()
        self._sync_stop: Any = None
        self.sync_state = "off"
        self.background = list(background)  # extra tasks given the stop event (the demo's simulator)
        self.conversation_screen: Any = None  # one ConversationScreen, reused by every open
        self.kb_pane_shown = True  # `b` in a conversation hides the knowledge-base pane for the session

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Textual's palette commands, less those the registry's actions already offer."""
        for command in super().get_system_commands(screen):
            if command.title not in SHADOWED_SYSTEM_COMMANDS:
                yield command

    # -- start and stop -------------------------------------------------------------

    def now_ms(self) -> int:
        if self._clock is not None:
            return self._clock()
        from omnidesk.timeutil import now_ms

        return now_ms()

    async def on_mount(self) -> None:
        if self.desk is None:
            assert self._open_desk is not None, "OmnideskApp needs a desk or open_desk"
            self.desk = await self._open_desk()
        self.keymap = dict(self.desk.settings.tui.keys)
        unknown = actions.unknown_ids(self.keymap)
        if unknown:
            self.notify(
                f"[tui.keys] names unknown actions: {', '.join(unknown)}", severity="warning", markup=False
            )
        self.set_keymap({k: v for k, v in self.keymap.items() if k in actions.BY_ID})
        self._data_version = await self.desk.db.data_version()
        try:  # a handful of rows, needed by the first `a` press: read before the first screen
            self.agents = list(await reads.list_agents(self.desk))
        except Exception:
            self.agents = []
        from omnidesk.tui.screens.inbox import InboxScreen

        # The first page of the inbox goes first: everything else queues behind it on the
        # one store connection, so it starts once the inbox has painted (after_first_paint).
        await self.push_screen(InboxScreen())

    def after_first_paint(self) -> None:
        """Called once by the inbox when its first rows are on screen."""
        if self._started_background:
            return
        self._started_background = True
        self.set_interval(self.poll_seconds, self._poll)
        self.set_interval(HEALTH_SECONDS, self.load_health)
        self.load_health()
        self._check_assigned()  # the baseline: later additions to "mine" are announced
        self._check_sla_notices()  # the same: SLA escalations from now on are told
        if self.run_sync_inprocess:
            self.start_sync()
        for task in self.background:
            self.run_worker(self._background(task), group="background", exit_on_error=False)
        self.run_worker(self._build_conversation_screen(), group="warm", exit_on_error=False)

    async def _build_conversation_screen(self) -> None:
        """Build the conversation screen now, off screen, so opening one only swaps its content.

        Installed, it survives being popped; `show_conversation` reuses it. Laid out at
        the terminal's size here, its first push does not lay it (and the inbox) out twice.
        The conversation under the inbox cursor is rendered into it once, hidden (`rehearse`).
        """
        from omnidesk.tui.screens.conversation import ConversationScreen

        screen = ConversationScreen()
        self.install_screen(screen, "conversation")
        # What push_screen does first for an installed screen: start it and mount its children.
        _, mounted = self._get_screen(screen)
        await mounted
        summary = getattr(self.screen, "current_summary", lambda: None)()
        if summary is not None:  # the likeliest first open
            await screen.rehearse(summary.id)
        screen._refresh_layout(self.size)
        self.conversation_screen = screen
        # What exists now (modules, styles, the inbox's pages, this screen) lives as long as
        # the app. Frozen, a full collection no longer walks it: ~50 ms less when one lands
        # in the middle of an open.
        gc.freeze()

    async def _background(self, task: Callable[[Any], Awaitable[None]]) -> None:
        import asyncio

        if self._sync_stop is None:
            self._sync_stop = asyncio.Event()
        try:
            await task(self._sync_stop)
        except Exception as exc:
            self.post_message(ActionFailed(f"background task stopped: {type(exc).__name__}: {exc}"))

    async def on_unmount(self) -> None:
        if self._sync_stop is not None:
            self._sync_stop.set()
        if self._close_desk and self.desk is not None:
            await self.desk.db.close()

    # -- dispatch (keys, palette, `:` line all come here) -------------------------------

    def contexts(self, screen: Screen[Any] | None = None) -> list[str]:
        screen = screen or self.screen
        found = ["app"]
        context = getattr(screen, "context", None)
        if context:
            found.append(context)
        composer = getattr(screen, "open_composer", lambda: None)()
        if composer is not None:
            found.append("composer")
        return found

    def owner_for(self, action: actions.Action, screen: Screen[Any]) -> Any:
        if "composer" in action.contexts:
            composer = getattr(screen, "open_composer", lambda: None)()
            if composer is not None:
                return composer
        if getattr(screen, "context", None) in action.contexts:
            return screen
        if "app" in action.contexts:
            return self
        return None

    def available_actions(self, screen: Screen[Any]) -> Iterable[actions.Action]:
        for action in actions.ACTIONS:
            owner = self.owner_for(action, screen)
            if owner is not None and action.is_available(screen):
                yield action

    async def dispatch(
        self, action_id: str, arg: str | None = None, screen: Screen[Any] | None = None
    ) -> None:
        """Run an action by id on the screen that owns it (or say why not)."""
        screen = screen or self.screen
        action = actions.BY_ID.get(action_id)
        if action is None:
            self.notify(
                f"no action named {action_id!r} (ctrl+p lists them)", severity="warning", markup=False
            )
            return
        owner = self.owner_for(action, screen)
        if owner is None:
            self.notify(f"{action_id} is not available here", severity="warning", markup=False)
            return
        if not action.is_available(screen):
            self.notify(f"{action_id}: nothing to do it on", severity="warning", markup=False)
            return
        result = getattr(owner, action.handler)(arg)
        if inspect.isawaitable(result):
            await result

    async def action_run(self, action_id: str) -> None:
        await self.dispatch(action_id, None, self.screen)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "run" and parameters:
            entry = actions.BY_ID.get(str(parameters[0]))
            if entry is not None and not entry.is_available(self.screen):
                return None
        return True

    # -- app-wide actions -----------------------------------------------------------

    def show_help(self, arg: str | None = None) -> None:
        from omnidesk.tui.screens.help import HelpScreen

        self.push_screen(HelpScreen(list(reversed(self.contexts())), self.keymap))

    def show_reports(self, arg: str | None = None) -> None:
        from omnidesk.tui.screens.reports import ReportsScreen

        if not isinstance(self.screen, ReportsScreen):
            self.push_screen(ReportsScreen())

    def open_palette(self, arg: str | None = None) -> None:
        self.action_command_palette()

    def quit_app(self, arg: str | None = None) -> None:
        self.exit()

    def open_command_line(self, arg: str | None = None) -> None:
        from omnidesk.tui.screens.command_line import CommandLineScreen

        screen = self.screen
        contexts = self.contexts(screen)

        def run(text: str | None) -> None:
            if text:
                word, _, rest = text.partition(" ")
                self.call_later(self.dispatch, word, rest.strip() or None, screen)

        self.push_screen(CommandLineScreen(contexts, self.argument_help), run)

    def argument_help(self, action_id: str, typed: str) -> list[tuple[str, str]]:
        """Completions for what follows an action id on the `:` line."""
        from omnidesk.model import PRIORITIES, STATUSES
        from omnidesk.tui.when import PRESETS

        head, _, word = typed.rpartition(" ")
        prefix = f"{head} " if head else ""
        if action_id == "filter":
            try:
                from omnidesk.query import complete
            except ImportError:
                return []
            return [(prefix + value, desc) for value, desc in complete(word)]
        if action_id == "tag":
            sign = word[:1] if word[:1] in "+-" else "+"
            stem = word.lstrip("+-")
            return [(f"{prefix}{sign}{t}", "tag") for t in sorted(self.known_tags) if t.startswith(stem)]
        options: list[tuple[str, str]] = []
        if action_id == "status":
            options = [(s, "status") for s in STATUSES]
        elif action_id == "priority":
            options = [(p, "priority") for p in PRIORITIES]
        elif action_id == "snooze":
            options = list(PRESETS)
        elif action_id == "assign":
            options = [("me", "yourself"), ("none", "unassign")]
            options += [(a.name, a.display_name) for a in self.agents]
        return [(v, d) for v, d in options if v.startswith(word)]

    def undo_last(self, arg: str | None = None) -> None:
        if not self.undo_stack:
            self.notify("nothing to undo")
            return
        last = self.undo_stack.pop()
        closed = getattr(self.screen, "undo_reply_window_closed", None)
        if last.action == "reply" and closed is not None:
            closed()  # the countdown stops showing as soon as the cancel is asked for
        self.perform(lambda: services.undo(self.desk, last), undoable=False)

    # -- running service calls ------------------------------------------------------

    def perform(
        self,
        make: Callable[[], Awaitable[Any]],
        *,
        ids: Sequence[int] = (),
        label: str = "",
        undoable: bool = True,
        advance: Callable[[], None] | None = None,
        on_result: Callable[[Any], None] | None = None,
    ) -> None:
        """Run a service call in a worker; ask first when it touches many conversations."""
        if len(ids) >= BULK_CONFIRM:

            def answered(ok: bool | None) -> None:
                if ok:
                    self._run_action(make, undoable, advance, on_result)

            self.push_screen(ConfirmScreen(f"{label or 'Change'} {len(ids)} conversations?"), answered)
            return
        self._run_action(make, undoable, advance, on_result)

    def _run_action(
        self,
        make: Callable[[], Awaitable[Any]],
        undoable: bool,
        advance: Callable[[], None] | None,
        on_result: Callable[[Any], None] | None,
    ) -> None:
        self.run_worker(
            self._action_worker(make, undoable, advance, on_result), group="actions", exit_on_error=False
        )

    async def _action_worker(
        self,
        make: Callable[[], Awaitable[Any]],
        undoable: bool,
        advance: Callable[[], None] | None,
        on_result: Callable[[Any], None] | None,
    ) -> None:
        try:
            result = await make()
        except UserError as exc:
            self.post_message(ActionFailed(str(exc) + (f" ({exc.hint})" if exc.hint else "")))
            return
        except NotImplementedError:
            self.post_message(ActionFailed("not implemented yet in this build"))
            return
        except Exception as exc:  # never let a failed action take the console down
            self.post_message(ActionFailed(f"{type(exc).__name__}: {exc}"))
            return
        message = ActionDone(result, undoable=undoable, advance=advance)
        message.on_result = on_result  # type: ignore[attr-defined]
        self.post_message(message)

    def on_action_done(self, message: ActionDone) -> None:
        result = message.result
        if isinstance(result, services.ActionResult):
            if result.action == "assign" and self.desk.agent is not None:
                self._recently_assigned_by_me.update(result.conversation_ids)
            if message.undoable and result.event_ids:
                self.undo_stack.append(result)
                del self.undo_stack[:-50]
                self.notify(f"{result.description} - u to undo", markup=False)
            else:
                self.notify(result.description, markup=False)
        callback = getattr(message, "on_result", None)
        if callback is not None:
            callback(result)
        if message.advance is not None:
            message.advance()
        # An undo brings its conversations back (into a view they had left): the cursor follows.
        restored = result.conversation_ids if getattr(result, "action", None) == "undo" else ()
        self.broadcast(StoreChanged(local=True, seek=frozenset(restored)))

    def on_action_failed(self, message: ActionFailed) -> None:
        self.notify(message.error, severity="error", markup=False, timeout=8)

    # -- live updates -----------------------------------------------------------------

    def broadcast(self, message: StoreChanged) -> None:
        for screen in self.screen_stack:
            if hasattr(screen, "on_store_changed"):
                screen.post_message(StoreChanged(local=message.local, seek=message.seek))

    def _poll(self) -> None:
        if self._polling:  # the previous check is still running: skip a beat, never pile up
            return
        self._polling = True
        # The function, not a coroutine: a console that quits first leaves none unawaited.
        self.run_worker(self._check_version, group="poll", exit_on_error=False)

    async def _check_version(self) -> None:
        try:
            version = await self.desk.db.data_version()
        finally:
            self._polling = False
        if version != self._data_version:
            self._data_version = version
            self.post_message(StoreChanged())

    def on_store_changed(self, message: StoreChanged) -> None:
        self.broadcast(message)
        self._check_assigned()
        self._check_sla_notices()

    @work(group="sla-notices", exclusive=True, exit_on_error=False)
    async def _check_sla_notices(self) -> None:
        """SLA warnings and breaches whose policy names this agent in `notify` (a team lead)."""
        if self.desk.agent is None or not self.desk.settings.sla:
            return
        from omnidesk.store import sla as store_sla

        try:
            newest, told = await store_sla.notices(self.desk.db, self.desk.agent.name, self._sla_seen)
        except Exception:
            return
        self._sla_seen = newest
        if told:
            self.call_later(self._announce_sla, told)

    def _announce_sla(self, notices: Sequence[Any]) -> None:
        for notice in notices[:5]:
            breached = notice.kind == "sla_breached"
            target = str(notice.target).replace("_", " ")
            self.notify(f"#{notice.conversation_id}: {target} {'breached' if breached else 'due soon'}"
                        f" (policy {notice.policy})", title="SLA breached" if breached else "SLA warning",
                        severity="error" if breached else "warning", markup=False)
        if len(notices) > 5:
            self.notify(f"and {len(notices) - 5} more SLA escalations", title="SLA", markup=False)

    @work(group="assigned", exclusive=True, exit_on_error=False)
    async def _check_assigned(self) -> None:
        if self.desk.agent is None:
            return
        try:
            mine = set(await reads.conversation_ids(self.desk, "assignee:me status:open"))
        except Exception:
            return
        previous, self._mine = self._mine, mine
        if previous is None:
            return
        new = sorted(mine - previous - self._recently_assigned_by_me)
        self._recently_assigned_by_me.clear()
        if new:
            self.call_later(self._announce_assigned, new)

    def _announce_assigned(self, ids: list[int]) -> None:
        names = ", ".join(f"#{i}" for i in ids[:5]) + (" ..." if len(ids) > 5 else "")
        self.notify(f"Assigned to you: {names}", title="New assignment", markup=False)
        if self.desk.settings.tui.bell_on_assign:
            self.bell()

    @work(group="agents", exit_on_error=False)
    async def _load_agents(self) -> None:
        try:
            self.agents = list(await reads.list_agents(self.desk))
        except Exception:
            self.agents = []

    # -- channel health -----------------------------------------------------------------

    def load_health(self) -> None:
        self.run_worker(self._health_worker(), group="health", exclusive=True, exit_on_error=False)

    async def _health_worker(self) -> None:
        try:
            from omnidesk.store.channels import channel_health
        except ImportError:
            return
        try:
            rows = list(await channel_health(self.desk.db))
        except Exception:
            return
        self.post_message(HealthLoaded(rows))

    def on_health_loaded(self, message: HealthLoaded) -> None:
        self.health = self.health_text(message.rows)

    def health_text(self, rows: Sequence[Any]) -> Text:
        now = self.now_ms()
        text = Text()
        if self.sync_state != "off":
            text.append(f"sync: {self.sync_state}  ", style="dim")
        for row in rows:
            name = getattr(row, "name", None) or getattr(row, "channel", None) or "?"
            error_at = getattr(row, "last_error_at", None)
            success_at = getattr(row, "last_success_at", None)
            failing = error_at is not None and (success_at is None or error_at > success_at)
            text.append_text(inert_line(str(name), style="bold"))
            if failing:
                error = getattr(row, "last_error", "") or "error"
                text.append(" ✗ ", style="bold red")
                text.append_text(inert_line(error[:60], style="red"))
                text.append(f" {_ago(error_at, now)}", style="red")
            elif success_at is not None:
                text.append(f" ✓ {_ago(success_at, now)}", style="green")
            else:
                text.append(" · never synced", style="dim")
            text.append("   ")
        return text

    # -- sync in-process ----------------------------------------------------------------

    def start_sync(self) -> None:
        import asyncio

        self._sync_stop = asyncio.Event()
        self.run_worker(self._sync_worker(), group="sync", exit_on_error=False)

    async def _sync_worker(self) -> None:
        """No live `omnidesk sync` daemon: run the same sync here, on its own connection.

        Its own connection matters: its commits then change our `data_version`
        exactly like another process's would, so live updates need no special case.
        """
        try:
            from omnidesk.services import sync
        except ImportError:
            self.sync_state = "unavailable"
            return
        from omnidesk.store.db import Database

        try:
            if await sync.daemon_running(self.desk):
                self.sync_state = "daemon"
                return
            self.sync_state = "in-process"
            db = await Database.open(self.desk.db.path)
            try:
                from omnidesk.rules.routing import Router

                synced = replace(self.desk, db=db)
                route = Router(synced).run_pending
                await sync.run_sync(synced, once=False, stop=self._sync_stop, route=route)
            finally:
                await db.close()
            self.sync_state = "stopped"
        except Exception as exc:
            self.sync_state = "failed"
            self.post_message(ActionFailed(f"sync stopped: {type(exc).__name__}: {exc}"))

    # -- $EDITOR --------------------------------------------------------------------------

    def edit_externally(self, text: str, suffix: str = ".txt") -> str | None:
        """The draft in $VISUAL/$EDITOR (as gh and Posting do); None when no editor is set."""
        from omnidesk.tui.editor import edit_in_editor

        return edit_in_editor(self, text, suffix)


def _ago(ms: int, now: int) -> str:
    age = relative(ms, now)
    return "just now" if age == "now" else f"{age} ago"
