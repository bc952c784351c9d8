"""``best-first``: expand the open state with the highest (normalised) cumulative log-probability."""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from typing import ClassVar

from search.context import SearchContext
from search.params import check_params, param
from search.policies.base import child_scores
from search.proposer import ProposerKind

__all__ = ["BestFirst"]

_MIN_VALUE = 1e-6
"""Values are clipped here before the log, so a zero value demotes a state without removing it."""


@dataclass(frozen=True)
class BestFirst:
    """Best-first search, ``1 x k x T`` (ReProver, BFS-Prover): a node's priority is its best
    cumulative log-probability divided by ``depth ** alpha``, plus ``value_weight`` times the
    log of its value when the search has a value model (critic-guided, as in
    InternLM2.5-StepProver)."""

    name: ClassVar[str] = "best-first"
    proposer_kind: ClassVar[ProposerKind] = "tactic"
    k: int = param(8, "tactics sampled per expansion", min=1)
    alpha: float = param(0.0, "length normalisation exponent (0: plain cumulative log-probability; "
                              "BFS-Prover uses > 0 so deep states are not starved)", min=0)
    value_weight: float = param(1.0, "weight of log(value) added to the priority when the search has a value model "
                                     "(0: ignore it)", min=0)

    def __post_init__(self) -> None:
        check_params(self)

    def priority(self, score: float, depth: int, value: float | None = None) -> float:
        """Priority of a node at ``depth`` with cumulative log-probability ``score`` and, when
        the search has a value model, ``value`` (higher is expanded first)."""
        normalised = score / depth**self.alpha if depth > 0 else score
        if value is None or self.value_weight == 0:
            return normalised
        return normalised + self.value_weight * math.log(max(value, _MIN_VALUE))

    async def run(self, ctx: SearchContext) -> None:
        graph = ctx.graph
        use_value = ctx.has_value_model and self.value_weight > 0
        best = {graph.root: 0.0}
        depth = {graph.root: 0}
        heap = [(0.0, 0, graph.root)]
        pushed = 1
        while heap and not ctx.done:
            _, _, node = heapq.heappop(heap)
            if not graph.is_expandable(node):
                continue
            [steps] = await ctx.expand([node], self.k)
            improved = {}
            for child, score in child_scores(graph, [(best[node], steps)]).items():
                if score > best.get(child, float("-inf")):
                    best[child], depth[child] = score, depth[node] + 1
                    improved[child] = score
            values = await ctx.values(list(improved)) if use_value and improved else [None] * len(improved)
            for (child, score), value in zip(improved.items(), values):
                heapq.heappush(heap, (-self.priority(score, depth[child], value), pushed, child))
                pushed += 1
