"""The action registry is the one source of keys: ids unique, handlers exist, docs/keys.md current."""

from __future__ import annotations

from pathlib import Path

import pytest

from omnidesk.tui import actions

ROOT = Path(__file__).resolve().parents[2]


def test_ids_unique_and_handlers_exist():
    from omnidesk.tui.app import OmnideskApp
    from omnidesk.tui.screens.conversation import ConversationScreen
    from omnidesk.tui.screens.customer import CustomerScreen
    from omnidesk.tui.screens.inbox import InboxScreen
    from omnidesk.tui.screens.reports import ReportsScreen
    from omnidesk.tui.widgets.composer import Composer

    owners = {
        "app": OmnideskApp,
        "inbox": InboxScreen,
        "conversation": ConversationScreen,
        "customer": CustomerScreen,
        "composer": Composer,
        "reports": ReportsScreen,
    }
    ids = [a.id for a in actions.ACTIONS]
    assert len(ids) == len(set(ids))
    for action in actions.ACTIONS:
        assert action.description and action.keys
        for context in action.contexts:
            assert callable(getattr(owners[context], action.handler, None)), (action.id, context)


def test_every_issue_key_is_bound():
    wanted = {
        "j": "cursor-down",
        "k": "cursor-up",
        "down": "cursor-down",
        "up": "cursor-up",
        "J": "next-conversation",
        "K": "prev-conversation",
        "enter": "open",
        "escape": "back",
        "r": "reply",
        "R": "reply-all",
        "i": "note",
        "a": "assign",
        "A": "assign-me",
        "t": "tag",
        "s": "status",
        "e": "resolve-next",
        "z": "snooze",
        "p": "priority",
        "m": "merge",
        "c": "customer",
        "/": "filter",
        "u": "undo",
        "ctrl+e": "editor",
        "ctrl+j": "send",
        "ctrl+enter": "send",
        "ctrl+s": "save-draft",
        "space": "mark",
        "x": "mark",
        "V": "mark-range",
        "*": "mark-all",
        "?": "help",
        "ctrl+p": "command-palette",
        ":": "command-line",
        **{str(n): f"view-{n}" for n in range(1, 10)},
    }
    for key, action_id in wanted.items():
        keys = [k.strip() for k in actions.BY_ID[action_id].keys.split(",")]
        assert key in keys, (key, action_id)


def test_bindings_carry_action_ids_for_keymaps():
    for binding in actions.bindings("inbox"):
        assert binding.id in actions.BY_ID
        assert binding.action == f"run('{binding.id}')"


def test_completion_shows_descriptions():
    found = actions.complete("res", ["inbox"])
    assert found[0].id == "resolve-next"
    assert actions.complete("tag", ["customer"]) == [] or all(
        "app" in a.contexts or "customer" in a.contexts for a in actions.complete("tag", ["customer"])
    )


def test_unknown_keymap_ids_are_reported():
    assert actions.unknown_ids({"resolve-next": "d", "frobnicate": "f"}) == ["frobnicate"]


def test_docs_keys_md_matches_the_registry():
    committed = (ROOT / "docs" / "keys.md").read_text("utf-8")
    expected = actions.markdown()
    if not expected.endswith("\n"):
        expected += "\n"
    assert committed == expected, "docs/keys.md is stale: run python scripts/gen_keys.py"


@pytest.mark.parametrize(
    "text,add,remove",
    [
        ("+billing -spam", ["billing"], ["spam"]),
        ("vip, +Ügyfél", ["vip", "Ügyfél"], []),
        ("- + ", [], []),
    ],
)
def test_tag_syntax(text, add, remove):
    from omnidesk.tui.screens.base import parse_tags

    assert parse_tags(text) == (add, remove)


def test_no_key_is_bound_twice_in_one_context() -> None:
    from collections import Counter

    from omnidesk.tui import actions

    for context in sorted({c for a in actions.ACTIONS for c in a.contexts}):
        keys = Counter(k.strip() for a in actions.for_context(context) for k in a.keys.split(","))
        assert [k for k, n in keys.items() if n > 1] == [], f"{context}: a key would run two actions"
