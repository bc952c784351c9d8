"""``beam``: keep the best ``width`` states at each depth, expand them all in one batch."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Awaitable, Callable, ClassVar

from search.context import SearchContext
from search.params import check_params, param
from search.policies.base import child_scores
from search.proposer import ProposerKind

__all__ = ["Scorer", "beam_search", "Beam"]

_MIN_VALUE = 1e-6
"""Values are clipped here before the log, so a zero value demotes a state without removing it."""

Scorer = Callable[[SearchContext, dict[str, float]], Awaitable[dict[str, float]]]
"""Maps the candidate states of a beam step (node -> cumulative log-probability) to
their ranking scores (higher first)."""


async def beam_search(ctx: SearchContext, *, width: int, k: int, max_depth: int, score: Scorer) -> None:
    """The beam loop shared by ``beam`` and ``lookahead``: expand the beam, rank the new
    expandable children with ``score``, keep the best ``width``. States already expanded
    (transpositions, cycles) never re-enter the beam."""
    graph = ctx.graph
    beam = {graph.root: 0.0}
    for _ in range(max_depth):
        if not beam or ctx.done:
            return
        steps = await ctx.expand(list(beam), k)
        children = child_scores(graph, zip(beam.values(), steps))
        if ctx.done or not children:
            return
        scores = await score(ctx, children)
        ranked = sorted(children, key=scores.__getitem__, reverse=True)
        beam = {node: children[node] for node in ranked[:width]}


@dataclass(frozen=True)
class Beam:
    """Beam search, ``1 x (width * k) x depth``; states are ranked by cumulative
    log-probability plus ``value_weight`` times the log of their value when the search has a
    value model (PRM-guided beam search, Snell et al. 2024)."""

    name: ClassVar[str] = "beam"
    proposer_kind: ClassVar[ProposerKind] = "tactic"
    width: int = param(8, "states kept per depth (W)", min=1)
    k: int = param(8, "tactics sampled per state", min=1)
    max_depth: int = param(32, "beam steps at most", min=1)
    value_weight: float = param(1.0, "weight of log(value) added to the ranking when the search has a value model "
                                     "(0: ignore it)", min=0)

    def __post_init__(self) -> None:
        check_params(self)

    async def _score(self, ctx: SearchContext, children: dict[str, float]) -> dict[str, float]:
        if not ctx.has_value_model or self.value_weight == 0:
            return children
        values = await ctx.values(list(children))
        return {node: logprob + self.value_weight * math.log(max(value, _MIN_VALUE))
                for (node, logprob), value in zip(children.items(), values)}

    async def run(self, ctx: SearchContext) -> None:
        await beam_search(ctx, width=self.width, k=self.k, max_depth=self.max_depth, score=self._score)
