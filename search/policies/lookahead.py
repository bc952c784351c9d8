"""``lookahead``: value-guided beam search whose candidates are judged after a short greedy rollout."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from search.engine import SearchEngine
from search.errors import SearchConfigError
from search.policies.base import check_positive, roll_out
from search.policies.beam import beam_search
from search.proposer import ProposerKind
from search.value import ValueFn, goal_heuristic

__all__ = ["Lookahead"]


@dataclass(frozen=True)
class Lookahead:
    """Beam search with lookahead (Snell et al. 2024, arXiv 2408.03314): each candidate
    state is rolled out greedily (one tactic per step, the proposer's best) for
    ``lookahead`` steps and scored by the value of the state the rollout ends in. Rollout
    steps are real environment steps kept in the graph, so a later expansion reuses them.

    - ``width``: states kept per depth (W).
    - ``k``: tactics sampled per beam state.
    - ``lookahead``: greedy steps per candidate before scoring (0 = value-guided beam).
    - ``max_depth``: beam steps at most.
    - ``value``: the ``ValueFn`` scoring rollout ends (default: ``goal_heuristic``).
    """

    name: ClassVar[str] = "lookahead"
    proposer_kind: ClassVar[ProposerKind] = "tactic"
    width: int = 4
    k: int = 4
    lookahead: int = 2
    max_depth: int = 32
    value: ValueFn = field(default=goal_heuristic, compare=False)

    def __post_init__(self) -> None:
        check_positive(self, "width", "k", "max_depth")
        if not isinstance(self.lookahead, int) or self.lookahead < 0:
            raise SearchConfigError(f"Lookahead.lookahead must be an integer >= 0, got {self.lookahead!r}")

    async def _score(self, engine: SearchEngine, children: dict[str, float]) -> dict[str, float]:
        """Roll every candidate out in lockstep and score the state each rollout ends in."""
        paths = {node: [node] for node in children}
        await roll_out(engine, list(paths.values()), self.lookahead)
        return {node: self.value(engine.graph.state(path[-1])) for node, path in paths.items()}

    async def run(self, engine: SearchEngine) -> None:
        await beam_search(engine, width=self.width, k=self.k, max_depth=self.max_depth, score=self._score)
