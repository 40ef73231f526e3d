"""The timeline says who was copied and which messages are automatic (auto-replies, bounces)."""

from __future__ import annotations

from adapters.base import FLAG_AUTO_REPLY, Address
from tests.tui.conftest import ingest_from_eva, make_app, open_conversation, screen_text, until

SIZE = (160, 45)


async def test_cc_line_and_automatic_reply_mark(seeded):
    cid = await ingest_from_eva(
        seeded, "<ooo-1@example.hu>", subject="Automatikus válasz: Szerződés",
        text="Házon kívül vagyok hétfőig.", flags=frozenset({FLAG_AUTO_REPLY}),
        recipients=(Address("email", "support@example.com"),),
        cc=(Address("email", "wang@example.cn", "王芳"), Address("email", "reza@example.ir", "رضا")),
    )
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await open_conversation(pilot, app, cid)
        mark = "automatic reply: not counted as the customer's answer"
        await until(pilot, lambda: mark in screen_text(app), "auto-reply mark")
        assert "cc: wang@example.cn, reza@example.ir" in screen_text(app)
