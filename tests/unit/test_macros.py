"""Macros: files read or refused, the variant a reply gets, rendering in the sandbox, lint findings."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omnidesk.macros import lint, render, variants
from omnidesk.macros.definition import Actions, MacroError, load, parse
from omnidesk.macros.library import Library, load_library
from omnidesk.settings import MacroSettings, Settings

REPO = Path(__file__).resolve().parents[2]


def macro(texts: dict[str, dict[str, str]], **extra: object):  # type: ignore[no-untyped-def]
    return parse("m", {"text": texts, **extra})


# -- reading -------------------------------------------------------------------------


def test_a_macro_file_is_read_with_its_actions(tmp_path: Path) -> None:
    path = tmp_path / "refund.toml"
    path.write_text('description = "Refund"\n[actions]\ntags = ["refund", "-triage"]\npriority = "high"\n'
                    'assign = ""\nsnooze = "2d"\n[text.email]\nen = "Hi {{ customer.name }}"\nHU = "Szia"\n',
                    "utf-8")
    m = load(path)
    assert (m.name, m.description, m.texts) == ("refund", "Refund", {"email": {"en": "Hi {{ customer.name }}",
                                                                              "hu": "Szia"}})
    assert m.actions == Actions(("refund",), ("triage",), None, "high", "", 2 * 86_400_000)
    assert m.actions.describe() == ["+refund", "-triage", "priority high", "assign (nobody)", "snooze 2d"]


@pytest.mark.parametrize(("document", "message"), [
    ({"text": {"email": {"en": "x"}}, "colour": "red"}, "colour: unknown key; expected one of actions, "),
    ({}, "text: missing; expected tables such as [text.email]"),
    ({"text": {"email": "x"}}, "text.email: expected a table of language = text"),
    ({"text": {"email": {"english!": "x"}}}, "text.email.english!: expected a language tag"),
    ({"text": {"email": {"en": "  "}}}, "text.email.en: expected a text"),
    ({"text": {"sms": {"en": "x"}}, "actions": {"status": "snoozed"}}, "actions.status: expected one of"),
    ({"text": {"sms": {"en": "x"}}, "actions": {"priority": "asap"}}, "actions.priority: expected one of"),
    ({"text": {"sms": {"en": "x"}}, "actions": {"snooze": "soon"}}, "actions.snooze: expected a duration"),
    ({"text": {"sms": {"en": "x"}}, "actions": {"snooze": "1d", "status": "open"}}, "give status or snooze"),
    ({"text": {"sms": {"en": "x"}}, "actions": {"close": True}}, "actions.close: unknown action"),
    ({"text": {"sms": {"en": "x"}}, "actions": {"tags": ["-"]}}, "actions.tags: expected a list of tag"),
])
def test_a_wrong_macro_is_one_line_naming_the_key(document: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(MacroError, match=None) as caught:
        parse("m", document)
    assert message in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize(("name", "content", "message"), [
    ("bad name.toml", b'[text.sms]\nen = "x"\n', "bad macro name"),
    ("broken.toml", b"[text.sms\n", "invalid TOML"),
    ("latin1.toml", b'[text.sms]\nen = "\xe9"\n', "not UTF-8 text"),
    ("huge.toml", b"#" * 300_000, "larger than 256 KiB"),
])
def test_a_folder_with_broken_files_still_gives_the_others(tmp_path: Path, name: str, content: bytes,
                                                          message: str) -> None:
    (tmp_path / "good.toml").write_text('[text.chat]\nen = "ok"\n', "utf-8")
    (tmp_path / name).write_bytes(content)
    library = load_library(Settings(macros=MacroSettings(dir=tmp_path)))
    assert list(library.macros) == ["good"]
    [(stem, problem)] = library.problems.items()
    assert stem == Path(name).stem and message in problem
    with pytest.raises(MacroError, match=message):
        library.get(stem)
    with pytest.raises(MacroError, match="no macro called 'nope'") as caught:
        library.get("nope")
    assert caught.value.hint == "known macros: good"


def test_the_default_folder_is_next_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "macros").mkdir()
    (tmp_path / "macros" / "hello.toml").write_text('[text.chat]\nen = "hi"\n', "utf-8")
    assert list(load_library(Settings(source=tmp_path / "config.toml")).macros) == ["hello"]
    assert load_library(Settings(source=tmp_path / "elsewhere" / "c.toml")).macros == {}


def test_the_example_macros_are_valid() -> None:
    library = load_library(Settings(macros=MacroSettings(dir=REPO / "config" / "macros")))
    assert library.problems == {}
    assert len(library.macros) >= 3
    for m in library.macros.values():
        assert {"en", "hu"} <= {lang for texts in m.texts.values() for lang in texts}
    assert {"email", "chat", "sms"} <= {v for m in library.macros.values() for v in m.texts}


# -- which variant ---------------------------------------------------------------------

FULL = {"email": {"en": "E-en", "hu": "E-hu"}, "chat": {"en": "C-en", "hu": "C-hu"}, "sms": {"en": "S-en"},
        "slack": {"en": "K-en"}, "vip-mail": {"de": "V-de"}}


@pytest.mark.parametrize(("has_subject", "address_kind", "style"), [
    (True, "email", "email"), (False, "phone", "sms"), (False, "slack", "chat"), (False, "telegram", "chat"),
    (True, "phone", "email"),
])
def test_style_of_a_reply(has_subject: bool, address_kind: str, style: str) -> None:
    assert variants.style(has_subject, address_kind) == style


@pytest.mark.parametrize(("texts", "target", "expected"), [
    # The channel's own style, in the customer's language.
    (FULL, ("support", "email", "email", "hu"), ("email", "hu")),
    (FULL, ("support", "email", "email", "hu-HU"), ("email", "hu")),  # region dropped
    (FULL, ("tg", "telegram", "chat", "en"), ("chat", "en")),
    (FULL, ("twilio", "twilio", "sms", "en"), ("sms", "en")),
    # A kind's own variant beats the style; a channel's name beats both.
    (FULL, ("team", "slack", "chat", "en"), ("slack", "en")),
    (FULL, ("vip-mail", "email", "email", "de"), ("vip-mail", "de")),
    # Language wins over shape: no Hungarian SMS text, so the Hungarian chat text.
    (FULL, ("twilio", "twilio", "sms", "hu"), ("chat", "hu")),
    # An unknown language: the desk's (en).
    (FULL, ("support", "email", "email", "fa"), ("email", "en")),
    (FULL, ("support", "email", "email", None), ("email", "en")),
    # The kind's variant only has English: a Hungarian customer on Slack gets the Hungarian chat text.
    (FULL, ("team", "slack", "chat", "hu"), ("chat", "hu")),
    # Fallback styles: email -> chat -> sms; chat -> sms -> email; sms -> chat (never email).
    ({"chat": {"en": "C"}}, ("support", "email", "email", "en"), ("chat", "en")),
    ({"sms": {"en": "S"}}, ("support", "email", "email", "en"), ("sms", "en")),
    ({"email": {"en": "E"}, "sms": {"en": "S"}}, ("tg", "telegram", "chat", "en"), ("sms", "en")),
    ({"email": {"en": "E"}}, ("tg", "telegram", "chat", "en"), ("email", "en")),
    ({"chat": {"en": "C"}, "email": {"en": "E"}}, ("t", "twilio", "sms", "en"), ("chat", "en")),
    # No language of the order anywhere: the first variant of the chain, its first language.
    ({"email": {"de": "E-de", "fr": "E-fr"}, "chat": {"it": "C-it"}}, ("s", "email", "email", "zh"),
     ("email", "de")),
])
def test_variant_and_language_chosen(texts: dict, target: tuple, expected: tuple) -> None:  # type: ignore[type-arg]
    choice = variants.choose(macro(texts), variants.Target(*target), "en")
    assert (choice.variant, choice.language) == expected
    assert choice.source == texts[expected[0]][expected[1]]


def test_a_desk_writing_hungarian_falls_back_to_hungarian() -> None:
    choice = variants.choose(macro(FULL), variants.Target("s", "email", "email", "zh"), "hu")
    assert (choice.variant, choice.language) == ("email", "hu")


def test_sms_with_only_an_email_text_is_refused() -> None:
    with pytest.raises(MacroError, match="has no text for sms replies") as caught:
        variants.choose(macro({"email": {"en": "long"}}), variants.Target("t", "twilio", "sms", "en"), "en")
    assert caught.value.hint == "add [text.sms] to m"


# -- rendering -----------------------------------------------------------------------

VALUES = render.sample_variables()


@pytest.mark.parametrize(("source", "expected"), [
    ("Hello {{ customer.first_name }}, about {{ conversation.number }}", "Hello Anna, about #1234"),
    ("{{ customer }} / {{ customer['tier'] }}", "Anna Kovács / gold"),
    ("{{ conversation.tags | join(', ') }}{% if agent.email %} ({{ agent.email }}){% endif %}",
     "billing (ann@example.com)"),
    ("{% set n = customer.name %}{{ n | upper }}", "ANNA KOVÁCS"),
    ("Köszönjük, {{ customer.name }}! 谢谢 ممنون", "Köszönjük, Anna Kovács! 谢谢 ممنون"),
])
def test_render(source: str, expected: str) -> None:
    assert render.render(source, VALUES, "w") == expected


def test_a_customer_name_is_data_not_a_template() -> None:
    values = render.variables({"name": "{{ 7*7 }} [bold]x[/] \x1b[31m"}, {}, {}, {})
    assert render.render("Hi {{ customer.name }}", values, "w") == "Hi {{ 7*7 }} [bold]x[/] \x1b[31m"


@pytest.mark.parametrize(("source", "message"), [
    ("Hi {{ custmer.name }}", "'custmer' is not a variable; use customer, conversation, agent, desk"),
    ("Hi {{ customer.nickname }}", "customer has no field 'nickname'; it has name, first_name"),
    ("Hi {{ customer['nickname'] }}", "customer has no field 'nickname'"),
    ("Hi {{ customer.name", "line 1: unexpected end of template"),
    ("{% for x in %}\n{% endfor %}", "line 1: Expected an expression"),
    ("{{ ''.__class__.__mro__ }}", "refused: access to attribute '__class__' of 'str' object is unsafe"),
    ("{{ cycler.__init__.__globals__ }}", "refused: access to attribute '__init__'"),
    ("{{ customer.items() }}", "refused"),
    ('{{ "{0.__class__}".format(customer) }}', "refused"),
    ('{{ customer | attr("__class__") }}', "refused"),
    ("{{ self.__init__ }}", "refused: access to attribute '__init__' of 'TemplateReference'"),
    ("{{ lipsum.__globals__ }}", "refused: access to attribute '__globals__'"),
    ("{{ conversation.tags.append(1) }}", "'tuple object' has no attribute 'append'"),
    ("{{ customer._values }}", "refused"),
    ("{{ 'x' * 100000000 }}", "refused: a repeated text that large is refused"),
    ("{{ 10 ** 100000 }}", "refused: a power above 64 is refused"),
    ("{{ range(10**7) | list }}", "Range too big"),
    ("{{ 1 / 0 }}", "ZeroDivisionError: division by zero"),
])
def test_template_problems_are_refused_with_a_clear_message(source: str, message: str) -> None:
    with pytest.raises(MacroError) as caught:
        render.render(source, VALUES, "macro m (text.email.en)")
    text = str(caught.value)
    assert text.startswith("macro m (text.email.en): ") and message in text and "\n" not in text


# -- lint -------------------------------------------------------------------------------


def lint_lines(texts: dict, facts: lint.DeskFacts | None = None, **extra: object) -> list[str]:  # type: ignore[type-arg]
    m = macro(texts, **extra)
    library = Library(Path("."), {m.name: m}, {})
    return [f.line() for f in lint.lint(library, facts or lint.DeskFacts())]


def test_lint_finds_missing_variants_and_languages() -> None:
    lines = lint_lines({"email": {"en": "E", "hu": "E"}, "chat": {"en": "C"}})
    assert lines == [
        "m: text: no [text.sms] variant (sms replies use the chat text)",
        "m: text.chat: no hu text",
    ]
    assert lint_lines({"email": {"de": "E"}}, lint.DeskFacts(styles=("email", "sms"))) == [
        "m: text: no [text.sms] variant (sms replies have no text)",
        "m: text.email: no en text (the desk's language)",
    ]


def test_lint_finds_undefined_variables_even_in_branches_not_taken() -> None:
    hidden = "{% if false %}{{ customer.nick }}{{ custmer }}{% endif %}{% set x = 1 %}{{ x }}"
    texts = {"email": {"en": hidden},
             "chat": {"en": "{{ agent.name"}, "sms": {"en": "{{ ''.__class__ }}"}}
    assert lint_lines(texts) == [
        "m: text.email.en: 'custmer' is not a variable; use customer, conversation, agent, desk",
        "m: text.email.en: line 1: customer has no field 'nick'; it has name, first_name, language, email,"
        " phone, address, tier, timezone",
        "m: text.chat.en: line 1: unexpected end of template, expected 'end of print statement'.",
        "m: text.sms.en: refused: access to attribute '__class__' of 'str' object is unsafe."
        " (macros run in a sandbox)",
    ]


def test_lint_names_unknown_variants_and_agents() -> None:
    facts = lint.DeskFacts(styles=("chat",), channels=frozenset({"team"}), kinds=frozenset({"slack"}),
                           agents=frozenset({"ann"}))
    assert lint_lines({"chat": {"en": "C"}, "team": {"en": "T"}, "slack": {"en": "S"}, "mail": {"en": "M"}},
                      facts, actions={"assign": "bob"}) == [
        "m: text.mail: no style, channel or channel kind of that name (styles: email, chat, sms)",
        "m: actions.assign: no agent called 'bob'",
    ]


def test_lint_of_a_folder_lists_unreadable_files(tmp_path: Path) -> None:
    (tmp_path / "broken.toml").write_text("[text.chat\n", "utf-8")
    library = load_library(Settings(macros=MacroSettings(dir=tmp_path)))
    [finding] = lint.lint(library, lint.DeskFacts())
    assert finding.macro == "broken" and finding.problem.startswith("invalid TOML")


def test_the_example_config_points_at_the_example_macros() -> None:
    data = tomllib.loads((REPO / "config" / "omnidesk.example.toml").read_text("utf-8"))
    assert data["macros"]["dir"] == "macros"


@pytest.mark.parametrize(("text", "segments"), [
    ("x" * 160, None),  # GSM-7: one segment holds 160
    ("x" * 161, "2 SMS segments with sample values (GSM-7: one segment holds 160; this is 161 characters)"),
    ("€" * 80, None),  # an extension character is two septets
    ("€" * 81, "2 SMS segments"),
    ("ő" * 70, None),  # Hungarian ő is not GSM-7: UCS-2 holds 70
    ("ő" * 71, "2 SMS segments with sample values (UCS-2: one segment holds 70; this is 71 characters)"),
    ("退款" * 35, None),
    # Counted on the rendered text: the sample name "Anna Kovács" (á is not GSM-7) makes it UCS-2.
    ("{{ customer.name }}" + "x" * 50, None),
    ("{{ customer.name }}" + "x" * 150, "3 SMS segments with sample values (UCS-2"),
])
def test_lint_counts_sms_segments_of_the_rendered_text(text: str, segments: str | None) -> None:
    lines = lint_lines({"sms": {"en": text}}, lint.DeskFacts(styles=("sms",)))
    found = [line for line in lines if "SMS segments" in line]
    assert found == ([] if segments is None else [found[0]]) and (segments is None or segments in found[0])


def test_the_example_sms_texts_fit_one_segment() -> None:
    library = load_library(Settings(macros=MacroSettings(dir=REPO / "config" / "macros")))
    findings = lint.lint(library, lint.DeskFacts())
    assert [f.line() for f in findings] == ["resolved-thanks: text: no [text.sms] variant"
                                            " (sms replies use the chat text)"]


_PIECES = ["{{ ", " }}", "{% ", " %}", "customer", "conversation", ".", "name", "tags", "__class__", "[0]",
           "|", "join", "upper", "(", ")", "'x'", "*", "**", "9", "if", "for", "in", "endif", "endfor",
           "range", "lipsum", "cycler", "self", "~", "-", "/", "0", "Köszönjük 退款 ", "\n", "{#", "#}"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=14))
def test_any_template_renders_whole_or_is_one_clear_line(pieces: list[str]) -> None:
    """Whatever a macro file holds, rendering gives a text or one MacroError line, never another error."""
    source = "".join(pieces) or "x"
    try:
        text = render.render(source, VALUES, "macro m (text.email.en)")
    except MacroError as exc:
        assert str(exc).startswith("macro m (text.email.en): ") and "\n" not in str(exc)
    else:
        assert isinstance(text, str)
    if not source.strip():
        return  # a blank text is refused when the file is read
    for finding in lint.lint_macro(macro({"email": {"en": source}}), lint.DeskFacts(styles=("email",))):
        assert "\n" not in finding.line()
