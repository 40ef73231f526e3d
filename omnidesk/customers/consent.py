"""Whether a customer takes messages on an address: an opt-out (SMS STOP) stops every reply to it.

The mark is written by ingest (omnidesk/store/ingest.py) when a channel flags a message
`opt-out` or `opt-in`; the reply service asks here before queueing, and the dispatcher
again before sending, so a STOP that arrives during the undo window still stops the reply.
"""

from __future__ import annotations

from collections.abc import Iterable

from adapters.base import Address
from omnidesk.desk import Desk
from omnidesk.store.customers import identity_by_address
from omnidesk.timeutil import from_ms


async def opted_out(desk: Desk, addresses: Iterable[Address]) -> str | None:
    """Why nothing may be sent to one of `addresses` (it opted out), or None."""
    for address in addresses:
        identity = await identity_by_address(desk.db, address.kind, address.address)
        if identity is not None and identity.opted_out_at is not None:
            day = from_ms(identity.opted_out_at).strftime("%Y-%m-%d %H:%M UTC")
            return (f"{address.address} opted out of messages on {day} (they texted STOP);"
                    " nothing is sent to them until they text START")
    return None
