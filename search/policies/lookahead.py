"""``lookahead``: value-guided beam search whose candidates are judged after a short greedy rollout."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from search.context import SearchContext
from search.params import check_params, param
from search.policies.base import roll_out
from search.policies.beam import beam_search
from search.proposer import ProposerKind

__all__ = ["Lookahead"]


@dataclass(frozen=True)
class Lookahead:
    """Beam search with lookahead (Snell et al. 2024, arXiv 2408.03314): each candidate
    state is rolled out greedily (one tactic per step, the proposer's best) for
    ``lookahead`` steps and scored by the value of the state the rollout ends in. Rollout
    steps are real environment steps kept in the graph, so a later expansion reuses them.
    Values come from the search's value model, or the goal heuristic without one."""

    name: ClassVar[str] = "lookahead"
    proposer_kind: ClassVar[ProposerKind] = "tactic"
    width: int = param(4, "states kept per depth (W)", min=1)
    k: int = param(4, "tactics sampled per beam state", min=1)
    lookahead: int = param(2, "greedy steps per candidate before scoring (0: value-guided beam)", min=0)
    max_depth: int = param(32, "beam steps at most", min=1)

    def __post_init__(self) -> None:
        check_params(self)

    async def _score(self, ctx: SearchContext, children: dict[str, float]) -> dict[str, float]:
        """Roll every candidate out in lockstep and score the state each rollout ends in."""
        paths = {node: [node] for node in children}
        await roll_out(ctx, list(paths.values()), self.lookahead)
        values = await ctx.values([path[-1] for path in paths.values()])
        return dict(zip(paths, values))

    async def run(self, ctx: SearchContext) -> None:
        await beam_search(ctx, width=self.width, k=self.k, max_depth=self.max_depth, score=self._score)
