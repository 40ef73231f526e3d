"""The console refuses what the acting agent's role does not allow, with the role named."""

from __future__ import annotations

from dataclasses import replace

from omnidesk.conversations import reads
from omnidesk.permissions import PERMISSIONS
from tests.tui.conftest import ingest_from_eva, make_app, open_conversation, until, until_async
from tests.unit import factories

SIZE = (150, 45)

#: The actions of the permission table the console offers, and how a test starts each.
CONSOLE_ACTIONS = {"customer.merge"}


def test_the_console_offers_only_actions_of_the_table() -> None:
    assert set(PERMISSIONS) >= CONSOLE_ACTIONS


async def test_an_agent_cannot_merge_customers_in_the_console_and_is_told_the_role(seeded):
    dana = await factories.agent(seeded, "dana", role="agent")
    cid = await ingest_from_eva(seeded, "<role-1@example.hu>", subject="Számla", text="Hol a számla?")
    other = (await reads.find_customers(seeded, "", limit=50))[0].id
    desk = replace(seeded, agent=dana)
    app = make_app(desk)
    async with app.run_test(size=SIZE) as pilot:
        await open_conversation(pilot, app, cid)
        await pilot.press("c")
        await until(pilot, lambda: app.screen.__class__.__name__ == "CustomerScreen", "customer panel")
        panel = app.screen
        me = panel.customer_id
        source = other if other != me else (await reads.find_customers(seeded, "", limit=50))[1].id
        panel.merge_customer(str(source))
        await until(pilot, lambda: any("merging customers needs the lead role; dana is an agent" in n.message
                                       for n in app._notifications), "refusal shown")
        assert any(n.severity == "error" for n in app._notifications)

        async def unchanged():
            return (await reads.get_customer(seeded, source)).merged_into is None

        assert await until_async(pilot, unchanged, "nothing merged")
