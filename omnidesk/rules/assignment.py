"""Assignment strategies: round-robin within a team, least open conversations, skills match.

Every strategy picks among agents who are active, not away (`omnidesk agent away`) and
below their `capacity` of open or pending conversations. The pick is made inside a write
transaction that also records round-robin's turn, so two processes routing at once never
give the same turn twice, and the turn survives a restart.
"""

from __future__ import annotations

from collections.abc import Iterable

from omnidesk.desk import Desk
from omnidesk.store import routing as store
from omnidesk.timeutil import now_ms


async def pick(desk: Desk, strategy: str, team: str | None,
               needs: Iterable[str] = ()) -> store.Candidate | None:
    """The agent `strategy` gives the next conversation (of `team`, when given), or None.

    `needs`: what skills match looks for (the conversation's language and tags).
    """
    wanted = {n.lower() for n in needs if n}
    async with desk.db.write() as conn:
        free = await store.candidates(conn, team)
        if strategy == "skills":
            free = [a for a in free if wanted & {s.lower() for s in a.skills}]
        if not free:
            return None
        if strategy == "round-robin":
            last = await store.last_turn(conn, team or "")
            chosen = next((a for a in free if last is None or a.id > last), free[0])
            await store.record_turn(conn, team or "", chosen.id, now_ms())
            return chosen
        return min(free, key=lambda a: (a.open_count, a.id))


def describe_none(strategy: str, team: str | None, needs: Iterable[str]) -> str:
    """Why nobody was picked, for the timeline-less paths (logs, `rules test`)."""
    who = f"in team {team}" if team else "at all"
    if strategy == "skills":
        return f"no free agent {who} has a skill among {', '.join(sorted(set(needs))) or 'nothing'}"
    return f"no free agent {who} (away or at capacity)"
