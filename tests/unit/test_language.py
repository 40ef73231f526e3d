"""Language detection: every inbound message gets one; the customer's follows, unless set by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.base import Address, Inbound
from omnidesk.conversations import reads
from omnidesk.customers.language import detect, is_known
from omnidesk.desk import Desk
from omnidesk.inbound.ingest import ingest_records
from omnidesk.services import customer_edits
from tests.unit import factories
from tests.unit.language_samples import CHAT_LINES

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("expected", "text"), CHAT_LINES, ids=[f"{lang}-{i}" for i, (lang, _) in
                                                                 enumerate(CHAT_LINES)])
def test_short_chat_lines_in_many_languages(expected: str, text: str) -> None:
    found = detect(text)
    assert found is not None and found.language == expected, (text, found)


@pytest.mark.parametrize("text", ["", "   ", "12345 678", "?!", "🙂🙂", "https://x.example/1?2=3"])
def test_no_letters_or_no_clue_is_unknown(text: str) -> None:
    found = detect(text)
    assert found is None or not found.confident


def test_a_huge_text_is_read_from_its_start() -> None:
    found = detect("Köszönöm szépen a gyors segítséget, nagyon kedvesek voltak! " * 20_000)
    assert found is not None and found.language == "hu" and found.confident


def test_the_model_is_unpacked_once_then_mapped(tmp_path, monkeypatch) -> None:
    import numpy as np

    from omnidesk.customers import language

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(language, "_identifier", None)
    line = "Mening posilkam yo'qolib qoldi, nima qilishim kerak?"
    first = detect(line)
    cached = sorted(p.name for p in tmp_path.glob("omnidesk/py3langid-*/*"))
    assert cached == ["classes.json", "nextmove.npy", "output.json", "pc.npy", "ptc.npy", "row.npy"]
    monkeypatch.setattr(language, "_identifier", None)
    assert isinstance(language._unpacked()[0], np.memmap)  # read from the cache, not unpacked again
    assert detect(line) == first and first.language == "uz"


def test_language_codes_the_detector_knows() -> None:
    assert all(is_known(code) for code in ("hu", "zh", "fa", "uz", "en", "de"))
    assert not is_known("xx") and not is_known("zxx") and not is_known("")


async def _chat(desk: Desk, texts: list[str], *, language: str | None = None, start: int = 0) -> int:
    """Éva writes each text on Telegram, a minute apart; her customer id."""
    from omnidesk.store.channels import ensure_channel

    tg = await ensure_channel(desk.db, "tg", "telegram", None)
    eva = Address("telegram", "5550001", "Éva")
    records = [Inbound(external_id=str(start + i), scope="5550001", sender=eva, text=text, chat_like=True,
                       sent_at=T0 + timedelta(minutes=start + i), language=language)
               for i, text in enumerate(texts)]
    result = await ingest_records(desk, tg, records)
    return (await reads.get_conversation(desk, result.conversation_ids[0])).customer.id


async def _languages(desk: Desk, cid: int) -> list[str | None]:
    entries = (await reads.customer_timeline(desk, cid)).entries
    return [e.message.language for e in entries if e.message is not None]


async def test_every_inbound_message_gets_a_language_and_the_customer_follows(desk: Desk) -> None:
    cid = await _chat(desk, ["Szia, hol van a számlám?", "ok", "Hallo, wo bleibt meine Rückerstattung?"])
    assert await _languages(desk, cid) == ["hu", None, "de"]
    assert (await reads.get_customer(desk, cid)).language == "de"  # the latest confident one
    await _chat(desk, ["👍"], start=10)
    assert (await reads.get_customer(desk, cid)).language == "de"  # nothing to go by: unchanged
    conversations = await reads.list_conversations(desk, "lang:de")
    assert [s.customer_id for s in conversations.items] == [cid]
    assert (await reads.list_conversations(desk, "lang:hu,fa")).items == ()


async def test_the_adapters_language_wins(desk: Desk) -> None:
    cid = await _chat(desk, ["Szia, hol van a számlám?"], language="fa")
    assert await _languages(desk, cid) == ["fa"]
    assert (await reads.get_customer(desk, cid)).language == "fa"


async def test_a_language_set_by_hand_is_kept(desk: Desk) -> None:
    agent = await factories.agent(desk, "alice")
    desk = desk.as_agent(agent)
    cid = await _chat(desk, ["Szia, hol van a számlám?"])
    await customer_edits.set_customer(desk, cid, language="en")
    await _chat(desk, ["Még mindig nem érkezett meg a csomagom, mikor jön?"], start=5)
    customer = await reads.get_customer(desk, cid)
    assert (customer.language, customer.language_manual) == ("en", True)
    assert (await _languages(desk, cid))[-1] == "hu"  # the message still says what it is
    await customer_edits.set_customer(desk, cid, language="")  # back to detection
    await _chat(desk, ["سلام، پول من کی برمی‌گردد؟"], start=9)
    assert (await reads.get_customer(desk, cid)).language == "fa"
