"""adapters/email/mime.py on specific cases: charsets, broken input, structure, flags, ids."""

from __future__ import annotations

import base64
import email
import time
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.base import FLAG_AUTO_REPLY, FLAG_BOUNCE, FLAG_LIST, FLAG_QUARANTINED, NO_AUTO_ANSWER
from adapters.email import mime


def corpus(corpora: Path, rel: str) -> bytes:
    return (corpora / "email" / rel).read_bytes()


def b_word(text: str, charset: str) -> str:
    return f"=?{charset}?B?{base64.b64encode(text.encode(charset)).decode()}?="


def message(headers: str, body: bytes = b"Hello\n") -> bytes:
    return headers.strip("\n").replace("\n", "\r\n").encode("ascii") + b"\r\n\r\n" + body


# -- charsets ----------------------------------------------------------------------


def test_iso_2022_jp(corpora: Path) -> None:
    r = mime.parse(corpus(corpora, "letters/test_japanese_plaintext_iso-2022-jp_over_7bit.txt"))
    assert r.subject == "📧 Test いろは歌"
    assert r.sender.display_name == "郵便アリス"
    assert r.sender.address == "alice.yuubin@example.com"
    assert [a.display_name for a in r.recipients] == ["郵便ボブ", "郵便キャロル"]
    assert "色は匂えど" in r.text


@pytest.mark.parametrize("name", [
    "test_chinese_plaintext_gbk_over_base64.txt",
    "test_chinese_plaintext_gb18030_over_quoted-printable.txt",
    "test_chinese_multipart_mixed_gb18030_over_base64.txt",
])
def test_gbk_and_gb18030(corpora: Path, name: str) -> None:
    r = mime.parse(corpus(corpora, f"letters/{name}"))
    assert r.subject == "📧 Test 施氏食狮史"
    assert r.sender.display_name == "艾莉絲 发件人"
    assert "石室诗士施氏" in r.text


def test_iso_8859_2_hungarian_and_polish(corpora: Path) -> None:
    r = mime.parse(corpus(corpora, "letters/test_polish_plaintext_iso-8859-2_over_base64.txt"))
    assert r.sender.display_name == "Nadająca, Alicja"
    assert r.text.startswith("Jeżu klątw, spłódź Finom część gry hańb!")
    raw = message(
        f"From: {b_word('Kovács Éva', 'iso-8859-2')} <eva@example.hu>\nSubject: "
        f"{b_word('Ügyfélszolgálat: árvíztűrő tükörfúrógép', 'iso-8859-2')}\n"
        "Message-ID: <hu@example.hu>\nContent-Type: text/plain; charset=iso-8859-2\n"
        "Content-Transfer-Encoding: 8bit",
        "Kérem, segítsen: őŐűŰ\n".encode("iso-8859-2"),
    )
    r = mime.parse(raw)
    assert r.subject == "Ügyfélszolgálat: árvíztűrő tükörfúrógép"
    assert r.sender.display_name == "Kovács Éva"
    assert r.text == "Kérem, segítsen: őŐűŰ\n"


def test_big5() -> None:
    raw = message(
        f"From: {b_word('陳小明', 'big5')} <chen@example.tw>\nSubject: {b_word('退款申請', 'big5')}\n"
        "Message-ID: <b5@example.tw>\nContent-Type: text/plain; charset=big5\n"
        "Content-Transfer-Encoding: base64",
        base64.b64encode("我的訂單還沒有到。\n".encode("big5")) + b"\n",
    )
    r = mime.parse(raw)
    assert r.subject == "退款申請"
    assert r.sender.display_name == "陳小明"
    assert r.text == "我的訂單還沒有到。\n"


def test_windows_1256_persian_rtl() -> None:
    subject = "درخواست بازپرداخت سفارش"
    raw = message(
        f"From: {b_word('مريم احمدي', 'windows-1256')} <maryam@example.ir>\n"
        f"Subject: {b_word(subject, 'windows-1256')}\nDate: Mon, 2 Nov 2026 09:15:00 +0330\n"
        "Message-ID: <fa@example.ir>\nContent-Type: text/plain; charset=windows-1256\n"
        "Content-Transfer-Encoding: quoted-printable",
        b"=D3=E1=C7=E3\n",  # "سلام" in windows-1256
    )
    r = mime.parse(raw)
    assert r.subject == subject
    assert r.sender.display_name == "مريم احمدي"  # Arabic yeh: windows-1256 has no Persian ی
    assert r.text == "سلام\n"
    assert r.sent_at.utcoffset() == timedelta(hours=3, minutes=30)  # Tehran time kept


