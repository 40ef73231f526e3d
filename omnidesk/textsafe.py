"""Make untrusted text (subjects, bodies, names) inert before it reaches a terminal.

Strangers write the text we show. A raw ESC can move the cursor, recolour the
screen, or (OSC 52) write the agent's clipboard; a bidi override can make
`exe.txt` read as `txt.exe`. Everything shown in the TUI or printed by the CLI
on a terminal goes through `clean` or `one_line` first; machine formats keep the
data but escape what is invisible (`is_invisible`, `escape_code`, `escape_json`) or
neutralise it as the table does (`inert`, for CSV). Rich/Textual markup safety is
separate: callers build `rich.text.Text` objects, never markup strings.
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
#: Anything `inert` changes: controls (CR and ESC among them), C1, bidi controls.
_NEEDS_WORK = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _show_controls(text: str) -> str:
    return _CONTROLS.sub(lambda m: _control_picture(m.group()), text)


def inert(text: str) -> str:
    """Neutralise escapes and controls; keep newlines (CR and CRLF become LF) and tabs.

    Escape sequences become visible, inert text (`␛[31m`), so an agent can see
    that someone tried; bidi overrides are dropped.
    """
    if not text:
        return ""
    if text.isprintable() or not _NEEDS_WORK.search(text):
        return text  # most text: one quick scan, no copies (CSV calls this for every cell)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _ESCAPE_SEQUENCE.sub(lambda m: _show_controls(m.group()), text)
    text = _show_controls(text)
    return text.translate(_BIDI_CONTROLS)


def clean(text: str) -> str:
    """`inert`, with tabs as four spaces (a terminal's tab stops would misalign columns)."""
    return inert(text).replace("\t", "    ")


def one_line(text: str) -> str:
    """`clean`, then fold all white space (newlines too) into single spaces."""
    return " ".join(clean(text).split())


# Every character that is invisible or acts on the terminal or the text around it:
# Unicode categories Cc (C0, DEL, C1), Cf (bidi controls and marks, zero-width
# characters, BOM, tags), Zl and Zp, but for the two joiners (ZWNJ, ZWJ): Persian and
# Indic words and emoji sequences are made of them, so they are text. Written out
# because building the set from unicodedata at start-up costs a tenth of a second;
# tests/unit/test_textsafe.py checks it against unicodedata. C0 stands apart: json.dumps
# escapes it already. The few above U+FFFF are matched as one span and then looked up: a regex class of seven
# astral ranges scans text four times slower than one.
_C0 = "\x00-\x1f"
_BMP_INVISIBLE = (
    "\x7f-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e"
    "\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
)
_ASTRAL_INVISIBLE = frozenset(
    code for first, last in ((0x110BD, 0x110BD), (0x110CD, 0x110CD), (0x13430, 0x1343F), (0x1BCA0, 0x1BCA3),
                             (0x1D173, 0x1D17A), (0xE0001, 0xE0001), (0xE0020, 0xE007F))
    for code in range(first, last + 1)
)
_ASTRAL_SPAN = "\U000110bd-\U000e007f"
#: A regex character class (no brackets) of every invisible character and, above U+FFFF,
#: of some visible ones (emoji): a match is invisible when `is_invisible` says so.
INVISIBLE_CANDIDATES = _C0 + _BMP_INVISIBLE + _ASTRAL_SPAN
_JSON_CANDIDATES = re.compile(f"[{_BMP_INVISIBLE}{_ASTRAL_SPAN}]")


def is_invisible(ch: str) -> bool:
    """For a character matched by INVISIBLE_CANDIDATES: is it really one of them?"""
    return ch <= "\uffff" or ord(ch) in _ASTRAL_INVISIBLE


def escape_code(ch: str) -> str:
    """One character as a backslash escape: `\\x1b`, `\\u202e`, `\\U000e0041`."""
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _json_code(ch: str) -> str:
    code = ord(ch)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000  # JSON has no escape above U+FFFF: a UTF-16 surrogate pair
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def escape_json(json_text: str) -> str:
    """JSON text (json.dumps, ensure_ascii=False) with every invisible character \\u-escaped.

    json.dumps escapes C0 controls itself; outside strings JSON holds only ASCII, so
    every other match is inside a string and parses back to the same character.
    """
    # str.isprintable is false for every invisible character and several times faster
    # than the regex; newlines are the indentation's (a JSON string holds none raw).
    if json_text.replace("\n", " ").isprintable():
        return json_text
    return _JSON_CANDIDATES.sub(_json_sub, json_text)


def _json_sub(m: re.Match[str]) -> str:
    ch = m.group()
    return _json_code(ch) if is_invisible(ch) else ch
