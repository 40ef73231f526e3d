"""Any config file is loaded, or refused with one ConfigError line naming the file: never another error."""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omnidesk import config as cfg
from omnidesk.errors import ConfigError

_KEYS = sorted({*cfg.DESK_KEYS, *cfg.AGENT_KEYS, *cfg.VIEW_KEYS, *cfg.TUI_KEYS,
                *(k for table in cfg.CHANNEL_KEYS.values() for k in table)})
_EDGE_NUMBERS = [math.nan, math.inf, -math.inf, 1e300, 1e400, -0.0, 2**63, 2**64, -(2**63) - 1,
                 10**30, 99999999999999999999, 65535, 65536, 0, -1, 3600, 3601]
_WORDS = ["UTC", "Europe/Budapest", "Asia/Tehran", "Mars/Base", "ssl", "email", "maildir", "a@b.example", "1",
          "echo secret", "~/x", "$HOME/y"]

keys = st.sampled_from(_KEYS) | st.text(min_size=1, max_size=10)
scalars = st.one_of(st.booleans(), st.integers(), st.floats(), st.sampled_from(_EDGE_NUMBERS),
                    st.text(max_size=30), st.sampled_from(_WORDS))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(keys, inner, max_size=3), max_leaves=6)
tables = st.dictionaries(keys, values, max_size=6)
kinds = st.sampled_from(["email", "maildir", "pigeon"]) | scalars
channels = st.builds(lambda kind, rest: {"kind": kind, **rest}, kinds, tables)
documents = st.fixed_dictionaries({}, optional={
    "desk": tables, "tui": tables, "agents": st.lists(tables, max_size=2),
    "views": st.lists(tables, max_size=2), "extra": values,
    "channels": st.dictionaries(st.sampled_from(["support", "local", "bad name", ""]), channels, max_size=2),
})


def literal(value: Any) -> str:
    """`value` as a TOML literal (no writer library is needed for a test)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else "inf" if value > 0 else "-inf"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    return "{" + ", ".join(assignment(k, v) for k, v in value.items()) + "}"


def assignment(key: str, value: Any) -> str:
    return f"{json.dumps(key, ensure_ascii=False)} = {literal(value)}"


def render(doc: dict[str, Any]) -> str:
    lines = [assignment("extra", doc["extra"])] if "extra" in doc else []
    sections = [(f"[{name}]", doc[name]) for name in ("desk", "tui") if name in doc]
    sections += [(f"[[{name}]]", item) for name in ("agents", "views") for item in doc.get(name, ())]
    sections += [(f"[channels.{json.dumps(name, ensure_ascii=False)}]", body)
                 for name, body in doc.get("channels", {}).items()]
    for header, table in sections:
        lines += [header, *(assignment(k, v) for k, v in table.items())]
    return "\n".join(lines) + "\n"


def _load(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.toml"
        path.write_bytes(data)
        path.chmod(0o600)
        try:
            cfg.load_settings(path, warn=None)
        except ConfigError as exc:
            message = str(exc)
            assert message.startswith(f"{path}: ") and "\n" not in message, message
            assert "Traceback" not in message


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_any_structured_config_loads_or_is_one_line(doc: dict[str, Any]) -> None:
    _load(render(doc).encode("utf-8", "surrogatepass"))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_any_bytes_load_or_are_one_line(data: bytes) -> None:
    _load(data)


def test_a_key_with_a_newline_or_an_escape_stays_on_one_line(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[desk]\n"a\\nb\\u001b[2J" = 1\n[channels."x\\ny"]\nkind = "email"\n', "utf-8")
    try:
        cfg.load_settings(path, warn=None)
    except ConfigError as exc:
        assert str(exc) == f'{path}: desk."a\\nb\\u001b[2J": unknown key; expected one of ' \
            + ", ".join(sorted(cfg.DESK_KEYS))
    else:
        raise AssertionError("an unknown key was accepted")