def test_koi8_r(corpora: Path) -> None:
    raw = message(
        f"From: {b_word('Иван Петров', 'koi8-r')} <ivan@example.ru>\n"
        f"Subject: {b_word('Возврат денег', 'koi8-r')}\nMessage-ID: <ru@example.ru>\n"
        "Content-Type: text/plain; charset=koi8-r\nContent-Transfer-Encoding: 8bit",
        "Здравствуйте!\n".encode("koi8-r"),
    )
    r = mime.parse(raw)
    assert (r.subject, r.sender.display_name, r.text) == ("Возврат денег", "Иван Петров", "Здравствуйте!\n")
    ukr = mime.parse(corpus(corpora, "mimekit/tnef/ukr.eml"))  # Outlook, KOI8-R body + TNEF
    assert "шостий" in ukr.text
    assert [a.filename for a in ukr.attachments] == ["winmail.dat"]


def test_windows_874_which_python_does_not_know_by_that_name(corpora: Path) -> None:
    raw = corpus(corpora, "letters/test_thai_plaintext_windows-874_over_base64.txt")
    with pytest.raises(LookupError):  # what the standard library does with it
        email.message_from_bytes(raw, policy=policy.default).get_body().get_content()
    r = mime.parse(raw)
    assert r.subject == "📧 Test แพนแกรมภาษาไทย"
    assert r.sender.display_name == "อลิซ ผู้ส่งจดหมาย"
    assert r.text.startswith("เป็นมนุษย์สุดประเสริฐเลิศคุณค่า")
    word = b_word("ภาษาไทย", "cp874").replace("cp874", "windows-874")
    words = mime.parse(message(f"From: a@example.th\nSubject: {word}"))
    assert words.subject == "ภาษาไทย"


def test_unknown_charsets_are_best_effort(corpora: Path) -> None:
    r = mime.parse(corpus(corpora, "letters/test_english_plaintext_unknown_charset.txt"))
    assert r.text.strip()
    r = mime.parse(message("From: a@example.com\nSubject: =?x-unknown?Q?caf=C3=A9?=\n"
                           "Content-Type: text/plain; charset=fakescii", "café\n".encode()))
    assert r.subject == "café"
    assert r.text == "café\n"


def test_raw_8bit_header_uses_the_body_charset() -> None:
    raw = (b"From: =?utf-8?B?" + base64.b64encode("Zoë".encode()) + b"?= <z@example.com>\r\n"
           b"Subject: " + "Réclamation facture".encode("latin-1") + b"\r\n"
           b"Content-Type: text/plain; charset=iso-8859-1\r\n\r\n" + "Merci\n".encode("latin-1"))
    r = mime.parse(raw)
    assert r.subject == "Réclamation facture"
    assert r.sender.display_name == "Zoë"


def test_utf7_bounce(corpora: Path) -> None:
    r = mime.parse(corpus(corpora, "sisimai/maildir/bsd/lhost-outlook-01.eml"))
    assert r.text.startswith("This is an automatically generated Delivery Status Notification.")
    assert FLAG_BOUNCE in r.flags
    kinds = [a.content_type for a in r.attachments]
    assert kinds == ["message/delivery-status", "message/rfc822"]
    assert b"Status: 5.2.2" in r.attachments[0].data


# -- broken and huge input ---------------------------------------------------------


def test_three_thousand_parts(corpora: Path) -> None:
    started = time.perf_counter()
    r = mime.parse(corpus(corpora, "flanker/enclosed-endless.eml"))
    assert time.perf_counter() - started < 10
    assert r.subject == "Wow"
    assert r.text == "Hello\n"
    assert r.attachments[0].content_type == "message/rfc822"
    assert len(r.attachments[0].data) > 2_000_000
    assert "LeadingJunk" in r.defects  # the 255-space line before the headers


def test_torture(corpora: Path) -> None:
    r = mime.parse(corpus(corpora, "flanker/torture.eml"))
    assert r.subject == "Multi-media mail demonstration "
    assert r.sender.address == "mrc@CAC.Washington.EDU"
    assert "demonstration of multi-part mail" in r.text
    assert len(r.attachments) >= 10
    assert any(a.content_type == "message/rfc822" for a in r.attachments)


