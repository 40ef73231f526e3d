"""A macro text rendered in a Jinja2 sandbox with the customer, the conversation, the agent and the desk.

The variables are `Fields`: read-only mappings of plain values (strings, numbers, tuples
of strings) with only the fields listed in `FIELDS`; a template reaches nothing else.
`SandboxedEnvironment` refuses attributes that lead out (`''.__class__`,
`cycler.__init__.__globals__`), every attribute of the variables themselves (their
fields are read as keys), and `*` or `**` whose result would be huge. `StrictUndefined`
makes a missing variable or field an error, so a text is either rendered whole or not
at all: `render` raises MacroError naming the macro, the variant, the line and the
problem, and nothing half-rendered is ever sent.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

from omnidesk.macros.definition import MacroError

#: What a template can read: the four variables and their fields.
FIELDS: dict[str, tuple[str, ...]] = {
    "customer": ("name", "first_name", "language", "email", "phone", "address", "tier", "timezone"),
    "conversation": ("id", "number", "subject", "status", "priority", "tags", "channel", "assignee"),
    "agent": ("name", "display_name", "first_name", "email"),
    "desk": ("name", "channel", "language", "from_name", "back_at"),
}

#: Largest rendered text (characters), as a reply may be (replies.MAX_TEXT).
MAX_RENDERED = 1_000_000


class Fields(Mapping[str, Any]):
    """One template variable: named, read-only, only its declared fields (absent values are "")."""

    __slots__ = ("_label", "_values")

    def __init__(self, label: str, values: Mapping[str, Any]) -> None:
        self._label = label
        self._values = {k: _plain(values.get(k, "")) for k in FIELDS[label]}

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __str__(self) -> str:  # `{{ customer }}` alone: the name, as a person would mean it
        return str(self._values.get("name", ""))

    @property
    def label(self) -> str:
        return self._label


def _plain(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str | int | float | bool):
        return value
    return tuple(str(v) for v in value)


def variables(customer: Mapping[str, Any], conversation: Mapping[str, Any], agent: Mapping[str, Any],
              desk: Mapping[str, Any]) -> dict[str, Fields]:
    """The four template variables from plain values (missing fields are "")."""
    given = {"customer": customer, "conversation": conversation, "agent": agent, "desk": desk}
    return {label: Fields(label, values) for label, values in given.items()}


@lru_cache(maxsize=1)
def environment() -> Any:
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

    class Missing(jinja2.StrictUndefined):
        """A missing variable or field, said in the macro's terms."""

        @property
        def _undefined_message(self) -> str:
            obj, name = self._undefined_obj, self._undefined_name
            if isinstance(obj, Fields):
                return f"{obj.label} has no field {name!r}; it has " + ", ".join(obj)
            if obj is jinja2.utils.missing and self._undefined_hint is None:
                return f"{name!r} is not a variable; use " + ", ".join(FIELDS)
            return str(super()._undefined_message)

    class Sandbox(SandboxedEnvironment):
        intercepted_binops = frozenset({"*", "**"})

        def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
            if isinstance(obj, Fields):
                return False  # fields are keys; the mapping's methods are not for templates
            return bool(super().is_safe_attribute(obj, attr, value))

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            if operator == "**" and isinstance(right, int) and abs(right) > 64:
                raise jinja2.sandbox.SecurityError("a power above 64 is refused")
            if operator == "*" and isinstance(left, str | list | tuple) and isinstance(right, int) \
                    and len(left) * right > MAX_RENDERED:
                raise jinja2.sandbox.SecurityError("a repeated text that large is refused")
            if operator == "*" and isinstance(right, str | list | tuple) and isinstance(left, int) \
                    and len(right) * left > MAX_RENDERED:
                raise jinja2.sandbox.SecurityError("a repeated text that large is refused")
            return super().call_binop(context, operator, left, right)

    return Sandbox(undefined=Missing, autoescape=False, keep_trailing_newline=True)


@lru_cache(maxsize=512)
def _compiled(source: str) -> Any:
    return environment().from_string(source)


def compile_template(source: str, where: str) -> Any:
    """The compiled template; MacroError naming `where` and the line for a syntax error."""
    import jinja2

    try:
        return _compiled(source)
    except jinja2.TemplateSyntaxError as exc:
        raise MacroError(f"{where}: line {exc.lineno}: {exc.message}") from None


def render(source: str, values: Mapping[str, Fields], where: str) -> str:
    """`source` rendered with `values`, whole, or MacroError naming `where` (macro, variant, language)."""
    import jinja2

    template = compile_template(source, where)
    try:
        text = template.render(values)
    except jinja2.sandbox.SecurityError as exc:
        raise MacroError(f"{where}: refused: {exc} (macros run in a sandbox)") from None
    except jinja2.UndefinedError as exc:
        raise MacroError(f"{where}: {exc}") from None
    except jinja2.TemplateError as exc:
        raise MacroError(f"{where}: {exc}") from None
    except (ArithmeticError, TypeError, ValueError, LookupError, RecursionError) as exc:
        raise MacroError(f"{where}: {type(exc).__name__}: {exc}") from None
    if len(text) > MAX_RENDERED:
        raise MacroError(f"{where}: the text is too long ({len(text):,} characters)")
    return text


def sample_variables() -> dict[str, Fields]:
    """Typical values, for `macro lint` and `macro show`'s preview."""
    return variables(
        {"name": "Anna Kovács", "first_name": "Anna", "language": "hu", "email": "anna@example.com",
         "phone": "+36301234567", "address": "anna@example.com", "tier": "gold",
         "timezone": "Europe/Budapest"},
        {"id": 1234, "number": "#1234", "subject": "Refund for order 5678", "status": "open",
         "priority": "normal", "tags": ("billing",), "channel": "support", "assignee": "ann"},
        {"name": "ann", "display_name": "Ann Lee", "first_name": "Ann", "email": "ann@example.com"},
        {"name": "Example Support", "channel": "support", "language": "en",
         "from_name": "Ann Lee at Example", "back_at": "2026-12-07 09:00 CET"},
    )
