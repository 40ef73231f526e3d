"""How fast the core ingest path persists already-parsed records (no MIME parsing).

Feeds synthetic `Inbound` records (threads of three, 5,000 senders, optional
raw bytes, stored compressed in the database) through `omnidesk.inbound.ingest.ingest_records`
in batches of 500 into a fresh desk and prints messages/s.

    python bench/ingest_core.py [--messages 20000] [--raw]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.base import Address, Inbound
from omnidesk.desk import Desk
from omnidesk.inbound.ingest import ingest_records
from omnidesk.settings import Settings
from omnidesk.store.channels import ensure_channel
from omnidesk.store.db import Database

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def records(n: int, raw: bool) -> Iterator[Inbound]:
    for i in range(n):
        sender = i % 5000
        yield Inbound(
            external_id=f"<m{i}@bench>",
            sender=Address("email", f"user{sender}@example.com", f"Ügyfél {sender}"),
            sent_at=T0 + timedelta(seconds=i),
            subject=f"order problem {i // 3}",
            text=f"Hello, I have a problem with order {i}. 我想申请退款. Köszönöm! " * 8,
            thread_refs=(f"<m{i - 1}@bench>",) if i % 3 else (),
            raw=(f"raw message {i} ".encode() * 200) if raw else None,
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--raw", action="store_true", help="also store raw bytes (compressed)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        db = await Database.open(data / "omnidesk.db")
        try:
            desk = Desk(db=db, settings=Settings(), data_dir=data)
            channel = await ensure_channel(db, "bench", "email", "support@example.com")
            started, cpu = time.perf_counter(), time.process_time()
            result = await ingest_records(desk, channel, records(args.messages, args.raw), cursor="end")
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
            again = time.perf_counter()
            dup = await ingest_records(desk, channel, records(min(args.messages, 5000), args.raw))
            dup_elapsed = time.perf_counter() - again
        finally:
            await db.close()
    rate = result.imported / elapsed
    print(f"ingest_records: {result.imported} messages in {elapsed:.2f} s = {rate:,.0f} msg/s"
          f" (raw bytes: {'yes' if args.raw else 'no'}, conversations: {len(result.conversation_ids)})")
    # CPU seconds (all threads) per message: comparable across runs on a busy machine.
    print(f"CPU: {cpu / result.imported * 1e6:,.0f} us per message"
          f" = {result.imported / cpu:,.0f} msg per CPU-second")
    print(f"re-ingest of {dup.duplicates} duplicates: {dup.duplicates / dup_elapsed:,.0f} msg/s")
    print(f"command: python bench/ingest_core.py --messages {args.messages}{' --raw' if args.raw else ''}")


if __name__ == "__main__":
    asyncio.run(main())