def test_missing_message_id_gets_a_stable_synthetic_one() -> None:
    lf = b"From: a@example.com\nSubject: no id\nDate: Mon, 2 Nov 2026 10:00:00 +0000\n\nBody line\n"
    crlf = lf.replace(b"\n", b"\r\n")
    with_received = b"Received: from x by y; Mon, 2 Nov 2026 10:00:01 +0000\n" + lf
    first, again, other_copy = mime.parse(lf), mime.parse(lf), mime.parse(crlf)
    assert first.external_id == again.external_id == other_copy.external_id
    assert first.external_id.endswith("@omnidesk.invalid>")
    assert mime.parse(with_received).external_id == first.external_id  # another delivery, same message
    assert mime.parse(lf.replace(b"Body line", b"Other body")).external_id != first.external_id
    assert first.meta["synthetic_id"] is True
    assert "MissingMessageId" in first.defects


def test_nul_bytes(corpora: Path) -> None:
    raw = corpus(corpora, "sisimai/maildir/bsd/lhost-x2-04.eml")
    assert b"\x00" in raw
    r = mime.parse(raw)
    assert "\x00" not in r.text
    assert r.subject == "Delivery failure"
    assert FLAG_BOUNCE in r.flags
    r = mime.parse(b"From: a@example.com\nSubject: nul\x00here\n\nbody\x00text\n")
    assert "\x00" not in r.text


@pytest.mark.parametrize("raw", [b"", b" ", b"\n\n\r\n", b"\t \n"])
def test_empty_input_is_quarantined(raw: bytes) -> None:
    r = mime.parse(raw)
    assert FLAG_QUARANTINED in r.flags
    assert r.defects == ("EmptyMessage",)
    assert r.raw == raw


@pytest.mark.parametrize("rel", ["enmime/mail/erroneous.raw", "letters/test_english_empty.txt",
                                 "sisimai/mailbox/size-2"])
def test_non_messages_are_quarantined_not_dropped(corpora: Path, rel: str) -> None:
    raw = corpus(corpora, rel)
    r = mime.parse(raw)
    assert FLAG_QUARANTINED in r.flags
    assert r.raw == raw
    assert r.external_id.endswith("@quarantine.omnidesk.invalid>")
    assert r.text.strip() == raw.decode("utf-8", "replace").strip()


def test_bom_before_headers(corpora: Path) -> None:
    raw = corpus(corpora, "mimekit/messages/feedback-report.txt")
    assert raw.startswith(b"\xef\xbb\xbf")
    assert email.message_from_bytes(raw, policy=policy.default)["subject"] is None  # stdlib sees no headers
    r = mime.parse(raw)
    assert r.subject == "FW: Earn money"
    assert r.sender.address == "abusedesk@example.com"
    assert FLAG_BOUNCE in r.flags  # an ARF complaint is not a customer writing
    assert "LeadingJunk" in r.defects


@pytest.mark.parametrize("name", ["iphone.eml", "mailgun-pic.eml", "russian-attachment-yahoo.eml"])
def test_line_of_spaces_before_headers(corpora: Path, name: str) -> None:
    raw = corpus(corpora, f"flanker/{name}")
    assert raw.startswith(b" " * 255)
    r = mime.parse(raw)
    assert r.sender.address and "@" in r.sender.address
    assert FLAG_QUARANTINED not in r.flags
    assert r.subject == email.message_from_bytes(raw, policy=policy.default)["subject"]


def test_invalid_header_line_does_not_swallow_the_body(corpora: Path) -> None:
    """letters' `X-Script/function/<TAB> ...:` fields end the stdlib's header block early."""
    raw = corpus(corpora, "letters/test_english_plaintext_utf-8_over_base64.txt")
    broken = email.message_from_bytes(raw, policy=policy.default).get_content()
    r = mime.parse(raw)
    assert len(r.text) > 5 * len(broken)
    assert "InvalidHeaderLine" in r.defects
    assert "X-Script" not in r.text


def test_defects_are_recorded(corpora: Path) -> None:
    r = mime.parse(corpus(corpora, "flanker/missing-final-boundary.eml"))
    assert "CloseBoundaryNotFoundDefect" in r.defects
    assert FLAG_QUARANTINED not in r.flags
    assert r.text.strip()


def test_missing_sender_is_quarantined_with_best_effort_text() -> None:
    r = mime.parse(b"Subject: who sent this?\nContent-Type: text/plain\n\nSome text\n")
    assert FLAG_QUARANTINED in r.flags
    assert r.text == "Some text\n"
    assert "MissingSender" in r.defects


def test_huge_subject_and_header(corpora: Path) -> None:
    r = mime.parse(corpus(corpora, "flanker/long-header.eml"))
    assert len(r.subject) > 10_000
    r = mime.parse(corpus(corpora, "mimekit/messages/stack-overflow.txt"))  # 135 KB To:
    assert r.recipients


