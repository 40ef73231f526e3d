"""Whatever is typed into a typed argument, a command answers or refuses in one line: never a traceback."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cli.conftest import CliEnv, seed_calls

#: Commands with a slot `X` for the typed value: ids, limits, times, durations, addresses, queries, formats.
TEMPLATES = (
    ("show", "X"), ("show", "X", "--json"), ("customer", "show", "X"),
    ("customer", "merge", "X", "--into", "1"),
    ("customer", "unmerge", "X"), ("outbox", "cancel", "X"), ("outbox", "retry", "X"),
    ("status", "snoozed", "1", "--until", "X"), ("status", "X", "1"), ("priority", "X", "1"),
    ("tag", "X", "--add", "t"), ("assign", "me", "X"), ("merge", "1", "--into", "X"), ("note", "X", "called"),
    ("list", "--limit", "X"), ("search", "word", "--limit", "X"), ("customer", "list", "--limit", "X"),
    ("call", "log", "--customer", "X"), ("call", "log", "--conversation", "X"),
    ("call", "log", "--phone", "+36 30 123 4567", "--duration", "X"), ("call", "log", "--phone", "X"),
    ("reply", "1", "Thanks", "--to", "X"), ("list", "X"), ("search", "X"), ("list", "--format", "X"),
)
EDGES = (
    "0", "-1", "#1", "#0", "1", str(2**63 - 1), str(2**63), str(2**64), "9" * 30, "9" * 5000,
    "0" * 5000 + "1", "1e400", "nan", "inf", "-inf", "99999999999999d", "3653d", "9999-12-31", "0001-01-01",
    "24h", "25h", "4:-30",
    "1:" + "9" * 5000, "a@b@c", "x@-.com", "x@y", "customer:" + str(2**63), "#" + "9" * 30, "١٢٣", "²",
    "Árvíztűrő", "退款", "سلام", "\u202e1", "\x1b[2J", "", " ", "--help", "-",
)
typed = st.one_of(st.sampled_from(EDGES), st.integers().map(str), st.text(max_size=40),
                  st.from_regex(r"[#+-]?[0-9]{1,25}(m|h|d|w|s)?", fullmatch=True))


def _check(env: CliEnv, template: tuple[str, ...], value: str) -> None:
    args = [value if part == "X" else part for part in template]
    result = env.invoke(*args)  # an exception, whatever it is, fails the test (catch_exceptions=False)
    assert result.exit_code in (0, 1, 2), (args, result.exit_code, result.stderr)
    assert "Traceback" not in result.stderr
    if result.exit_code != 0 and "--help" not in args:
        lines = result.stderr.splitlines()
        assert lines and lines[0].startswith("omnidesk: "), (args, result.stderr)
        assert len(lines) == 1 or (len(lines) == 2 and lines[1].startswith("hint: ")), (args, result.stderr)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(template=st.sampled_from(TEMPLATES), value=typed)
def test_any_typed_value_is_accepted_or_refused_in_one_line(cli_env: CliEnv, template: tuple[str, ...],
                                                           value: str) -> None:
    if not (cli_env.data_dir / "omnidesk.db").exists():
        cli_env.run(lambda desk: seed_calls(desk, [("+36 30 765 4321", "Árvíztűrő tükörfúrógép")]))
    _check(cli_env, template, value)

