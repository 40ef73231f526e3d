"""Header decoding that agrees with `email.policy.default`, at compat32 speed.

`compat32` keeps header values as raw strings (8-bit bytes as surrogate
escapes), which is what makes it fast. Most headers in real mail are plain
ASCII: those are only unfolded, which is exactly what `policy.default` does to
them. Headers with RFC 2047 words or raw 8-bit bytes go through
`policy.default`'s own header classes, so subjects and names decode the same
way, after two repairs it lacks: raw UTF-8 bytes are decoded before parsing
(policy.default would too, but other 8-bit bytes become U+FFFD here only
after trying a charset hint), and charsets Python does not know by that name
(`windows-874`) are renamed. When the standard parser itself raises (a group
followed by a comment, nested encoded words producing CR/LF), a simpler
decoder built on `email.header.decode_header` and `email.utils` takes over.
"""

from __future__ import annotations

import binascii
import email.header
import email.utils
import re
from email import policy

from adapters.email import charsets

_HEADER_FACTORY = policy.default.header_factory

# A mailbox the fast path may read without the full RFC 5322 parser: an optional quoted or
# plain-word display name and an angle-bracketed address, or a bare address.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_LOCAL = rf"{_ATEXT}+(?:\.{_ATEXT}+)*"
_DOMAIN = r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
_SIMPLE_MAILBOX = re.compile(
    rf"""\s*(?:"((?:[^"\\\s]|\x20(?=[^"\s]))*)"|({_ATEXT}+(?:\x20{_ATEXT}+)*))?\x20?<({_LOCAL}@{_DOMAIN})>\s*"""
    rf"""|\s*({_LOCAL}@{_DOMAIN})\s*"""
)

#: Past this size an address header (thousands of encoded words) is read by the simple decoder.
MAX_STRUCTURED = 32_000


def unfold(value: str) -> str:
    """Remove CR and LF as policy.default does (the folding white space stays)."""
    if "\n" in value or "\r" in value:
        return value.replace("\r", "").replace("\n", "")
    return value


def _fix_8bit(value: str, hint: str | None) -> str:
    """Surrogate-escaped raw bytes -> text: UTF-8 if valid (RFC 6532), else the hint charset."""
    try:
        value.encode("ascii")
        return value
    except UnicodeEncodeError:
        pass
    try:
        data = value.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:
        return value  # already real text
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    codec = charsets.lookup(hint)
    if codec and codec not in ("ascii", "utf-8"):
        return data.decode(codec, "replace")
    return data.decode("utf-8", "replace")


def _plain(value: str) -> bool:
    return value.isascii() and "=?" not in value


def decode_text(value: str | None, hint: str | None = None) -> str:
    """An unstructured header (Subject, names, filenames) -> text, as policy.default shows it."""
    if not value:
        return ""
    value = unfold(value)
    if _plain(value):
        return value
    if value.isascii():
        fast = _only_encoded_words(value)
        if fast is not None:
            return fast
    value = _fix_8bit(value, hint)
    if "=?" in value:
        value = charsets.fix_encoded_word_charsets(value)
    try:
        return str(_HEADER_FACTORY("subject", value))
    except Exception:
        return _simple_decode(value)


_ENCODED_WORD = re.compile(r"=\?([^?*\s]+)(?:\*[^?\s]*)?\?([bBqQ])\?([^?\s]*)\?=")
_ONLY_WORDS = re.compile(r"\s*(?:=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=\s*)+")
_PLAIN_PREFIX = re.compile(r"(?:[^\s=\\\"()]+[ \t]+)+(?==\?)")


