"""Tables on a narrow terminal: one line per row, long free text cut with an ellipsis (as gh does)."""

from __future__ import annotations

from rich.cells import cell_len

from tests.cli.conftest import CliEnv, seed_emails

#: Wide characters (two cells each) and right-to-left text, far longer than 80 columns.
LONG_SUBJECT = ("退款申请：订单 A-99812 的包裹在运输途中损坏，请尽快处理并回复 — "
                "درخواست بازپرداخت برای سفارش شماره ۹۹۸۱۲ که آسیب دیده رسیده است لطفاً پیگیری کنید")


def test_list_on_80_columns_keeps_one_line_per_conversation(cli_env: CliEnv) -> None:
    ids = cli_env.run(lambda desk: seed_emails(desk, [
        ("wang.wei@qq.example", LONG_SUBJECT, "请处理"),
        ("kovacs.bence@posta.example", "Számla", "Köszönöm"),
    ]))
    result = cli_env.invoke("list", env={"OMNIDESK_FORCE_TTY": "1", "COLUMNS": "80"})
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.rstrip("\n").split("\n")
    assert len(lines) == 1 + len(ids), result.stdout  # the header, then one line per row
    assert all(cell_len(line) <= 80 for line in lines), [cell_len(line) for line in lines]
    long_row = next(line for line in lines if f"#{ids[0]}" in line)
    assert "退款申请" in long_row and "…" in long_row
    # The short columns keep their full width: status, priority and the activity time are whole.
    assert "open" in long_row and "normal" in long_row and "ago" in long_row
    assert "Számla" in next(line for line in lines if f"#{ids[1]}" in line)
