"""The search language shared by the CLI and the TUI: text -> AST, and back.

    status:open channel:email assignee:me team:tier1 skill:hu tag:billing -tag:spam from:ann@example.com
    customer:"Ann Lee" priority:high is:unassigned is:unread after:2026-11-01
    before:-7d #123 "exact phrase" free words OR other (a OR b) -(c d)
    is:breached is:due-soon sort:due

Grammar (OR binds tighter than the implicit AND, as in Gmail and GitHub search;
`AND` may be written but changes nothing; `-x` and `NOT x` negate):

    query  := and EOF
    and    := or (["AND"] or)*
    or     := unary ("OR" unary)*
    unary  := "-" unary | "NOT" unary | atom
    atom   := "(" and ")" | field:value | #N | "phrase" | word[*]

This module only parses and validates: it has no SQL and no I/O, so the TUI can
call it on every key press. `omnidesk/store/search.py` compiles the AST.
Relative dates (`-7d`, `today`) are kept as written and resolved at compile
time, so a saved query means the same thing tomorrow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, tzinfo
from typing import NamedTuple

from omnidesk.errors import UserError
from omnidesk.limits import MAX_ID
from omnidesk.model import PRIORITIES, STATUSES

#: Field name -> what it matches (shown by completion and `--help`).
FIELDS: dict[str, str] = {
    "status": "open, pending, snoozed, resolved, spam or any (several: status:open,pending)",
    "priority": "low, normal, high or urgent (several: priority:high,urgent)",
    "assignee": "agent name, `me` or `none`",
    "team": "team name or `none`",
    "skill": "a skill the conversation needs: its customer's or a message's language, or one of its tags",
    "tag": "tag name",
    "channel": "channel name or kind (email, phone, ...) of the latest inbound message",
    "from": "sender address (exact when it has an @) or part of an address or name",
    "customer": "customer id, or part of the customer's name or address",
    "subject": "a word in a message subject",
    "lang": "the customer's language, detected or set (hu, zh, fa; several: lang:hu,de; none)",
    "is": "unassigned, assigned, mine, unread, read, breached, due-soon, quarantined, merged, or a status",
    "has": "attachment or note",
    "after": "activity at or after a date: 2026-11-01, 2026-11-01T09:30, today, yesterday, -7d",
    "before": "activity before a date: 2026-11-20, today, -2w, -3h, -30m",
    "sort": "due (SLA due time, soonest first) or activity (newest first, the default)",
}

#: Values of the fields that have a fixed set, with descriptions (for completion).
FIELD_VALUES: dict[str, dict[str, str]] = {
    "status": {
        "open": "waiting for us",
        "pending": "waiting for the customer",
        "snoozed": "hidden until a time",
        "resolved": "done",
        "spam": "junk (hidden unless asked for)",
        "any": "every status, spam included",
    },
    "priority": {p: f"{p} priority" for p in PRIORITIES},
    "is": {
        "unassigned": "no agent assigned",
        "assigned": "some agent assigned",
        "mine": "assigned to me",
        "unread": "new inbound since I last read it",
        "read": "nothing new since I last read it",
        "breached": "past its SLA due time and not resolved",
        "due-soon": "past its SLA warning point, not breached yet",
        "quarantined": "holds input that could not be parsed",
        "merged": "merged away into another conversation",
        **{s: f"status {s}" for s in STATUSES},
    },
    "has": {"attachment": "a message with an attachment", "note": "an internal note"},
    "assignee": {"me": "assigned to me", "none": "unassigned"},
    "team": {"none": "no team"},
    "after": {"today": "since midnight", "yesterday": "since midnight yesterday", "-7d": "last 7 days"},
    "before": {"today": "before midnight", "yesterday": "before midnight yesterday",
               "-7d": "older than 7 days"},
    "sort": {"due": "SLA due time, soonest first (none last)", "activity": "newest activity first"},
}

KEYWORDS = ("OR", "AND", "NOT")
MAX_DEPTH = 32  # nested parentheses / negations
MAX_TERMS = 200  # keeps the compiled SQL well inside SQLite's limits


class QueryError(UserError):
    """A query that cannot be parsed: names the bad token and its 0-based position."""

    def __init__(self, reason: str, token: str, position: int, text: str = "",
                 hint: str | None = None) -> None:
        shown = f"'{token}'" if token else "the end of the query"
        message = f"bad query at column {position + 1}: {reason}: {shown}"
        super().__init__(message + (f" ({hint})" if hint else ""), hint=hint)
        self.reason = reason
        self.token = token
        self.position = position
        self.text = text

    def caret(self) -> str:
        """The query with a ^ under the bad token (for a terminal)."""
        width = max(1, len(self.token))
        return f"{self.text}\n{' ' * self.position}{'^' * width}"


# -- AST ----------------------------------------------------------------------------------------
# Positions are for error messages only: two queries are equal when they mean the same thing.


@dataclass(slots=True)
class Word:
    """Free text: a word (`prefix` when written `refund*`) or a quoted phrase."""

    text: str
    phrase: bool = False
    prefix: bool = False
    position: int = field(default=0, compare=False)


@dataclass(slots=True)
class Field:
    """`name:value`, a filter on one field."""

    name: str  # a key of FIELDS, lower case
    value: str  # enum values lower-cased; others as written
    position: int = field(default=0, compare=False)


@dataclass(slots=True)
class Ticket:
    """`#123`: one conversation by number."""

    id: int
    position: int = field(default=0, compare=False)


@dataclass(slots=True)
class Not:
    """`-term` or `NOT term`."""

    node: Node


@dataclass(slots=True)
class And:
    """Terms side by side (or joined by AND): all must match."""

    nodes: tuple[Node, ...]


@dataclass(slots=True)
class Or:
    """Terms joined by OR: any may match."""

    nodes: tuple[Node, ...]


Node = Word | Field | Ticket | Not | And | Or


@dataclass(slots=True)
class Query:
    """A parsed query: its tree and the text it came from."""

    root: Node | None  # None: the empty query (everything, with the default filter)
    text: str = field(default="", compare=False)

    def __str__(self) -> str:
        return unparse(self.root)


def walk(node: Node | None):
    """Every node of a tree, depth first."""
    if node is None:
        return
    yield node
    if isinstance(node, Not):
        yield from walk(node.node)
    elif isinstance(node, And | Or):
        for child in node.nodes:
            yield from walk(child)


# -- lexer --------------------------------------------------------------------------------------

_FIELD_RE = re.compile(r"([A-Za-z][A-Za-z_-]*):")
_STOP = set(" \t\n\r\f\v()\"")  # a bare word or value ends at these


class _Tok(NamedTuple):
    """One lexer token (a NamedTuple: a class costs far less to define than a dataclass)."""

    kind: str  # ( ) OR AND NOT - WORD PHRASE FIELD TICKET EOF
    text: str  # the source text of the token (for errors)
    position: int
    node: Node | None = None


def _read_quoted(text: str, start: int) -> tuple[str, int]:
    """The content of a quoted string starting at text[start] == '"', and the index after it."""
    out: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] in '"\\':
            out.append(text[i + 1])
            i += 2
            continue
        if ch == '"':
            return "".join(out), i + 1
        out.append(ch)
        i += 1
    raise QueryError("unclosed quote", text[start:], start, text)


def _run_end(text: str, i: int) -> int:
    while i < len(text) and text[i] not in _STOP and not text[i].isspace():
        i += 1
    return i


def _tokens(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            toks.append(_Tok(ch, ch, i))
            i += 1
        elif ch == '"':
            content, end = _read_quoted(text, i)
            if not content.strip():
                raise QueryError("empty phrase", text[i:end], i, text)
            toks.append(_Tok("PHRASE", text[i:end], i, Word(content, phrase=True, position=i)))
            i = end
        elif ch == "-":
            if i + 1 >= n or text[i + 1].isspace() or text[i + 1] == ")":
                raise QueryError("'-' must be followed by a term (quote it to search for it)", "-", i, text)
            toks.append(_Tok("-", "-", i))
            i += 1
        else:
            end = _run_end(text, i)
            toks.append(_word_token(text, i, end))
            i = toks[-1].position + len(toks[-1].text)
    toks.append(_Tok("EOF", "", n))
    return toks


def _word_token(text: str, start: int, end: int) -> _Tok:
    run = text[start:end]
    if run in KEYWORDS:
        return _Tok(run, run, start)
    if run.startswith("#"):
        digits = run[1:]
        if not digits.isascii() or not digits.isdigit():
            raise QueryError("expected a conversation number after '#'", run, start, text)
        number = digits.lstrip("0") or "0"
        if len(number) > 19 or int(number) > MAX_ID:
            raise QueryError("conversation number too large", run, start, text)
        return _Tok("TICKET", run, start, Ticket(int(number), position=start))
    m = _FIELD_RE.match(run)
    if m:
        name = m.group(1).lower()
        if name not in FIELDS:
            import difflib  # only for this error message

            close = difflib.get_close_matches(name, FIELDS, n=1)
            hint = f"did you mean '{close[0]}:'?" if close else "quote text that contains ':'"
            raise QueryError("unknown field", run[: m.end()], start, text, hint=hint)
        value_start = start + m.end()
        if value_start < len(text) and text[value_start] == '"':
            value, end = _read_quoted(text, value_start)
        else:
            value = run[m.end():]
        source = text[start:end]
        if not value.strip():
            raise QueryError(f"missing value after '{name}:'", source, start, text)
        value = _check_value(name, value, source, start, text)
        return _Tok("FIELD", source, start, Field(name, value, position=start))
    if run.endswith("*"):
        stem = run.rstrip("*")
        if not stem:
            raise QueryError("'*' must end a word", run, start, text)
        return _Tok("WORD", run, start, Word(stem, prefix=True, position=start))
    return _Tok("WORD", run, start, Word(run, position=start))


def _check_value(name: str, value: str, source: str, position: int, text: str) -> str:
    """Validate (and normalise) a field value; relative dates stay as written."""
    if name in ("status", "priority"):
        allowed = FIELD_VALUES[name]
        parts = [p.strip().lower() for p in value.split(",")]
        for part in parts:
            if part not in allowed:
                raise QueryError(f"{name} must be one of {', '.join(allowed)}", source, position, text)
        return ",".join(parts)
    if name == "customer" and value.isascii() and value.isdigit():
        number = value.lstrip("0") or "0"
        if len(number) > 19 or int(number) > MAX_ID:
            raise QueryError("customer number too large", source, position, text)
        return number
    if name in ("is", "has", "sort"):
        lowered = value.lower()
        if lowered not in FIELD_VALUES[name]:
            allowed = ", ".join(FIELD_VALUES[name])
            raise QueryError(f"{name}: must be one of {allowed}", source, position, text)
        return lowered
    if name in ("after", "before"):
        try:
            parse_date(value)
        except ValueError as exc:
            raise QueryError(str(exc), source, position, text) from None
        return value
    if name in ("assignee", "team") and value.lower() in ("me", "none"):
        return value.lower()
    if name == "lang":
        parts = [p.strip().lower() for p in value.split(",")]
        for part in parts:
            if not (part == "none" or (2 <= len(part) <= 3 and part.isascii() and part.isalpha())):
                raise QueryError("lang: must be language codes such as hu or zh, or none", source, position,
                                 text)
        return ",".join(parts)
    return value


# -- dates --------------------------------------------------------------------------------------

_RELATIVE = re.compile(r"^-?(\d{1,6})(m|min|h|d|w)$")
_UNIT = {"m": timedelta(minutes=1), "min": timedelta(minutes=1), "h": timedelta(hours=1),
         "d": timedelta(days=1), "w": timedelta(weeks=1)}
_DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M")


def parse_date(value: str, now: datetime | None = None, tz: tzinfo | None = None) -> datetime:
    """A date value -> an aware datetime (the start of a day for day values).

    Absolute dates and times are in `tz` (the desk's time zone); relative ones
    (`-7d`, `3h`, `today`, `yesterday`, `now`) count back from `now`.
    Raises ValueError with a readable message.
    """
    now = now or datetime.now(tz).astimezone(tz)
    if tz is not None:
        now = now.astimezone(tz)
    lowered = value.lower()
    if lowered == "now":
        return now
    if lowered in ("today", "yesterday"):
        day = now.date() - timedelta(days=1 if lowered == "yesterday" else 0)
        return datetime.combine(day, time(), now.tzinfo)
    m = _RELATIVE.match(lowered)
    if m:
        try:
            return now - int(m.group(1)) * _UNIT[m.group(2)]
        except OverflowError:
            raise ValueError("date too far back") from None
    for fmt in _DATE_FORMATS:
        try:
            parsed = datetime.strptime(value, fmt)
        except ValueError:
            continue
        return parsed.replace(tzinfo=now.tzinfo)
    raise ValueError("expected a date like 2026-11-01, 2026-11-01T09:30, today, yesterday or -7d")


# -- parser -------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0
        self.depth = 0
        terms = sum(1 for t in self.toks if t.node is not None)
        if terms > MAX_TERMS:
            extra = [t for t in self.toks if t.node is not None][MAX_TERMS]
            raise QueryError(f"too many terms (at most {MAX_TERMS})", extra.text, extra.position, text)

    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def error(self, reason: str, tok: _Tok | None = None) -> QueryError:
        tok = tok or self.tok
        return QueryError(reason, tok.text, tok.position, self.text)

    def parse(self) -> Query:
        if self.tok.kind == "EOF":
            return Query(None, self.text)
        root = self.and_expr()
        if self.tok.kind == ")":
            raise self.error("unmatched ')'")
        if self.tok.kind != "EOF":  # pragma: no cover - and_expr consumes everything else
            raise self.error("unexpected token")
        self.check_sort(root)
        return Query(root, self.text)

    def check_sort(self, root: Node) -> None:
        """`sort:` orders the whole list: one, standing on its own (not inside OR, NOT or parentheses)."""
        top = root.nodes if isinstance(root, And) else (root,)
        seen = False
        for node in walk(root):
            if not (isinstance(node, Field) and node.name == "sort"):
                continue
            source = f"sort:{node.value}"
            if not any(n is node for n in top):
                raise QueryError("sort: must stand on its own, not inside OR, NOT or parentheses", source,
                                 node.position, self.text)
            if seen:
                raise QueryError("only one sort: per query", source, node.position, self.text)
            seen = True

    def and_expr(self) -> Node:
        items: list[Node] = []
        while self.tok.kind not in ("EOF", ")"):
            if self.tok.kind == "AND":
                if not items:
                    raise self.error("AND needs a term before it")
                self.i += 1
                if self.tok.kind in ("EOF", ")", "OR", "AND"):
                    raise self.error("AND needs a term after it", self.toks[self.i - 1])
                continue
            items.append(self.or_expr())
        if not items:
            raise self.error("expected a term")
        return _and(items)

    def or_expr(self) -> Node:
        if self.tok.kind == "OR":
            raise self.error("OR needs a term before it")
        items = [self.unary()]
        while self.tok.kind == "OR":
            or_tok = self.tok
            self.i += 1
            if self.tok.kind in ("EOF", ")", "OR", "AND"):
                raise self.error("OR needs a term after it", or_tok)
            items.append(self.unary())
        return _or(items)

    def unary(self) -> Node:
        tok = self.tok
        if tok.kind in ("-", "NOT"):
            self.i += 1
            if self.tok.kind in ("EOF", ")", "OR", "AND"):
                raise self.error(f"'{tok.text}' must be followed by a term", tok)
            self.enter(tok)
            node = self.unary()
            self.depth -= 1
            return Not(node)
        return self.atom()

    def atom(self) -> Node:
        tok = self.tok
        if tok.kind == "(":
            self.i += 1
            if self.tok.kind == ")":
                raise self.error("empty parentheses", tok)
            if self.tok.kind == "EOF":
                raise self.error("unmatched '('", tok)
            self.enter(tok)
            node = self.and_expr()
            self.depth -= 1
            if self.tok.kind != ")":
                raise self.error("unmatched '('", tok)
            self.i += 1
            return node
        if tok.node is not None:
            self.i += 1
            return tok.node
        raise self.error("expected a term")

    def enter(self, tok: _Tok) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"nested too deeply (at most {MAX_DEPTH})", tok)


def _and(items: list[Node]) -> Node:
    flat: list[Node] = []
    for item in items:
        flat.extend(item.nodes if isinstance(item, And) else (item,))
    return flat[0] if len(flat) == 1 else And(tuple(flat))


def _or(items: list[Node]) -> Node:
    flat: list[Node] = []
    for item in items:
        flat.extend(item.nodes if isinstance(item, Or) else (item,))
    return flat[0] if len(flat) == 1 else Or(tuple(flat))


def parse(text: str) -> Query:
    """Parse a query; raises QueryError (a UserError) naming the bad token and position."""
    return _Parser(text).parse()


def sort_of(query: Query) -> str:
    """The order a query asks for: "due" or "activity" (the default)."""
    root = query.root
    for node in root.nodes if isinstance(root, And) else (root,):
        if isinstance(node, Field) and node.name == "sort":
            return node.value
    return "activity"


# -- back to text -------------------------------------------------------------------------------


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _value_text(value: str) -> str:
    """A field value as written in a query: quoted only when it must be."""
    return _quote(value) if not value or any(c in _STOP or c.isspace() for c in value) else value


def unparse(node: Node | None) -> str:
    """The canonical text of a tree: parse(unparse(t)) == t."""
    if node is None:
        return ""
    if isinstance(node, Word):
        if node.phrase:
            return _quote(node.text)
        return node.text + ("*" if node.prefix else "")
    if isinstance(node, Field):
        return f"{node.name}:{_value_text(node.value)}"
    if isinstance(node, Ticket):
        return f"#{node.id}"
    if isinstance(node, Not):
        inner = node.node
        text = unparse(inner)
        return f"-({text})" if isinstance(inner, And | Or) else f"-{text}"
    if isinstance(node, Or):
        return " OR ".join(f"({unparse(n)})" if isinstance(n, And | Or) else unparse(n) for n in node.nodes)
    return " ".join(f"({unparse(n)})" if isinstance(n, And) else unparse(n) for n in node.nodes)


# -- completion ---------------------------------------------------------------------------------


def complete(prefix: str, values: dict[str, list[str]] | None = None) -> list[tuple[str, str]]:
    """Completions for the token being typed: (replacement for that token, description).

    `prefix` is the token under the cursor (text after the last space is used if
    a whole query is passed). `sta` -> `status:`; `status:o` -> `status:open`;
    `-tag:b` -> `-tag:billing` when `values={"tag": ["billing"]}`. The TUI passes
    the live tag, agent and channel names in `values`.
    """
    token = re.split(r"[\s()]", prefix)[-1]
    neg = ""
    while token.startswith("-"):
        neg, token = neg + "-", token[1:]
    values = values or {}
    m = _FIELD_RE.match(token)
    if m is None:
        lowered = token.lower()
        return [(f"{neg}{name}:", desc) for name, desc in FIELDS.items() if name.startswith(lowered)]
    name = m.group(1).lower()
    if name not in FIELDS:
        return []
    typed = token[m.end():].lower()
    choices: dict[str, str] = dict(FIELD_VALUES.get(name, {}))
    for value in values.get(name, []):
        choices.setdefault(value, FIELDS[name])
    out = []
    for value, desc in choices.items():
        if value.lower().startswith(typed):
            out.append((f"{neg}{name}:{_value_text(value)}", desc))
    return out