def _only_encoded_words(value: str) -> str | None:
    """A value made only of encoded words (the usual non-ASCII subject), decoded without the
    full RFC 5322 parser; None when anything is unusual (the caller then uses policy.default).

    Whitespace between encoded words is dropped (RFC 2047 6.2) and runs of words in one
    charset are decoded together, so a character split across two words survives, as it
    does with policy.default.
    """
    prefix = ""
    if not _ONLY_WORDS.fullmatch(value):
        # "Re: =?utf-8?...?=": plain words, white space, then only encoded words.
        head = _PLAIN_PREFIX.match(value)
        if head is None or not _ONLY_WORDS.fullmatch(value, head.end()):
            return None
        prefix, value = head.group(0), value[head.end() :]
    runs: list[tuple[str, bytearray]] = []
    for charset, encoding, text in _ENCODED_WORD.findall(value):
        codec = charsets.lookup(charset)
        if codec is None:
            return None
        try:
            if encoding in "bB":
                if len(text) % 4:
                    return None  # bad padding: let the full parser record the defect
                data = binascii.a2b_base64(text.encode("ascii"), strict_mode=True)
            else:
                data = binascii.a2b_qp(text.encode("ascii"), header=True)
        except (binascii.Error, ValueError):
            return None
        if runs and runs[-1][0] == codec:
            runs[-1][1].extend(data)
        else:
            runs.append((codec, bytearray(data)))
    out = []
    for codec, data in runs:
        try:
            out.append(bytes(data).decode(codec))
        except (UnicodeDecodeError, LookupError):
            return None
    # White space before the first and after the last word is kept, as policy.default does.
    decoded = prefix + value[: len(value) - len(value.lstrip())] + "".join(out) + value[len(value.rstrip()) :]
    if "\r" in decoded or "\n" in decoded or "\x00" in decoded:
        return None
    return decoded


def _simple_decode(value: str) -> str:
    """RFC 2047 decoding with email.header, never raising."""
    try:
        parts = email.header.decode_header(value)
    except Exception:
        return value
    out = []
    for chunk, charset in parts:
        if isinstance(chunk, bytes):
            text, _ = charsets.decode(chunk, charset)
            out.append(text)
        else:
            out.append(chunk)
    return "".join(out).replace("\r", "").replace("\n", "")


def parse_addresses(value: str | None, hint: str | None = None) -> list[tuple[str, str]]:
    """An address header -> [(display name, address)], as policy.default's `.addresses`."""
    if not value:
        return []
    value = unfold(value)
    if _plain(value):
        m = _SIMPLE_MAILBOX.fullmatch(value)
        if m:
            if m.group(4):
                return [("", m.group(4))]
            return [(m.group(1) or m.group(2) or "", m.group(3))]
    value = _fix_8bit(value, hint)
    if "=?" in value:
        value = charsets.fix_encoded_word_charsets(value)
    if len(value) <= MAX_STRUCTURED:
        try:
            header = _HEADER_FACTORY("to", value)
            return [(a.display_name, a.addr_spec) for a in header.addresses]
        except Exception:
            pass
    return _simple_addresses(value)


_ADDR_SPEC = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")


def _simple_addresses(value: str) -> list[tuple[str, str]]:
    """email.utils.getaddresses; for what even that cannot read, every addr-spec in the text."""
    try:
        pairs = email.utils.getaddresses([value])
    except Exception:  # RecursionError on thousands of encoded words
        pairs = []
    if not any(addr for _, addr in pairs):
        return [("", addr) for addr in dict.fromkeys(_ADDR_SPEC.findall(value))]
    out = []
    for name, addr in pairs:
        if not addr and not name:
            continue
        out.append((_simple_decode(name).strip(), addr.strip()))
    return out


_MSGID = re.compile(r"<([^<>\s]+)>")


def message_ids(value: str | None) -> list[str]:
    """All `<id>` tokens of Message-ID / In-Reply-To / References, in order, as `<id>`."""
    if not value:
        return []
    value = unfold(value)
    found = [f"<{m}>" for m in _MSGID.findall(value)]
    if not found:
        bare = value.strip().split()
        # Some senders omit the brackets: "Message-ID: abc@host".
        found = [f"<{token.strip('<>')}>" for token in bare[:1] if "@" in token]
    return found