def test_deep_nesting_never_raises() -> None:
    depth = 400
    parts = [f'Content-Type: multipart/mixed; boundary="b{i}"\n\n--b{i}\n' for i in range(depth)]
    raw = "From: a@example.com\nSubject: deep\n" + "".join(parts) + "Content-Type: text/plain\n\ndeep\n"
    raw = raw.encode()
    r = mime.parse(raw)
    assert r.subject == "deep"


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=2000))
def test_parse_never_raises_on_random_bytes(raw: bytes) -> None:
    r = mime.parse(raw)
    assert r.raw == raw


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300))
def test_parse_never_raises_on_random_headers(value: str) -> None:
    raw = f"From: {value}\nSubject: {value}\nTo: {value}\n\n{value}".encode("utf-8", "surrogatepass")
    assert mime.parse(raw).raw == raw


# -- structure ---------------------------------------------------------------------


def test_html_only_mail_becomes_text(corpora: Path) -> None:
    r = mime.parse(corpus(corpora, "enmime/mail/html-only-inline.raw"))
    assert r.text.strip() == "Test of HTML section"
    assert r.html is not None and "<" in r.html
    assert r.meta["text_from_html"] is True
    table = mime.parse(message(
        "From: a@example.com\nSubject: t\nContent-Type: text/html; charset=utf-8",
        "<html><body><p>Szia!</p><table><tr><td>Rendelés</td><td>#4411</td></tr></table>"
        "<ul><li>első</li></ul></body></html>".encode(),
    ))
    for word in ("Szia!", "Rendelés", "#4411", "első"):
        assert word in table.text
    assert "<" not in table.text


def test_plain_alternative_preferred_and_html_kept() -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "Ann <ann@example.com>", "support@example.com", "alt"
    msg.set_content("plain version\n")
    msg.add_alternative("<p>html version</p>", subtype="html")
    r = mime.parse(msg.as_bytes())
    assert r.text == "plain version\n"
    assert r.html is not None and "html version" in r.html


def test_rfc2231_filenames(corpora: Path) -> None:
    r = mime.parse(corpus(corpora, "mail/multi_charset/japanese_attachment_long_name.eml"))
    assert [a.filename for a in r.attachments] == ["かきくけこかきくけこかきくけこかきくけこかきくけこ.txt"]
    raw = message(
        'From: a@example.com\nSubject: files\nContent-Type: multipart/mixed; boundary="x"',
        b"--x\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--x\r\n"
        b"Content-Type: application/pdf\r\n"
        b"Content-Disposition: attachment; filename*=utf-8''sz%C3%A1mla%20%E7%99%BC%E7%A5%A8.pdf\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--x\r\n"
        b"Content-Type: text/plain; name=\"=?utf-8?B?" + base64.b64encode("نامه.txt".encode()) + b"?=\"\r\n"
        b"Content-Disposition: attachment\r\n\r\nfa\r\n--x--\r\n",
    )
    r = mime.parse(raw)
    assert r.text.strip() == "see attached"
    assert [(a.filename, a.content_type) for a in r.attachments] == [
        ("számla 發票.pdf", "application/pdf"), ("نامه.txt", "text/plain"),
    ]
    assert r.attachments[0].data == b"%PDF-"


def test_inline_images() -> None:
    msg = EmailMessage()
    msg["From"], msg["Subject"] = "a@example.com", "logo"
    msg.set_content("text\n")
    msg.add_alternative('<p><img src="cid:logo@x"></p>', subtype="html")
    msg.get_payload()[1].add_related(b"\x89PNG....", "image", "png", cid="<logo@x>")
    r = mime.parse(msg.as_bytes())
    assert r.text == "text\n"
    [image] = r.attachments
    assert (image.content_type, image.content_id, image.inline) == ("image/png", "logo@x", True)
    assert image.data == b"\x89PNG...."


def test_format_flowed_is_joined() -> None:
    raw = message("From: a@example.com\nSubject: f\nContent-Type: text/plain; charset=utf-8; format=flowed",
                  b"This is one long \r\nparagraph.\r\n\r\n> quoted \r\n> line\r\n-- \r\nsig\r\n")
    r = mime.parse(raw)
    assert r.text.startswith("This is one long paragraph.\n\n> quoted line\n-- \nsig")


# -- headers, ids, flags -----------------------------------------------------------


