"""What every omnidesk screen shares: registry dispatch, and the triage handlers.

Triage handlers (assign, tag, status, snooze, priority, merge, resolve) take
their target set from `targets()` the moment the key is pressed, before any
picker opens, so the set cannot drift while the agent is choosing (alot
issues 585/719). A screen provides `targets()`, `current_id()` and
`after_resolve(ids)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from textual.screen import Screen

from omnidesk.errors import UserError, shown
from omnidesk.limits import id_value
from omnidesk.model import PRIORITIES, STATUSES
from omnidesk.services import services
from omnidesk.tui.textfmt import zone
from omnidesk.tui.when import PRESETS, parse_when
from omnidesk.tui.widgets.picker import Choice, PickerScreen

if TYPE_CHECKING:
    from omnidesk.tui.app import OmnideskApp


def parse_tags(text: str) -> tuple[list[str], list[str]]:
    """`+billing -spam vip` -> (["billing", "vip"], ["spam"])."""
    add, remove = [], []
    for word in text.replace(",", " ").split():
        if word.startswith("-"):
            if word[1:]:
                remove.append(word[1:])
        elif word.lstrip("+"):
            add.append(word.lstrip("+"))
    return add, remove


def describe(ids: Sequence[int]) -> str:
    return f"#{ids[0]}" if len(ids) == 1 else f"{len(ids)} conversations"


class DeskScreen(Screen[None]):
    context = "app"

    @property
    def desk_app(self) -> OmnideskApp:
        return self.app  # type: ignore[return-value]

    @property
    def desk(self) -> Any:
        return self.desk_app.desk

    async def action_run(self, action_id: str) -> None:
        await self.desk_app.dispatch(action_id, None, self)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "run" and parameters:
            from omnidesk.tui import actions

            entry = actions.BY_ID.get(str(parameters[0]))
            if entry is not None and not entry.is_available(self):
                return None
        return True

    def open_composer(self) -> Any:
        return None

    # -- what a screen provides -------------------------------------------------------

    def targets(self) -> tuple[int, ...]:
        return ()

    def has_target(self) -> bool:
        return bool(self.targets())

    def current_id(self) -> int | None:
        ids = self.targets()
        return ids[0] if ids else None

    def after_resolve(self, ids: tuple[int, ...]) -> None:
        pass

    def clear_marks(self) -> None:
        pass

    # -- triage -------------------------------------------------------------------------

    def _apply(self, ids: tuple[int, ...], label: str, make: Any, advance: Any = None) -> None:
        self.desk_app.perform(make, ids=ids, label=label, advance=advance)
        self.clear_marks()

    def assign(self, arg: str | None = None) -> None:
        ids = self.targets()
        if arg is not None:
            self._assign(ids, arg)
            return
        choices = [Choice("me", "me", "assign to yourself"), Choice("none", "nobody", "unassign")]
        for agent in self.desk_app.agents:
            choices.append(Choice(agent.name, agent.name, agent.display_name))
        teams = sorted({t for a in self.desk_app.agents for t in a.teams})
        choices += [Choice(f"team:{t}", f"team:{t}", "team") for t in teams]
        self.app.push_screen(
            PickerScreen(f"Assign {describe(ids)} to", choices),
            lambda value: value and self._assign(ids, value),
        )

    def _assign(self, ids: tuple[int, ...], value: str) -> None:
        value = value.strip()
        desk = self.desk
        if value.startswith("team:"):
            team = value.removeprefix("team:")
            self._apply(ids, "Assign", lambda: services.assign(desk, ids, None, team=team))
            return
        who = None if value in ("none", "-", "") else value
        self._apply(ids, "Assign", lambda: services.assign(desk, ids, who))

    def assign_me(self, arg: str | None = None) -> None:
        self._assign(self.targets(), "me")

    def tag(self, arg: str | None = None) -> None:
        ids = self.targets()
        if arg is not None:
            self._tag(ids, arg)
            return

        def complete(typed: str) -> list[Choice]:
            return [Choice(value, value, desc) for value, desc in self.desk_app.argument_help("tag", typed)]

        self.app.push_screen(
            PickerScreen(
                f"Tag {describe(ids)}: +add -remove (tab completes)",
                [],
                free_text=True,
                complete=complete,
                placeholder="+billing -spam",
            ),
            lambda value: value and self._tag(ids, value),
        )

    def _tag(self, ids: tuple[int, ...], text: str) -> None:
        add, remove = parse_tags(text)
        if not add and not remove:
            return
        self.desk_app.known_tags.update(add)
        desk = self.desk
        self._apply(ids, "Tag", lambda: services.tag(desk, ids, add=add, remove=remove))

    def status(self, arg: str | None = None) -> None:
        ids = self.targets()
        if arg is not None:
            self._status(ids, arg.strip())
            return
        choices = [Choice(s, s) for s in STATUSES if s != "snoozed"]
        self.app.push_screen(
            PickerScreen(f"Status of {describe(ids)}", choices),
            lambda value: value and self._status(ids, value),
        )

    def _status(self, ids: tuple[int, ...], value: str) -> None:
        if value == "snoozed":
            self.snooze()
            return
        if value not in STATUSES:
            self.notify(f"unknown status {value!r}", severity="error", markup=False)
            return
        desk = self.desk
        advance = (lambda: self.after_resolve(ids)) if value == "resolved" else None
        self._apply(ids, "Set status of", lambda: services.set_status(desk, ids, value), advance)  # type: ignore[arg-type]

    def resolve_next(self, arg: str | None = None) -> None:
        ids = self.targets()
        desk = self.desk
        self._apply(
            ids,
            "Resolve",
            lambda: services.set_status(desk, ids, "resolved"),
            lambda: self.after_resolve(ids),
        )

    def snooze(self, arg: str | None = None) -> None:
        ids = self.targets()
        if arg is not None:
            self._snooze(ids, arg)
            return
        choices = [Choice(value, label) for value, label in PRESETS]
        self.app.push_screen(
            PickerScreen(
                f"Snooze {describe(ids)} until (or type 3d, 2026-12-01 14:00)", choices, free_text=True
            ),
            lambda value: value and self._snooze(ids, value),
        )

    def _snooze(self, ids: tuple[int, ...], text: str) -> None:
        now = datetime.fromtimestamp(self.desk_app.now_ms() / 1000, UTC)
        try:
            until = parse_when(text, now, zone(self.desk.settings.desk.timezone))
        except UserError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        until_ms = int(until.timestamp() * 1000)
        desk = self.desk
        self._apply(
            ids,
            "Snooze",
            lambda: services.set_status(desk, ids, "snoozed", snooze_until=until_ms),
            lambda: self.after_resolve(ids),
        )

    def priority(self, arg: str | None = None) -> None:
        ids = self.targets()
        if arg is not None:
            self._priority(ids, arg.strip())
            return
        self.app.push_screen(
            PickerScreen(f"Priority of {describe(ids)}", [Choice(p, p) for p in PRIORITIES]),
            lambda value: value and self._priority(ids, value),
        )

    def _priority(self, ids: tuple[int, ...], value: str) -> None:
        if value not in PRIORITIES:
            self.notify(f"unknown priority {value!r}", severity="error", markup=False)
            return
        desk = self.desk
        self._apply(ids, "Set priority of", lambda: services.set_priority(desk, ids, value))  # type: ignore[arg-type]

    def merge(self, arg: str | None = None) -> None:
        ids = self.targets()
        if arg is not None:
            self._merge(ids, arg)
            return
        self.app.push_screen(
            PickerScreen(
                f"Merge {describe(ids)} into conversation #", [], free_text=True, placeholder="#123"
            ),
            lambda value: value and self._merge(ids, value),
        )

    def _merge(self, ids: tuple[int, ...], text: str) -> None:
        target = id_value(text.strip().lstrip("#"))
        if target is None:
            self.notify(f"not a conversation number: {shown(text)}", severity="error", markup=False)
            return
        sources = tuple(i for i in ids if i != target)
        if not sources:
            return
        desk = self.desk

        async def run() -> Any:
            result = None
            for source in sources:
                result = await services.merge_conversations(desk, source, target)
            return result

        self._apply(sources, "Merge", run, lambda: self.after_resolve(sources))

    def show_customer(self, arg: str | None = None) -> None:
        customer_id = self.current_customer_id()
        if customer_id is None:
            return
        from omnidesk.tui.screens.customer import CustomerScreen

        self.app.push_screen(CustomerScreen(customer_id))

    def current_customer_id(self) -> int | None:
        return None

    def copy_link(self, arg: str | None = None) -> None:
        conversation_id = self.current_id()
        if conversation_id is None:
            return
        link = f"omnidesk://{self.desk.settings.desk.name}/conversation/{conversation_id}"
        self.app.copy_to_clipboard(link)
        self.notify(f"Copied {link}", markup=False)
