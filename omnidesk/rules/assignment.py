"""Assignment strategies: round-robin within a team, least open conversations, skills match.

Every strategy picks among agents who are active, not away (`omnidesk agent away`) and
below their `capacity` of open or pending conversations. The pick is made inside a write
transaction that also records round-robin's turn (and, called inside a unit of work or a
routing run, also holds the assignment), so two processes routing at once never give the
same turn twice, and the turn survives a restart.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from omnidesk.desk import Desk
from omnidesk.services.actionresult import ActionResult
from omnidesk.store import routing as store
from omnidesk.timeutil import now_ms


async def pick(desk: Desk, strategy: str, team: str | None,
               needs: Iterable[str] = ()) -> store.Candidate | None:
    """The agent `strategy` gives the next conversation (of `team`, when given), or None.

    `needs`: what skills match looks for (the conversation's language and tags). Every pick
    is the team's last turn, so round-robin goes on after whoever had one by any strategy.
    """
    wanted = {n.lower() for n in needs if n}

    def decide(free: list[store.Candidate], last: int | None) -> store.Candidate | None:
        if strategy == "skills":
            free = [a for a in free if wanted & {s.lower() for s in a.skills}]
        if not free:
            return None
        if strategy == "round-robin":
            return next((a for a in free if last is None or a.id > last), free[0])
        return min(free, key=lambda a: (a.open_count, a.id))

    async with desk.db.write() as conn:
        return await store.take_turn(conn, team, decide, now_ms())


def describe_none(strategy: str, team: str | None, needs: Iterable[str]) -> str:
    """Why nobody was picked, for the timeline-less paths (logs, `rules test`)."""
    who = f"in team {team}" if team else "at all"
    if strategy == "skills":
        return f"no free agent {who} has a skill among {', '.join(sorted(set(needs))) or 'nothing'}"
    return f"no free agent {who} (away or at capacity)"


def needs_of(facts: store.Facts) -> list[str]:
    """What skills match looks for in a conversation: its language and its tags."""
    return [*(x for x in (facts.language, facts.customer_language) if x), *facts.tags]


async def auto_assign(desk: Desk, conversation_ids: Sequence[int], strategy: str,
                      team: str | None = None) -> tuple[list[ActionResult], list[str]]:
    """`omnidesk assign --auto`: each conversation to the agent `strategy` picks, by the acting agent
    (the pick, the turn and the assignment in one unit of work per conversation).

    Returns the assignments made and, per conversation left alone, why.
    """
    from omnidesk.services import services
    from omnidesk.services.unit import unit_of_work

    results, left = [], []
    for cid in conversation_ids:
        async with unit_of_work(desk):
            facts = await store.facts(desk.db, cid, None)
            if facts is None:
                left.append(f"#{cid}: no such conversation")
                continue
            needs = needs_of(facts)
            chosen = await pick(desk, strategy, team, needs)
            if chosen is None:
                left.append(f"#{cid}: {describe_none(strategy, team, needs)}")
                continue
            results.append(await services.assign(desk, [cid], chosen.name, team=team))
    return results, left


async def mark_away(desk: Desk, name: str | None, *, away: bool) -> str:
    """`omnidesk agent away [NAME] [--back]`: the strategies skip an agent who is away."""
    from omnidesk.errors import NotFound, UserError
    from omnidesk.store.agents import agent_by_name

    agent = desk.agent if name in (None, "me") else await agent_by_name(desk.db, name)
    if agent is None:
        if name in (None, "me"):
            raise UserError("no acting agent to mark", hint="pass NAME, or --as NAME")
        raise NotFound(f"unknown agent {name!r}")
    changed = await store.set_away(desk.db, agent.id, now_ms() if away else None)
    state = "away" if away else "back"
    return f"{agent.name} is {state}" + ("" if changed else f" (was {state} already)")
