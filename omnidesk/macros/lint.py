"""`omnidesk macro lint`: what is wrong or missing in every macro, one finding per line.

Findings: files that cannot be read; variants a reply style of the desk would miss
(and what it falls back to); languages one variant has and another lacks; variant
keys that are no style, channel or kind; variables and fields a template names that
do not exist, template syntax errors and sandbox refusals (found by reading the
template, so a branch not taken is checked too, then by rendering it with sample
values); SMS texts that need more than one segment (160 GSM-7 or 70 UCS-2 units,
counted by `adapters.base.sms_segments` on the text rendered with sample values);
actions assigning to agents the desk does not have.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any, NamedTuple

from omnidesk.macros import render, variants
from omnidesk.macros.definition import Macro, MacroError
from omnidesk.macros.library import Library


class Finding(NamedTuple):
    macro: str
    where: str  # "text.sms.hu", "actions.assign", "" for the file
    problem: str

    def line(self) -> str:
        return f"{self.macro}: {self.where + ': ' if self.where else ''}{self.problem}"


class DeskFacts(NamedTuple):
    """What lint checks macros against: the desk's reply styles, channels and agents."""

    styles: tuple[str, ...] = variants.STYLES
    channels: frozenset[str] = frozenset()
    kinds: frozenset[str] = frozenset()
    sms_keys: frozenset[str] = frozenset({"sms"})  # variant keys whose texts go out as SMS
    agents: frozenset[str] | None = None  # None: not checked
    language: str = "en"


def lint(library: Library, facts: DeskFacts) -> list[Finding]:
    """Every finding for every macro, by macro name."""
    found = [Finding(name, "", problem.split(": ", 1)[-1]) for name, problem in library.problems.items()]
    for macro in library.macros.values():
        found.extend(lint_macro(macro, facts))
    return sorted(found, key=lambda f: f.macro)


def lint_macro(macro: Macro, facts: DeskFacts) -> Iterator[Finding]:
    yield from _variant_findings(macro, facts)
    sample = render.sample_variables()
    for variant, by_language in macro.texts.items():
        for language, source in by_language.items():
            where = f"text.{variant}.{language}"
            names = list(_undefined_names(source, where))
            for problem in names:
                yield Finding(macro.name, where, problem)
            try:
                text = render.render(source, sample, where)
            except MacroError as exc:
                if not names:
                    yield Finding(macro.name, where, str(exc).split(": ", 1)[1])
                continue
            if variant in facts.sms_keys:
                yield from _sms_findings(macro.name, where, text)
    assign = macro.actions.assign
    if facts.agents is not None and assign and assign != "me" and assign not in facts.agents:
        yield Finding(macro.name, "actions.assign", f"no agent called {assign!r}")


def _variant_findings(macro: Macro, facts: DeskFacts) -> Iterator[Finding]:
    known = set(variants.STYLES) | facts.channels | facts.kinds
    for variant in macro.texts:
        if variant not in known:
            yield Finding(macro.name, f"text.{variant}", "no style, channel or channel kind of that name"
                          " (styles: " + ", ".join(variants.STYLES) + ")")
    for style in facts.styles:
        if style in macro.texts:
            continue
        used = next((s for s in variants.FALLBACK[style] if s in macro.texts), None)
        tail = f"{style} replies use the {used} text" if used else f"{style} replies have no text"
        yield Finding(macro.name, "text", f"no [text.{style}] variant ({tail})")
    languages = dict.fromkeys([facts.language.lower(), *(lang for t in macro.texts.values() for lang in t)])
    for variant, by_language in macro.texts.items():
        missing = [lang for lang in languages if lang not in by_language]
        if missing:
            yield Finding(macro.name, f"text.{variant}", "no " + ", ".join(missing) + " text"
                          + (" (the desk's language)" if missing == [facts.language.lower()] else ""))


def _sms_findings(name: str, where: str, text: str) -> Iterator[Finding]:
    from adapters.base import sms_segments

    segments = sms_segments(text.strip())
    if segments.count > 1:
        single = 160 if segments.encoding == "GSM-7" else 70
        yield Finding(name, where, f"{segments.count} SMS segments with sample values ({segments.encoding}:"
                      f" one segment holds {single}; this is {len(text.strip())} characters)")


def _undefined_names(source: str, where: str) -> Iterator[str]:
    """Variables and fields the template names that `render.FIELDS` does not have (its syntax error)."""
    import jinja2
    from jinja2 import nodes

    env = render.environment()
    try:
        tree = env.parse(source)
    except jinja2.TemplateSyntaxError as exc:
        yield f"line {exc.lineno}: {exc.message}"
        return
    from jinja2 import meta

    local = _assigned(tree)
    for name in sorted(meta.find_undeclared_variables(tree) - set(render.FIELDS) - set(env.globals) - local):
        yield f"{name!r} is not a variable; use " + ", ".join(render.FIELDS)
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        base, field = node.node, _field_name(node)
        if isinstance(base, nodes.Name) and base.name in render.FIELDS and base.name not in local \
                and field is not None and field not in render.FIELDS[base.name]:
            yield f"line {node.lineno}: {base.name} has no field {field!r}; it has " \
                  + ", ".join(render.FIELDS[base.name])


def _field_name(node: Any) -> str | None:
    from jinja2 import nodes

    if isinstance(node, nodes.Getattr):
        return str(node.attr)
    if isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
        return node.arg.value
    return None


def _assigned(tree: Any) -> set[str]:
    """Names the template sets itself (`{% set %}`, loop variables, macro arguments)."""
    from jinja2 import nodes

    names: set[str] = set()
    for node in tree.find_all(nodes.Name):
        if node.ctx in ("store", "param"):
            names.add(node.name)
    return names


def styles_in(collection: Collection[str]) -> tuple[str, ...]:
    """The styles among `collection`, in the usual order."""
    return tuple(s for s in variants.STYLES if s in collection)
