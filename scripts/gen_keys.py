"""Write docs/keys.md from the action registry (omnidesk/tui/actions.py).

python scripts/gen_keys.py          # rewrite docs/keys.md
python scripts/gen_keys.py --check  # exit 1 if docs/keys.md is out of date
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from omnidesk.tui.actions import markdown  # noqa: E402

TARGET = ROOT / "docs" / "keys.md"


def main(argv: list[str]) -> int:
    text = markdown() + "\n" if not markdown().endswith("\n") else markdown()
    if "--check" in argv:
        if not TARGET.exists() or TARGET.read_text("utf-8") != text:
            sys.stderr.write("docs/keys.md is out of date: run python scripts/gen_keys.py\n")
            return 1
        return 0
    TARGET.write_text(text, "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
