"""``beam``: keep the best ``width`` states at each depth, expand them all in one batch."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Awaitable, Callable, ClassVar

from search.engine import SearchEngine
from search.policies.base import check_positive, child_scores
from search.proposer import ProposerKind
from search.value import ValueFn

__all__ = ["Scorer", "beam_search", "Beam"]

Scorer = Callable[[SearchEngine, dict[str, float]], Awaitable[dict[str, float]]]
"""Maps the candidate states of a beam step (node -> cumulative log-probability) to
their ranking scores (higher first)."""


async def beam_search(engine: SearchEngine, *, width: int, k: int, max_depth: int, score: Scorer) -> None:
    """The beam loop shared by ``beam`` and ``lookahead``: expand the beam, rank the new
    expandable children with ``score``, keep the best ``width``. States already expanded
    (transpositions, cycles) never re-enter the beam."""
    graph = engine.graph
    beam = {graph.root: 0.0}
    for _ in range(max_depth):
        if not beam or engine.done:
            return
        steps = await engine.expand(list(beam), k)
        children = child_scores(graph, zip(beam.values(), steps))
        if engine.done or not children:
            return
        scores = await score(engine, children)
        ranked = sorted(children, key=scores.__getitem__, reverse=True)
        beam = {node: children[node] for node in ranked[:width]}


@dataclass(frozen=True)
class Beam:
    """Beam search, ``1 x (width * k) x depth``.

    - ``width``: states kept per depth (W).
    - ``k``: tactics sampled per state.
    - ``max_depth``: beam steps at most.
    - ``value``: optional ``ValueFn`` ranking states; without it states are ranked by
      cumulative log-probability.
    """

    name: ClassVar[str] = "beam"
    proposer_kind: ClassVar[ProposerKind] = "tactic"
    width: int = 8
    k: int = 8
    max_depth: int = 32
    value: ValueFn | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        check_positive(self, "width", "k", "max_depth")

    async def _score(self, engine: SearchEngine, children: dict[str, float]) -> dict[str, float]:
        if self.value is None:
            return children
        return {node: self.value(engine.graph.state(node)) for node in children}

    async def run(self, engine: SearchEngine) -> None:
        await beam_search(engine, width=self.width, k=self.k, max_depth=self.max_depth, score=self._score)
