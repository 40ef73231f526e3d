"""Make untrusted text (subjects, bodies, names) inert before it reaches a terminal.

Strangers write the text we show. A raw ESC can move the cursor, recolour the
screen, or (OSC 52) write the agent's clipboard; a bidi override can make
`exe.txt` read as `txt.exe`. Everything shown in the TUI or printed by the CLI
on a terminal goes through `clean` or `one_line` first. Rich/Textual markup
safety is separate: callers build `rich.text.Text` objects, never markup strings.
"""

from __future__ import annotations

import re

# ESC-introduced sequences: CSI (ESC [ ... final), OSC/DCS/APC/PM/SOS (ESC ] ... BEL or ST),
# and two-byte escapes. Also their 8-bit C1 forms (CSI U+009B, OSC U+009D, DCS U+0090 ...).
_ESCAPE_SEQUENCE = re.compile(
    r"""
    (?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]             # CSI
  | (?:\x1b[\]P^_X]|[\x90\x9d\x9e\x9f\x98])      # OSC, DCS, PM, APC, SOS ...
        .*?(?:\x07|\x1b\\|\x9c|$)                #   ... up to BEL or ST (or the end)
  | \x1b[@-Z\\-_]                                # other two-byte escapes
    """,
    re.VERBOSE | re.DOTALL,
)

# Bidi embeddings, overrides and isolates, plus the invisible marks that can reorder text.
_BIDI_CONTROLS = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))


def _control_picture(ch: str) -> str:
    code = ord(ch)
    if code < 0x20:
        return chr(0x2400 + code)  # ␀ .. ␟, e.g. ESC -> ␛
    if code == 0x7F:
        return "\u2421"  # ␡
    return "\ufffd"  # C1 controls


_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _show_controls(text: str) -> str:
    return _CONTROLS.sub(lambda m: _control_picture(m.group()), text)


def clean(text: str) -> str:
    """Neutralise escapes and controls; keep newlines and tabs (as spaces).

    Escape sequences become visible, inert text (`␛[31m`), so an agent can see
    that someone tried; bidi overrides are dropped.
    """
    if not text:
        return ""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    text = _ESCAPE_SEQUENCE.sub(lambda m: _show_controls(m.group()), text)
    text = _show_controls(text)
    return text.translate(_BIDI_CONTROLS)


def one_line(text: str) -> str:
    """`clean`, then fold all white space (newlines too) into single spaces."""
    return " ".join(clean(text).split())
