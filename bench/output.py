#!/usr/bin/env python3
"""Machine output cost: the same list rows rendered as json, nl, tsv and csv.

    python bench/output.py [--rows 10000] [--runs 5]

Every format escapes or neutralises invisible characters (omnidesk/textsafe.py)
and CSV quotes formulas; this prints the best of `--runs` per format next to
plain `json.dumps`, the floor the JSON formats build on. Rows mix Hungarian,
Chinese, Persian, emoji and one hostile row in fifty.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from omnidesk.cli import records  # noqa: E402
from omnidesk.cli.output import render_csv, render_json, render_nl, render_tsv  # noqa: E402
from omnidesk.model import ConversationSummary  # noqa: E402

TEXTS = ["Számla hiányzik, kérem küldjék újra", "退款申请 订单 20261118", "سلام، سفارش من کجاست؟",
         "Order #4411 arrived broken 📦💥 please help 👩\u200d💻"]
HOSTILE = "=HYPERLINK(\"http://evil.example/\") \u202eexe.txt \x1b]52;c;ZXZpbA==\x07 \x9b2J"


def rows(n: int) -> list[dict]:
    t0 = 1_795_000_000_000
    return [records.conversation_summary(ConversationSummary(
        id=i, subject=HOSTILE if i % 50 == 0 else TEXTS[i % 4], status="open", priority="normal",
        customer_id=i, customer_name="Kovács Ádám", customer_address=f"+3630{i:07d}", channel_kind="email",
        channel_name="support", assignee="alice", team=None, tags=("billing",), message_count=3,
        last_activity_at=t0 - i, last_inbound_at=t0 - i, created_at=t0 - i, preview=TEXTS[(i + 1) % 4],
    )) for i in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    data = rows(args.rows)
    fields = records.CONVERSATION_FIELDS
    cases = {
        "json.dumps (floor)": lambda: json.dumps(data, ensure_ascii=False, indent=2),
        "json": lambda: render_json(data),
        "nl": lambda: render_nl(data),
        "tsv": lambda: render_tsv(data, fields),
        "csv": lambda: render_csv(data, fields),
    }
    for name, render in cases.items():
        best = float("inf")
        for _ in range(args.runs):
            start = time.perf_counter()
            out = render()
            best = min(best, time.perf_counter() - start)
        print(f"{name:<20} {best * 1000:7.1f} ms  {len(out.encode()) / 1e6:5.1f} MB")
    print(f"reproduce: python bench/output.py --rows {args.rows} --runs {args.runs}")


if __name__ == "__main__":
    main()
