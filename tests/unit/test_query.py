"""The search language parser: every construct of the design, errors with positions, completion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from omnidesk.errors import UserError
from omnidesk.query import (
    FIELDS,
    And,
    Field,
    Not,
    Or,
    Query,
    QueryError,
    Ticket,
    Word,
    complete,
    parse,
    parse_date,
    unparse,
)

DESIGN_EXAMPLE = (
    'status:open channel:email assignee:me tag:billing -tag:spam from:ann@example.com '
    'customer:"Ann Lee" priority:high is:unassigned is:unread is:breached after:2026-11-01 '
    'before:2026-11-20 #123 "exact phrase" free words OR other'
)


def test_the_design_example_parses_into_the_expected_tree() -> None:
    q = parse(DESIGN_EXAMPLE)
    assert q.root == And((
        Field("status", "open"), Field("channel", "email"), Field("assignee", "me"),
        Field("tag", "billing"), Not(Field("tag", "spam")), Field("from", "ann@example.com"),
        Field("customer", "Ann Lee"), Field("priority", "high"), Field("is", "unassigned"),
        Field("is", "unread"), Field("is", "breached"), Field("after", "2026-11-01"),
        Field("before", "2026-11-20"), Ticket(123), Word("exact phrase", phrase=True), Word("free"),
        Or((Word("words"), Word("other"))),
    ))
    assert parse(unparse(q.root)) == q


def test_empty_and_blank_queries_have_no_root() -> None:
    assert parse("").root is None
    assert parse("   \t ").root is None


def test_or_binds_tighter_than_and_and_parentheses_group() -> None:
    assert parse("a b OR c").root == And((Word("a"), Or((Word("b"), Word("c")))))
    assert parse("(a b) OR c").root == Or((And((Word("a"), Word("b"))), Word("c")))
    assert parse("a AND b").root == parse("a b").root


def test_negation_of_terms_groups_and_with_not() -> None:
    assert parse("-tag:x").root == Not(Field("tag", "x"))
    assert parse("-(a OR b)").root == Not(Or((Word("a"), Word("b"))))
    assert parse("NOT refund").root == Not(Word("refund"))
    assert parse('-"exact words"').root == Not(Word("exact words", phrase=True))


def test_words_keep_hyphens_colons_in_values_and_prefix_stars() -> None:
    assert parse("e-mail").root == Word("e-mail")
    assert parse("after:2026-11-01T09:30").root == Field("after", "2026-11-01T09:30")
    assert parse("refu*").root == Word("refu", prefix=True)
    assert parse("before:-7d").root == Field("before", "-7d")


def test_field_names_are_case_insensitive_and_enum_values_lowered() -> None:
    assert parse("Status:OPEN,Pending").root == Field("status", "open,pending")
    assert parse("IS:Unread").root == Field("is", "unread")
    assert parse("assignee:ME").root == Field("assignee", "me")
    assert parse("tag:Billing").root == Field("tag", "Billing")  # names keep their case


def test_quoted_values_and_escapes() -> None:
    assert parse('customer:"Ann \\"Nan\\" Lee"').root == Field("customer", 'Ann "Nan" Lee')
    assert parse('"say \\"hi\\""').root == Word('say "hi"', phrase=True)


def test_unicode_text_is_kept_as_written() -> None:
    assert parse("退款 ügyfélszolgálat بازپرداخت").root == And(
        (Word("退款"), Word("ügyfélszolgálat"), Word("بازپرداخت")))


def test_ticket_numbers() -> None:
    assert parse("#123").root == Ticket(123)
    assert parse("#7 OR #8").root == Or((Ticket(7), Ticket(8)))


@pytest.mark.parametrize(
    ("text", "token", "position", "reason"),
    [
        ("status:opn", "status:opn", 0, "status must be one of"),
        ("tag:x stauts:open", "stauts:", 6, "unknown field"),
        ("is:unred", "is:unred", 0, "is: must be one of"),
        ('refund "late delivery', '"late delivery', 7, "unclosed quote"),
        ("(a OR b", "(", 0, "unmatched '('"),
        ("a b)", ")", 3, "unmatched ')'"),
        ("OR a", "OR", 0, "OR needs a term before it"),
        ("a OR", "OR", 2, "OR needs a term after it"),
        ("a OR OR b", "OR", 2, "OR needs a term after it"),
        ("a AND", "AND", 2, "AND needs a term after it"),
        ("#12x", "#12x", 0, "expected a conversation number"),
        ("refund - late", "-", 7, "'-' must be followed by a term"),
        ("a -", "-", 2, "'-' must be followed by a term"),
        ("after:tomorrow", "after:tomorrow", 0, "expected a date"),
        ("before:2026-13-45", "before:2026-13-45", 0, "expected a date"),
        ("tag:", "tag:", 0, "missing value"),
        ('tag:""', 'tag:""', 0, "missing value"),
        ("()", "(", 0, "empty parentheses"),
        ('""', '""', 0, "empty phrase"),
        ("*", "*", 0, "'*' must end a word"),
        ("NOT", "NOT", 0, "'NOT' must be followed by a term"),
    ],
)
def test_bad_queries_name_the_token_and_position(text: str, token: str, position: int, reason: str) -> None:
    with pytest.raises(QueryError) as info:
        parse(text)
    err = info.value
    assert err.token == token
    assert err.position == position
    assert text[position:position + len(token)] == token
    assert reason in str(err)
    assert f"'{token}'" in str(err) and f"column {position + 1}" in str(err)
    assert isinstance(err, UserError) and err.exit_code == 1


def test_unknown_field_suggests_the_closest_one() -> None:
    with pytest.raises(QueryError) as info:
        parse("asignee:bob")
    assert "did you mean 'assignee:'" in str(info.value)
    with pytest.raises(QueryError) as info:
        parse("https://example.com/x")
    assert "quote text that contains ':'" in str(info.value)
    assert parse('"https://example.com/x"').root == Word("https://example.com/x", phrase=True)


def test_caret_points_at_the_token() -> None:
    with pytest.raises(QueryError) as info:
        parse("status:open tag:x is:nope")
    assert info.value.caret() == "status:open tag:x is:nope\n                  ^^^^^^^"


def test_deep_nesting_and_too_many_terms_are_query_errors_not_crashes() -> None:
    with pytest.raises(QueryError, match="nested too deeply"):
        parse("(" * 500 + "a" + ")" * 500)
    with pytest.raises(QueryError, match="nested too deeply"):
        parse("-" * 500 + "a")
    with pytest.raises(QueryError, match="too many terms"):
        parse(" ".join(f"w{i}" for i in range(1000)))


def test_queries_compare_by_meaning_not_position() -> None:
    assert parse("  tag:x") == parse("tag:x")
    assert isinstance(parse("tag:x"), Query)
    assert str(parse("a   (b OR c)")) == "a b OR c"


# -- dates ----------------------------------------------------------------------------------------

NOW = datetime(2026, 11, 23, 15, 30, tzinfo=UTC)


def test_absolute_dates_are_midnight_in_the_desk_time_zone() -> None:
    tehran = ZoneInfo("Asia/Tehran")
    got = parse_date("2026-11-01", NOW, tehran)
    assert got == datetime(2026, 11, 1, tzinfo=tehran)
    assert got.astimezone(UTC) == datetime(2026, 10, 31, 20, 30, tzinfo=UTC)
    assert parse_date("2026-11-01T09:30", NOW, UTC) == datetime(2026, 11, 1, 9, 30, tzinfo=UTC)


def test_relative_dates_count_back_from_now() -> None:
    assert parse_date("-7d", NOW, UTC) == NOW - timedelta(days=7)
    assert parse_date("7d", NOW, UTC) == NOW - timedelta(days=7)
    assert parse_date("-3h", NOW, UTC) == NOW - timedelta(hours=3)
    assert parse_date("-2w", NOW, UTC) == NOW - timedelta(weeks=2)
    assert parse_date("-30m", NOW, UTC) == NOW - timedelta(minutes=30)
    assert parse_date("today", NOW, UTC) == datetime(2026, 11, 23, tzinfo=UTC)
    assert parse_date("yesterday", NOW, UTC) == datetime(2026, 11, 22, tzinfo=UTC)
    # "today" in Tehran (UTC+3:30) started at 20:30 UTC the day before.
    tehran = ZoneInfo("Asia/Tehran")
    late = datetime(2026, 11, 23, 22, 0, tzinfo=UTC)  # already the 24th in Tehran
    assert parse_date("today", late, tehran) == datetime(2026, 11, 24, tzinfo=tehran)


def test_absurd_relative_dates_are_errors() -> None:
    with pytest.raises(QueryError, match="too far back"):
        parse("after:-999999w")


# -- completion -----------------------------------------------------------------------------------


def test_fields_are_documented_and_completed() -> None:
    assert set(FIELDS) >= {"status", "assignee", "tag", "channel", "from", "customer", "priority",
                           "is", "after", "before"}
    assert all(FIELDS.values())
    assert complete("sta") == [("status:", FIELDS["status"])]
    assert [c for c, _ in complete("")] == [f"{name}:" for name in FIELDS]


def test_values_complete_with_negation_kept_and_live_names() -> None:
    assert [c for c, _ in complete("status:p")] == ["status:pending"]
    assert [c for c, _ in complete("-is:un")] == ["-is:unassigned", "-is:unread"]
    got = complete("tag:b", {"tag": ["billing", "bug report", "vip"]})
    assert [c for c, _ in got] == ["tag:billing", 'tag:"bug report"']
    assert [c for c, _ in complete("assignee:", {"assignee": ["alice"]})] == [
        "assignee:me", "assignee:none", "assignee:alice"]


def test_completion_uses_the_last_token_of_a_whole_query() -> None:
    assert [c for c, _ in complete("refund (status:op")] == ["status:open"]
    assert complete("nosuch:x") == []
