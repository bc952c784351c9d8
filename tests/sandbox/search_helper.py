"""A tiny best-first search used by the tests to measure the baseline proposer."""

from __future__ import annotations

import heapq
from itertools import count

from lean_env.types import NewState, ProofComplete, Theorem
from propsandbox import SandboxEnvironment
from search.proposer import Proposer, Query

__all__ = ["best_first"]


def best_first(env: SandboxEnvironment, proposer: Proposer, theorem: Theorem, *, expansions: int,
               width: int = 8) -> list[str] | None:
    """Expand states by cumulative log-prior; return the tactic path of a proof, or None."""
    root = env.start_sync(theorem)
    tie = count()
    frontier = [(0.0, next(tie), root, ())]
    seen = {root.key}
    for _ in range(expansions):
        if not frontier:
            return None
        cost, _, state, path = heapq.heappop(frontier)
        [candidates] = proposer.propose([Query(theorem, state, path)], width)
        for cand in candidates:
            result = env.step_sync(state, cand.text)
            if isinstance(result, ProofComplete):
                return [*path, cand.text]
            if isinstance(result, NewState) and result.state.key not in seen:
                seen.add(result.state.key)
                heapq.heappush(frontier, (cost - cand.logprob, next(tie), result.state, (*path, cand.text)))
    return None