def test_thread_refs_oldest_first_parent_last() -> None:
    raw = message("From: a@example.com\nMessage-ID: <c@x>\nIn-Reply-To: <b@x>\n"
                  "References: <a@x>\n <b@x> <a@x>\nSubject: Re: x")
    assert mime.parse(raw).thread_refs == ("<a@x>", "<b@x>")
    only_reply = message("From: a@example.com\nMessage-ID: <c@x>\nIn-Reply-To: Ann's note <b@x>\nSubject: x")
    assert mime.parse(only_reply).thread_refs == ("<b@x>",)


def test_date_and_fallbacks() -> None:
    r = mime.parse(message("From: a@example.com\nDate: Tue, 3 Nov 2026 08:00:00 +0800\nSubject: d"))
    assert r.sent_at == datetime(2026, 11, 3, 0, 0, tzinfo=UTC)
    assert r.sent_at.utcoffset() == timedelta(hours=8)
    received = mime.parse(message("Received: from a by b; Wed, 4 Nov 2026 10:00:00 -0500\nFrom: a@x.com"))
    assert received.sent_at == datetime(2026, 11, 4, 15, 0, tzinfo=UTC)
    assert "DateFromReceived" in received.defects
    when = datetime(2020, 1, 1, tzinfo=UTC)
    bad = mime.parse(message("From: a@example.com\nDate: yesterday-ish"), fallback_date=when)
    assert bad.sent_at == when
    assert "MissingDate" in bad.defects


@pytest.mark.parametrize(("headers", "flag"), [
    ("Auto-Submitted: auto-replied", FLAG_AUTO_REPLY),
    ("X-Autoreply: yes", FLAG_AUTO_REPLY),
    ("Precedence: auto_reply", FLAG_AUTO_REPLY),
    ("Precedence: bulk", FLAG_LIST),
    ("List-Id: <users.lists.example.com>", FLAG_LIST),
    ("Subject: Automatic reply: your order", FLAG_AUTO_REPLY),
    ("From: MAILER-DAEMON@mx.example.com", FLAG_BOUNCE),
])
def test_automatic_mail_is_flagged(headers: str, flag: str) -> None:
    fields = {"From": "ann@example.com", "Subject": "hello"}
    name, _, value = headers.partition(": ")
    fields[name] = value
    raw = message("\n".join(f"{k}: {v}" for k, v in fields.items()))
    r = mime.parse(raw)
    assert flag in r.flags
    assert r.flags & NO_AUTO_ANSWER


def test_auto_submitted_no_is_a_person() -> None:
    r = mime.parse(message("From: ann@example.com\nAuto-Submitted: no\nSubject: Undelivered parcel"))
    assert not r.flags


@pytest.mark.parametrize(("rel", "flag"), [
    ("sisimai/maildir/bsd/rfc3834-01.eml", FLAG_AUTO_REPLY),
    ("flanker/bounce/mailbox-full.eml", FLAG_BOUNCE),
    ("mimekit/messages/delivery-status.txt", FLAG_BOUNCE),
    ("mimekit/openpgp/[Announce] GnuPG 2.1.20 released.eml", FLAG_LIST),
    ("mimekit/messages/disposition-notification.txt", FLAG_AUTO_REPLY),
])
def test_corpus_flags(corpora: Path, rel: str, flag: str) -> None:
    assert flag in mime.parse(corpus(corpora, rel)).flags


def test_sisimai_bounces_are_mostly_recognised(corpora: Path) -> None:
    files = sorted((corpora / "email/sisimai/maildir/bsd").glob("lhost-*.eml"))
    flagged = sum(FLAG_BOUNCE in mime.parse(p.read_bytes()).flags for p in files)
    assert flagged / len(files) > 0.95


def test_ordinary_customer_mail_has_no_flags(corpora: Path) -> None:
    for p in sorted((corpora / "email/talon/standard_replies").glob("*.eml")):
        assert not mime.parse(p.read_bytes()).flags, p.name


def test_list_and_auto_headers_kept_in_meta() -> None:
    r = mime.parse(message("From: a@x.com\nList-Id: Users <users.example.com>\nDelivered-To: support@x.com"))
    assert r.meta["list-id"] == "Users <users.example.com>"
    assert r.meta["delivered-to"] == "support@x.com"


def test_quote_folding_keeps_full_text() -> None:
    body = ("Köszönöm, megérkezett.\n\nOn Mon, 2 Nov 2026 at 10:00, Support <support@example.com> wrote:\n"
            "> Your parcel left the warehouse.\n").encode()
    headers = "From: a@example.hu\nSubject: Re: csomag\nContent-Type: text/plain; charset=utf-8"
    r = mime.parse(message(headers, body))
    assert r.text == body.decode()
    assert r.display_text == "Köszönöm, megérkezett.\n"
