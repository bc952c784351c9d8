"""``best-first``: expand the open state with the highest (normalised) cumulative log-probability."""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import ClassVar

from search.context import SearchContext
from search.params import check_params, param
from search.policies.base import child_scores
from search.proposer import ProposerKind

__all__ = ["BestFirst"]


@dataclass(frozen=True)
class BestFirst:
    """Best-first search, ``1 x k x T`` (ReProver, BFS-Prover): a node's priority is its best
    cumulative log-probability divided by ``depth ** alpha``."""

    name: ClassVar[str] = "best-first"
    proposer_kind: ClassVar[ProposerKind] = "tactic"
    k: int = param(8, "tactics sampled per expansion", min=1)
    alpha: float = param(0.0, "length normalisation exponent (0: plain cumulative log-probability; "
                              "BFS-Prover uses > 0 so deep states are not starved)", min=0)

    def __post_init__(self) -> None:
        check_params(self)

    def priority(self, score: float, depth: int) -> float:
        """Normalised score of a node at ``depth`` (higher is expanded first)."""
        return score / depth**self.alpha if depth > 0 else score

    async def run(self, ctx: SearchContext) -> None:
        graph = ctx.graph
        best = {graph.root: 0.0}
        depth = {graph.root: 0}
        heap = [(0.0, 0, graph.root)]
        pushed = 1
        while heap and not ctx.done:
            _, _, node = heapq.heappop(heap)
            if not graph.is_expandable(node):
                continue
            [steps] = await ctx.expand([node], self.k)
            for child, score in child_scores(graph, [(best[node], steps)]).items():
                if score > best.get(child, float("-inf")):
                    best[child], depth[child] = score, depth[node] + 1
                    heapq.heappush(heap, (-self.priority(score, depth[child]), pushed, child))
                    pushed += 1
