"""The one registry of TUI actions: id, description, default keys, handler, when-available.

Key bindings (per screen), the command palette (ctrl+p), the `:` command line
with its completion, `?` help and docs/keys.md are all generated from
`ACTIONS`; nothing else declares a key. Users remap keys by action id in
config (`[tui.keys] resolve-next = "d"`), applied with `App.set_keymap`, so a
remapped key is what the footer, help and palette show.

A handler is the name of a method on the screen that owns the context (or on
the app for "app" actions): `handler(arg)` where `arg` is the text typed after
the action id on the `:` line (None from a key). `available(screen)` says when
the action makes sense; unavailable actions are dimmed in the footer, absent
from the palette, and refused with a notice on the `:` line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from textual.binding import Binding

#: Where an action applies. "app" actions work on every screen.
CONTEXTS = ("app", "inbox", "conversation", "customer", "composer", "reports")


@dataclass(frozen=True, slots=True)
class Action:
    id: str
    description: str
    keys: str  # default keys, comma separated, Textual key names ("j,down", "ctrl+j", "?")
    contexts: tuple[str, ...]
    handler: str  # method name on the screen (or app) owning the context
    available: Callable[[Any], bool] | None = None
    show: bool = False  # in the footer
    priority: bool = False  # checked before the focused widget (composer keys over TextArea)
    takes_arg: str = ""  # what the `:` line accepts after the id, for completion help

    def is_available(self, owner: Any) -> bool:
        if self.available is None:
            return True
        try:
            return bool(self.available(owner))
        except Exception:  # a predicate must never break key handling
            return False


def _has_current(screen: Any) -> bool:
    return bool(getattr(screen, "has_target", lambda: False)())


def _has_selection(screen: Any) -> bool:
    return getattr(screen, "current_summary", lambda: None)() is not None


def _can_undo(screen: Any) -> bool:
    return bool(getattr(screen.app, "undo_stack", None))


def _has_agent(screen: Any) -> bool:
    desk = getattr(screen.app, "desk", None)
    return desk is not None and desk.agent is not None


def _acting(screen: Any) -> bool:
    return _has_current(screen) and _has_agent(screen)


def _has_message(screen: Any) -> bool:
    return getattr(screen, "selected_message", lambda: None)() is not None


def _has_failed(screen: Any) -> bool:
    msg = getattr(screen, "selected_message", lambda: None)()
    return msg is not None and msg.delivery in ("failed", "undelivered", "cancelled")


def _has_knowledge_base(screen: Any) -> bool:
    return bool(getattr(screen, "kb_available", False))


def _has_suggestions(screen: Any) -> bool:
    return bool(getattr(screen, "kb_suggestions", ()))


def _has_attachments(screen: Any) -> bool:
    msg = getattr(screen, "selected_message", lambda: None)()
    return msg is not None and bool(msg.attachments)


_TARGETS = ("inbox", "conversation")
_ALL = ("inbox", "conversation", "customer")

ACTIONS: tuple[Action, ...] = (
    # -- everywhere ---------------------------------------------------------
    Action("help", "Show the keys of this screen", "?", ("app",), "show_help", show=True),
    Action("command-palette", "Search every action", "ctrl+p", ("app",), "open_palette"),
    Action("command-line", "Type an action by name, with completion", ":", ("app",), "open_command_line"),
    Action("undo", "Undo the last action", "u", ("app",), "undo_last", available=_can_undo, show=True),
    Action("quit", "Quit omnidesk", "ctrl+q", ("app",), "quit_app"),
    Action("reports", "Reports: backlog, volume, response times, agents", "D", ("app",), "show_reports"),
    # -- moving -----------------------------------------------------------------
    Action(
        "cursor-down",
        "Next conversation / message",
        "j,down",
        ("inbox", "conversation", "customer", "reports"),
        "cursor_down",
    ),
    Action(
        "cursor-up",
        "Previous conversation / message",
        "k,up",
        ("inbox", "conversation", "customer", "reports"),
        "cursor_up",
    ),
    Action(
        "open",
        "Open the selected conversation",
        "enter",
        ("inbox", "customer"),
        "open_selected",
        available=_has_selection,
        show=True,
    ),
    Action(
        "back", "Back to the previous screen", "escape", ("conversation", "customer", "reports"), "go_back",
        show=True
    ),
    Action(
        "next-conversation", "Next conversation while reading", "J", ("conversation",), "next_conversation"
    ),
    Action(
        "prev-conversation",
        "Previous conversation while reading",
        "K",
        ("conversation",),
        "prev_conversation",
    ),
    Action("first", "First conversation / oldest entry", "g,home", ("inbox", "customer"),
           "cursor_first"),
    Action("sort-agents", "Sort the agents table by the next column", "s", ("reports",), "sort_agents",
           show=True),
    Action("last", "Last conversation / newest entry", "G,end", ("inbox", "customer"),
           "cursor_last"),
    Action("page-down", "Page down", "pagedown,ctrl+d", ("inbox", "customer"), "page_down"),
    Action("page-up", "Page up", "pageup,ctrl+u", ("inbox", "customer"), "page_up"),
    # -- answering ---------------------------------------------------------------
    Action("reply", "Reply on the customer's channel", "r", _TARGETS, "reply", available=_acting, show=True),
    Action("reply-all", "Reply to all participants", "R", _TARGETS, "reply_all", available=_acting),
    Action("note", "Add an internal note", "i", _TARGETS, "note", available=_acting, show=True),
    # -- triage (apply to the marked set when there is one) ------------------------
    Action(
        "assign",
        "Assign to an agent or team (fuzzy picker)",
        "a",
        _TARGETS,
        "assign",
        available=_acting,
        show=True,
        takes_arg="AGENT | team:NAME | none",
    ),
    Action("assign-me", "Assign to me", "A", _TARGETS, "assign_me", available=_acting),
    Action(
        "tag",
        "Tag: +billing -spam",
        "t",
        _TARGETS,
        "tag",
        available=_acting,
        show=True,
        takes_arg="+TAG -TAG ...",
    ),
    Action(
        "status",
        "Set status",
        "s",
        _TARGETS,
        "status",
        available=_acting,
        takes_arg="open|pending|resolved|spam",
    ),
    Action(
        "resolve-next",
        "Resolve and move to the next (done)",
        "e",
        _TARGETS,
        "resolve_next",
        available=_acting,
        show=True,
    ),
    Action(
        "snooze",
        "Snooze: 1 h, tomorrow 9:00, Monday, a date",
        "z",
        _TARGETS,
        "snooze",
        available=_acting,
        takes_arg="1h | tomorrow | monday | YYYY-MM-DD HH:MM",
    ),
    Action(
        "priority",
        "Set priority",
        "p",
        _TARGETS,
        "priority",
        available=_acting,
        takes_arg="low|normal|high|urgent",
    ),
    Action(
        "merge",
        "Merge into another conversation",
        "m",
        _TARGETS,
        "merge",
        available=_acting,
        takes_arg="#TARGET",
    ),
    Action("customer", "Customer panel", "c", _TARGETS, "show_customer", available=_has_current, show=True),
    Action(
        "merge-customer",
        "Merge this customer into another",
        "m",
        ("customer",),
        "merge_customer",
        available=_has_agent,
        takes_arg="CUSTOMER-ID",
    ),
    # -- marking -------------------------------------------------------------------
    Action("mark", "Mark and move down", "space,x", ("inbox",), "toggle_mark"),
    Action("mark-range", "Mark a range (press again at the other end)", "V", ("inbox",), "mark_range"),
    Action("mark-all", "Mark everything the filter matches", "*", ("inbox",), "mark_all"),
    Action("unmark-all", "Clear the marks", "ctrl+x", ("inbox",), "unmark_all"),
    # -- finding ---------------------------------------------------------------------
    Action(
        "filter",
        "Live filter with the query language",
        "/",
        ("inbox",),
        "open_filter",
        show=True,
        takes_arg="QUERY",
    ),
    *(Action(f"view-{n}", f"Sidebar view {n}", str(n), ("inbox",), f"select_view_{n}") for n in range(1, 10)),
    Action("refresh", "Reload from the store", "ctrl+r", ("inbox",), "refresh_now"),
    # -- reading ---------------------------------------------------------------------
    Action(
        "toggle-quote",
        "Expand or fold quoted text",
        "o,enter",
        ("conversation",),
        "toggle_quote",
        available=_has_message,
    ),
    Action("retry", "Retry a failed reply", "ctrl+t", ("conversation",), "retry", available=_has_failed),
    Action(
        "macro",
        "Reply with a macro (fuzzy picker, live preview)",
        "M",
        ("conversation",),
        "pick_macro",
        available=_acting,
        takes_arg="NAME",
    ),
    Action(
        "save-attachment",
        "Save the message's attachments",
        "w",
        ("conversation",),
        "save_attachments",
        available=_has_attachments,
    ),
    Action(
        "open-attachment",
        "Open the first attachment",
        "O",
        ("conversation",),
        "open_attachment",
        available=_has_attachments,
    ),
    Action(
        "copy-link", "Copy the conversation link (OSC 52)", "y", _ALL, "copy_link", available=_has_current
    ),
    Action(
        "copy-pick",
        "Copy an address or order number (OSC 52)",
        "Y",
        ("conversation",),
        "copy_pick",
        available=_has_current,
    ),
    # -- knowledge base -------------------------------------------------------------------
    Action(
        "kb-pane",
        "Show or hide the suggested knowledge-base articles",
        "b",
        ("conversation",),
        "toggle_kb_pane",
        available=_has_knowledge_base,
    ),
    Action(
        "kb-read",
        "Read a suggested knowledge-base article",
        "B",
        ("conversation",),
        "read_kb_article",
        available=_has_suggestions,
    ),
    # -- composer (priority: they win over the text area's own keys) --------------------
    Action(
        "send",
        "Send (after the undo window)",
        "ctrl+j,ctrl+enter",
        ("composer",),
        "send",
        priority=True,
        show=True,
    ),
    Action(
        "editor",
        "Edit the draft in $EDITOR",
        "ctrl+e",
        ("composer",),
        "edit_in_editor",
        priority=True,
        show=True,
    ),
    Action(
        "save-draft", "Save the draft now", "ctrl+s", ("composer",), "save_draft", priority=True, show=True
    ),
    Action(
        "macro-insert",
        "Insert a macro into the reply (picker, live preview)",
        "ctrl+t",
        ("composer",),
        "pick_macro",
        priority=True,
        takes_arg="NAME",
    ),
    Action(
        "switch-channel",
        "Switch the reply channel",
        "ctrl+o",
        ("composer",),
        "switch_channel",
        priority=True,
        show=True,
    ),
    Action(
        "reply-options",
        "Choose how the reply goes out: the channel's choices (Mastodon's visibility) or a template",
        "ctrl+n",
        ("composer",),
        "pick_options",
        priority=True,
    ),
    Action(
        "pick-route",
        "Pick the reply's channel and address from a list",
        "ctrl+g",
        ("composer",),
        "pick_route",
        priority=True,
    ),
    Action(
        "kb-insert-link",
        "Insert a suggested article's help-centre link",
        "ctrl+l",
        ("composer",),
        "insert_kb_link",
        priority=True,
    ),
    Action(
        "kb-insert-excerpt",
        "Insert a suggested article's excerpt and link",
        "ctrl+b",
        ("composer",),
        "insert_kb_excerpt",
        priority=True,
    ),
    Action(
        "close-composer",
        "Close the composer (the draft stays)",
        "escape",
        ("composer",),
        "close",
        priority=True,
        show=True,
    ),
)

BY_ID: dict[str, Action] = {a.id: a for a in ACTIONS}


def for_context(context: str) -> list[Action]:
    return [a for a in ACTIONS if context in a.contexts]


def bindings(context: str) -> list[Binding]:
    """Textual bindings for one context; ids are action ids, so keymaps remap them."""
    return [
        Binding(a.keys, f"run('{a.id}')", a.description, show=a.show, priority=a.priority, id=a.id)
        for a in for_context(context)
    ]


def keys_for(action: Action, keymap: Mapping[str, str] | None = None) -> str:
    """The effective keys (keymap over defaults), comma separated."""
    if keymap and action.id in keymap:
        return keymap[action.id]
    return action.keys


_KEY_NAMES = {"space": "space", "escape": "esc", "enter": "enter", "pagedown": "PgDn", "pageup": "PgUp"}


def display_keys(keys: str) -> str:
    return " / ".join(_KEY_NAMES.get(k.strip(), k.strip()) for k in keys.split(","))


def unknown_ids(keymap: Mapping[str, str]) -> list[str]:
    return sorted(k for k in keymap if k not in BY_ID)


def complete(prefix: str, contexts: Iterable[str]) -> list[Action]:
    """Actions for the `:` line whose id starts with (or contains) the typed word."""
    wanted = set(contexts) | {"app"}
    word = prefix.strip().split(" ", 1)[0].lower()
    candidates = [a for a in ACTIONS if wanted & set(a.contexts)]
    starts = [a for a in candidates if a.id.startswith(word)]
    contains = [a for a in candidates if word and word in a.id and a not in starts]
    return starts + contains


CONTEXT_TITLES = {
    "app": "Everywhere",
    "inbox": "Inbox",
    "conversation": "Conversation",
    "customer": "Customer",
    "composer": "Composer",
    "reports": "Reports",
}


#: What a screen's section of docs/keys.md says before its keys.
CONTEXT_NOTES = {
    "customer": (
        "The customer screen shows the customer's whole story: every message, note, call and event\n"
        "of all their conversations, on every channel, one line each, newest last, with the\n"
        "channel's badge; a line `→ now on Telegram (tg), was support` marks where they moved to\n"
        "another channel. It opens on the newest entries and loads earlier ones as the cursor\n"
        "climbs; `enter` opens the conversation of the entry under the cursor."
    ),
}


def markdown(keymap: Mapping[str, str] | None = None) -> str:
    """docs/keys.md: every action, grouped by screen (generated; do not edit by hand)."""
    out = [
        "# Keys",
        "",
        "Generated from `omnidesk/tui/actions.py` by `python scripts/gen_keys.py`; do not edit by hand.",
        "Every key can be remapped by action id in the config file:",
        "",
        "```toml",
        "[tui.keys]",
        'resolve-next = "d"',
        'send = "ctrl+j,f5"',
        "```",
        "",
        "Every action is also in the command palette (ctrl+p) and on the `:` command line",
        "(`:tag +billing -spam`, `:assign bob`, `:snooze tomorrow`). Triage actions apply to the",
        "marked conversations when any are marked; the set is fixed when the action starts.",
        "The palette also keeps Textual's Theme, Screenshot and Maximize commands (its Quit and",
        "Keys are `quit` and `help` here).",
        "",
        "The digits open the sidebar's views, each shown beside its digit. A saved view's `key`",
        "(docs/configuration.md) takes its digit even from a built-in view, which then moves to",
        "the next free digit.",
        "",
    ]
    for context in CONTEXTS:
        out += [f"## {CONTEXT_TITLES[context]}", ""]
        if context in CONTEXT_NOTES:
            out += [CONTEXT_NOTES[context], ""]
        out += ["| Keys | Action id | What it does |", "|---|---|---|"]
        for a in for_context(context):
            keys = display_keys(keys_for(a, keymap)).replace("|", "\\|")
            out.append(f"| `{keys}` | `{a.id}` | {a.description} |")
        out.append("")
    return "\n".join(out)
