"""Charset names as mail really uses them, and best-effort decoding of bytes.

Mail declares charsets Python does not know under that name (`windows-874`,
`x-sjis`), glues junk onto them (`charset=us-ascii`, `utf-8return-path: ...`)
or invents them (`x-unknown`, `fakescii`). `lookup` maps a declared name to a
Python codec or None; `decode` never fails: a known charset decodes with
replacement characters, an unknown one tries UTF-8 and then windows-1252.
"""

from __future__ import annotations

import codecs
import re
from functools import lru_cache

# Names seen in mail that Python lacks or gets subtly wrong. Values are Python codec names.
_ALIASES = {
    "windows-874": "cp874",
    "x-windows-874": "cp874",
    "ms874": "cp874",
    "x-sjis": "shift_jis",
    "sjis": "shift_jis",
    "x-euc-jp": "euc_jp",
    "ks_c_5601-1987": "cp949",  # Microsoft's label for its Korean code page, a superset of EUC-KR
    "ks_c_5601": "cp949",
    "iso-8859-8-i": "iso8859_8",
    "iso-8859-6-i": "iso8859_6",
    "x-mac-cyrillic": "mac_cyrillic",
    "x-user-defined": "latin_1",
    "unicode-1-1-utf-7": "utf_7",
    "x-unicode20utf8": "utf_8",
    "utf8mb4": "utf_8",
    "x-gbk": "gbk",
    "cp-850": "cp850",
    "ansi_x3.4-1968": "ascii",
}

# Labels that mean "we do not know": decode by guessing, never trust them.
_UNKNOWN = frozenset({"x-unknown", "unknown", "unknown-8bit", "x-invalid", "none", "fakescii", "default"})

_PREFIX = re.compile(r"^(?:charset\s*=\s*)?[\"']?([a-z0-9_.:+-]+)")
_LEADING_KNOWN = re.compile(
    r"^(utf-?8|us-ascii|iso-?8859-\d{1,2}|windows-\d{3,4}|koi8-[ru]|big5|gb18030|gbk)"
)


@lru_cache(maxsize=512)
def lookup(name: str | None) -> str | None:
    """Declared charset label -> Python codec name, or None when unknown or bogus."""
    if not name:
        return None
    label = name.strip().lower()
    match = _PREFIX.match(label)
    if not match:
        return None
    label = match.group(1)
    if label in _UNKNOWN:
        return None
    label = _ALIASES.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        pass
    glued = _LEADING_KNOWN.match(label)  # "utf-8return-path: ..." -> "utf-8"
    if glued:
        try:
            return codecs.lookup(glued.group(1)).name
        except LookupError:
            return None
    return None


def decode(data: bytes, charset: str | None) -> tuple[str, str | None]:
    """Bytes -> text, never raising. Returns (text, defect or None).

    A known charset decodes with U+FFFD for bad bytes. An unknown label, or
    8-bit bytes under a 7-bit label, try strict UTF-8 first (most mislabelled
    mail is UTF-8), then windows-1252, which maps nearly every byte.
    """
    codec = lookup(charset)
    if codec in ("ascii", None) or codec == "utf-8":
        try:
            return data.decode("utf-8"), (None if codec else _unknown_defect(charset, data))
        except UnicodeDecodeError:
            if codec == "utf-8":
                return data.decode("utf-8", "replace"), "UndecodableBytes:utf-8"
        return data.decode("cp1252", "replace"), f"CharsetGuessed:{charset or 'none'}->cp1252"
    try:
        return data.decode(codec, "replace"), None
    except Exception:  # a codec that cannot even replace (rare stateful codecs)
        return data.decode("utf-8", "replace"), f"CharsetError:{charset}"


def _unknown_defect(charset: str | None, data: bytes) -> str | None:
    if charset is None or data.isascii():
        return None
    return f"CharsetUnknown:{charset}"


_ENCODED_WORD_CHARSET = re.compile(r"=\?([^?*\s]+)((?:\*[^?\s]*)?)\?([bBqQ])\?")


def fix_encoded_word_charsets(value: str) -> str:
    """Rename charsets of RFC 2047 words that Python lacks (windows-874 -> cp874).

    Unknown labels become utf-8 (the usual truth), so the standard decoder can
    read the words instead of giving up on them.
    """

    def rename(m: re.Match[str]) -> str:
        label = m.group(1)
        try:
            codecs.lookup(label)
            return m.group(0)
        except LookupError:
            codec = lookup(label) or "utf-8"
            return f"=?{codec}{m.group(2)}?{m.group(3)}?"

    return _ENCODED_WORD_CHARSET.sub(rename, value)
