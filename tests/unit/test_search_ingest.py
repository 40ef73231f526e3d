"""Search over mail that came in through the real ingest path (omnidesk.inbound.ingest), not test SQL.

The issue's promises: a two-character Chinese word finds its message, accents are
not required, results are ranked; plus Persian (RTL) text and a sender search.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.base import Address, Inbound
from omnidesk.conversations import reads
from omnidesk.desk import Desk
from omnidesk.inbound.ingest import ingest_records
from omnidesk.store.channels import ensure_channel

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

MAILS = [
    ("<zh@x>", "li@example.cn", "李伟", "退款申请", "你好，我想申请退款。订单号 88231，谢谢。"),
    ("<zh2@x>", "wang@example.cn", "王芳", "退货", "请问退货流程是什么？"),
    ("<hu@x>", "gabor@example.hu", "Kovács Gábor", "Panasz",
     "Az ügyfélszolgálat három napja nem válaszol a levelemre."),
    ("<fa@x>", "sara@example.ir", "سارا", "بازپرداخت", "لطفا بازپرداخت سفارش من را پیگیری کنید"),
    ("<en1@x>", "ann@example.com", "Ann Lee", "Refund please",
     "Refund refund refund: the parcel never came."),
    ("<en2@x>", "bob@example.com", "Bob", "Question", "Do you ship abroad? Also, a refund policy link?"),
]


@pytest.fixture
async def ingested(desk: Desk) -> dict[str, int]:
    channel = await ensure_channel(desk.db, "support", "email", "support@example.com")
    records = [
        Inbound(external_id=ext, sender=Address("email", addr, name), sent_at=T0 + timedelta(minutes=i),
                subject=subject, text=text)
        for i, (ext, addr, name, subject, text) in enumerate(MAILS)
    ]
    result = await ingest_records(desk, channel, records)
    assert result.imported == len(MAILS)
    return {ext: mid for (ext, *_), mid in zip(MAILS, result.message_ids, strict=True)}


async def subjects(desk: Desk, query: str) -> list[str]:
    return [s.subject for s in (await reads.list_conversations(desk, query)).items]


async def test_two_character_chinese_word_finds_its_message(desk: Desk, ingested) -> None:
    hits = await reads.search_messages(desk, "退款")
    assert [h.message_id for h in hits] == [ingested["<zh@x>"]]
    start, end = hits[0].highlights[0]
    assert hits[0].snippet[start:end] == "退款"
    assert await subjects(desk, "退款") == ["退款申请"]
    assert await subjects(desk, "退货") == ["退货"]


async def test_accents_are_not_required(desk: Desk, ingested) -> None:
    hits = await reads.search_messages(desk, "ugyfelszolgalat")
    assert [h.message_id for h in hits] == [ingested["<hu@x>"]]
    start, end = hits[0].highlights[0]
    assert hits[0].snippet[start:end] == "ügyfélszolgálat"
    assert await subjects(desk, "valaszol") == ["Panasz"]


async def test_persian_text_and_sender_search(desk: Desk, ingested) -> None:
    assert [h.message_id for h in await reads.search_messages(desk, "بازپرداخت")] == [ingested["<fa@x>"]]
    assert await subjects(desk, "from:sara@example.ir") == ["بازپرداخت"]
    assert await subjects(desk, "kovacs") == ["Panasz"]  # the sender's name is indexed, accents folded


async def test_results_are_ranked(desk: Desk, ingested) -> None:
    hits = await reads.search_messages(desk, "refund")
    assert [h.message_id for h in hits] == [ingested["<en1@x>"], ingested["<en2@x>"]]
    assert hits[0].rank > hits[1].rank
