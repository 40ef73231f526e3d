"""adapters/email/fastparse.py builds exactly the tree the stdlib compat32 parser builds, or declines."""

from __future__ import annotations

import os
import random
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.email import fastparse, mime

STDLIB = BytesParser(policy=compat32)


def shape(msg: Message) -> tuple:
    """Everything mime.py reads from a parsed tree: headers, payloads, preamble/epilogue, defects."""
    payload = msg.get_payload()
    return (msg._headers, msg.preamble, msg.epilogue, [type(d).__name__ for d in msg.defects],
            msg.get_default_type(), [shape(p) for p in payload] if isinstance(payload, list) else payload)


def assert_same_or_declined(data: bytes) -> bool:
    fast = fastparse.parse(data)
    if fast is None:
        return False
    assert shape(fast) == shape(STDLIB.parsebytes(data))
    return True


def corpus_mail(corpora: Path) -> list[bytes]:
    out = []
    for root, _, files in os.walk(corpora / "email"):
        out.extend(Path(root, f).read_bytes() for f in sorted(files))
    return out


ALTERNATIVE = (
    b"From: =?utf-8?q?K=C3=A1roly?= <k@example.hu>\r\nTo: support@example.com\r\n"
    b"Subject: =?utf-8?b?6YCA5qy+?=\r\nMessage-ID: <alt@x>\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/alternative; boundary="b1"\r\n\r\npreamble\r\n'
    b"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\xc3\xbcgyf\xc3\xa9l\r\n"
    b"--b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>\xc3\xbcgyf\xc3\xa9l</p>\r\n"
    b"--b1--\r\nepilogue\r\n"
)


def test_corpus_mail_parses_identically(corpora: Path) -> None:
    mails = corpus_mail(corpora)
    fast = sum(assert_same_or_declined(m) for m in mails)
    # The corpus is mostly edge cases (mboxes, DSNs, broken MIME); still, hundreds take the fast path.
    assert fast >= 300


def test_mutated_corpus_mail_parses_identically_or_falls_back(corpora: Path) -> None:
    """Broken lines, stray boundaries, mixed line ends: the same tree as the stdlib, or None."""
    mails = [m for m in corpus_mail(corpora) if m.strip()]
    rng = random.Random(7)
    checked = 0
    for _ in range(3000):
        lines = rng.choice(mails).splitlines(keepends=True)
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(lines))
            op = rng.randrange(6)
            if op == 0 and len(lines) > 1:
                del lines[i]
            elif op == 1:
                lines.insert(i, lines[rng.randrange(len(lines))])
            elif op == 2:
                lines[i] = lines[i].rstrip(b"\r\n") + rng.choice([b"\r\n", b"\n", b"\r", b""])
            elif op == 3:
                lines[i] = b" " + lines[i]
            elif op == 4:
                lines.insert(i, rng.choice([b"\n", b"\r\n", b"--\n", b"From x\n", b":x\n", b"\r"]))
            else:
                lines[i] = lines[i][: rng.randrange(len(lines[i]) + 1)]
        checked += assert_same_or_declined(b"".join(lines))
    assert checked > 500


def test_alternative_and_nested_multipart() -> None:
    assert assert_same_or_declined(ALTERNATIVE)
    nested = (b"From: a@b.example\nMessage-ID: <n@x>\nContent-Type: multipart/mixed; boundary=outer\n\n"
              b"--outer\nContent-Type: multipart/alternative; boundary=inner\n\n--inner\n\nplain\n"
              b"--inner\nContent-Type: text/html\n\n<b>html</b>\n--inner--\n\n--outer\n"
              b"Content-Type: application/pdf; name=\"r.pdf\"\nContent-Transfer-Encoding: base64\n\n"
              b"JVBERi0=\n--outer--\n")
    assert assert_same_or_declined(nested)
    r = mime.parse(nested)
    assert r.text.strip() == "plain" and r.attachments[0].data == b"%PDF-"


@pytest.mark.parametrize("data", [
    b"From: a@b\nSubject: no separator\nthis is not a header\n\nbody\n",  # MissingHeaderBodySeparator
    b" continued\nFrom: a@b\n\nbody\n",  # first line is a continuation
    b"From a@b Mon Jan 1 00:00:00 2024\nFrom: a@b\n\nbody\n",  # mbox envelope line
    b"From: a@b\nContent-Type: multipart/mixed\n\nno boundary\n",
    b"From: a@b\nContent-Type: multipart/mixed; boundary=x\n\n--x\n\npart\n",  # no close boundary
    b"From: a@b\nContent-Type: multipart/mixed; boundary=x\n\nno start\n--x--\n",
    b"From: a@b\nContent-Type: multipart/digest; boundary=x\n\n--x\n\nFrom: c@d\n\nhi\n--x--\n",
    b"From: a@b\nContent-Type: message/rfc822\n\nFrom: c@d\n\nhi\n",
])
def test_unusual_input_is_left_to_the_stdlib(data: bytes) -> None:
    assert fastparse.parse(data) is None
    assert mime.parse(data).raw == data  # and mime still parses it, via the stdlib


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([
    "From: a@b.example", "Subject: =?utf-8?q?=C3=BC?=", " folded", "\tfolded", "",
    "Content-Type: multipart/mixed; boundary=zz", "Content-Type: text/plain", "--zz", "--zz--",
    "--zz  ", "--zzz", "body ü 退款", "X: y", ":bad", "From x", "\r",
]), max_size=25), st.sampled_from(["\n", "\r\n", "\r"]))
def test_random_line_soup(lines: list[str], eol: str) -> None:
    assert_same_or_declined(eol.join(lines).encode("utf-8", "surrogateescape"))
