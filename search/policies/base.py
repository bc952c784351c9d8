"""Moves several policies share (the ``Policy`` protocol itself is in ``search.context``)."""

from __future__ import annotations

from typing import Iterable, Sequence

from search.context import SearchContext, Step
from search.graph import ProofGraph

__all__ = ["child_scores", "roll_out"]


def child_scores(graph: ProofGraph, expanded: Iterable[tuple[float, Sequence[Step]]]) -> dict[str, float]:
    """Best cumulative log-probability of each still-expandable child reached by the
    steps of expanded parents, given as ``(parent score, steps)``; in discovery order."""
    scores: dict[str, float] = {}
    for parent_score, steps in expanded:
        for step in steps:
            if graph.is_expandable(step.child):
                score = parent_score + step.logprob
                if score > scores.get(step.child, float("-inf")):
                    scores[step.child] = score
    return scores


async def roll_out(ctx: SearchContext, paths: list[list[str]], max_steps: int) -> None:
    """Extend ``paths`` in place, in lockstep, by one sampled tactic per step (one proposer
    call per step for all of them), for at most ``max_steps`` steps. A path stops when its
    tactic closes the proof or fails, reaches a state already on it, or none is proposed;
    nodes are not marked fully expanded, so later queries may sample more tactics there."""
    active = list(paths)
    for _ in range(max_steps):
        if not active or ctx.done:
            return
        steps = await ctx.expand([path[-1] for path in active], 1, full=False)
        moved = []
        for path, node_steps in zip(active, steps):
            child = node_steps[0].child if node_steps else None
            if child is not None and ctx.graph.is_expandable(child) and child not in path:
                path.append(child)
                moved.append(path)
        active = moved
