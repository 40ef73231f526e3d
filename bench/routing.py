#!/usr/bin/env python3
"""Routing overhead per inbound message: 200 rules and 50 agents, beside ingest without rules.

    python bench/routing.py [--messages 1000] [--rules 200] [--agents 50] [--seed 1]

One fresh desk. Each message arrives as its own batch (as a chat message does) through
`ingest_batch`; the first half arrive with no rules (ingest alone), the second half are
each routed right after their batch by `Router.run_pending`, as the daemon does. Prints
the median and 90th percentile of ingest per message, of routing per message, and their
ratio. The rules: every one has a query (a quarter of them with a word, `--text-share`,
the others tags and fields), a third also a language, a third a channel; a few fire on
most messages (a tag, a priority) and the last one assigns round-robin within a team.
"Verdicts" is what every message pays (conditions evaluated, nothing changed); "routing"
adds the actions of the rules that fire (each a service action) and clearing the row.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.base import Address, Batch, Inbound
from omnidesk.desk import Desk
from omnidesk.inbound.ingest import ingest_batch
from omnidesk.rules.routing import Router
from omnidesk.settings import AgentSettings, DeskSettings, Settings
from omnidesk.store.agents import sync_agents
from omnidesk.store.channels import ensure_channel
from omnidesk.store.db import Database
from omnidesk.store.routing import clear_pending, pending

T0 = datetime(2026, 11, 1, tzinfo=UTC)
LANGUAGES = ("hu", "zh", "fa", "en", "de")
WORDS = ("számla", "退款", "سفارش", "invoice", "Rechnung", "refund", "delivery", "password", "login",
         "broken")
TEAMS = ("billing", "tech", "sales", "vip", "tier1")


def rules_text(n: int, text_share: float = 0.25) -> str:
    out = []
    every = max(1, round(1 / text_share)) if text_share > 0 else n + 1
    for i in range(n - 4):  # mostly rules that look and do not fire
        # A word costs a full-text probe per rule (~13 us with a live index's segments, ~5 us
        # after FTS5 'optimize'); tags and fields about 1 us.
        query = f"subject:w{i}x OR tag:t{i}" if i % every == 0 else f"tag:t{i} OR priority:urgent"
        when = [f'query = "{query}"']
        if i % 3 == 0:
            when.append(f'language = "{LANGUAGES[i % len(LANGUAGES)]}"')
        if i % 3 == 1:
            when.append('channel = "chat"')
        out.append(f'[[rules]]\nname = "rule {i}"\nwhen = {{ {", ".join(when)} }}\n'
                   f'then = {{ tag = "t{i}", priority = "high" }}\n')
    out.append('[[rules]]\nname = "words"\non = ["new_conversation", "inbound_message"]\n'
               'when = { query = "számla OR invoice OR 退款 OR refund" }\nthen = { tag = "billing" }\n')
    out.append('[[rules]]\nname = "Hungarian"\nwhen = { language = "hu" }\nthen = { priority = "high" }\n')
    out.append('[[rules]]\nname = "first only"\nwhen = { message = "first", query = "-tag:vip" }\n'
               'then = { tag = "new" }\n')
    out.append('[[rules]]\nname = "round the team"\nthen = { team = "billing", strategy = "round-robin" }\n')
    return "\n".join(out)


def message(i: int, rng: random.Random) -> Inbound:
    sender = rng.randrange(300)  # repeat senders: some messages join their open conversation
    word = rng.choice(WORDS)
    return Inbound(external_id=f"<m{i}@bench>",
                   sender=Address("email", f"c{sender}@example.com", f"Ügyfél {sender}"),
                   sent_at=T0 + timedelta(seconds=i), subject=f"{word} {i}",
                   text=f"Hello {word} {i} ügyfél 退款", language=rng.choice(LANGUAGES))


async def run(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        rules = data / "rules.toml"
        rules.write_text(rules_text(args.rules, args.text_share), encoding="utf-8")
        db = await Database.open(data / "omnidesk.db")
        try:
            settings = replace(Settings(), desk=DeskSettings(rules=rules))
            desk = Desk(db=db, settings=settings, data_dir=data)
            await sync_agents(db, [AgentSettings(f"agent{i}", teams=(TEAMS[i % len(TEAMS)],),
                                                 skills=(LANGUAGES[i % len(LANGUAGES)],))
                                   for i in range(args.agents)])
            channel = await ensure_channel(db, "bench", "email", "support@example.com")
            router = Router(desk)
            await router.refresh()
            assert len(router.engine.rules.rules) == args.rules, router.error
            half, actions = args.messages // 2, 0
            ingest_only, ingest_routed, routing, evaluation = [], [], [], []
            # CPU of this process (all threads, the database's included): less hurt by a busy host.
            cpu_evaluation, cpu_routing = [], []
            for i in range(args.messages):
                if i == half:
                    await clear_pending(db)  # the first half arrived with no rules
                started = time.perf_counter()
                await ingest_batch(desk, channel, Batch([message(i, rng)], None))
                ingested = time.perf_counter()
                if i < half:
                    ingest_only.append(ingested - started)
                    continue
                # The rules' verdicts alone (the conditions every message pays for), then the whole
                # routing: verdicts again, the actions of the rules that fire, the pending row cleared.
                (row,) = await pending(db)
                cpu = time.process_time()
                await router.engine.evaluate(db, row.conversation_id, row.message_id, row.trigger, 0,
                                             explain=False)
                evaluated, cpu_evaluated = time.perf_counter(), time.process_time()
                report = await router.run_pending()
                cpu_evaluation.append(cpu_evaluated - cpu)
                cpu_routing.append(time.process_time() - cpu_evaluated)
                assert report.routed == 1
                actions += sum(len(r.results) for r in report.runs)
                ingest_routed.append(ingested - started)
                evaluation.append(evaluated - ingested)
                routing.append(time.perf_counter() - evaluated)
            assigned = await db.fetchone("SELECT count(*) FROM conversations WHERE assignee_id IS NOT NULL")
        finally:
            await db.close()

    def ms(values: list[float], q: int = 50) -> float:
        return (statistics.median(values) if q == 50 else statistics.quantiles(values, n=100)[q - 1]) * 1000

    def line(label: str, values: list[float], note: str = "") -> None:
        print(f"{label:<34} median {ms(values):.3f} ms, p90 {ms(values, 90):.3f} ms{note}")

    print(f"{args.messages} messages, one per batch; {args.rules} rules, {args.agents} agents;"
          f" {assigned[0]} conversations assigned by round-robin")
    line(f"ingest, no rules (first {half}):", ingest_only)
    line(f"ingest, with rules (last {len(routing)}):", ingest_routed)
    line("rules' verdicts per message:", evaluation, "  (target: median under 1 ms)")
    line("routing per message:", routing,
         f"  (verdicts + {actions / len(routing):.1f} actions + the pending row)")
    line("CPU, verdicts per message:", cpu_evaluation)
    line("CPU, routing per message:", cpu_routing)
    print(f"verdicts / ingest (medians):       {ms(evaluation) / ms(ingest_only):.2f}")
    print(f"routing / ingest (medians):        {ms(routing) / ms(ingest_only):.2f}")
    print(f"reproduce: python bench/routing.py --messages {args.messages} --rules {args.rules}"
          f" --agents {args.agents} --seed {args.seed} --text-share {args.text_share}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--rules", type=int, default=200)
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--text-share", type=float, default=0.25,
                        help="share of the rules whose query has a word (full-text); others: tags, fields")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
