"""``rollouts``: independent tactic-by-tactic attempts, one sampled tactic per step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from search.context import SearchContext
from search.params import check_params, param
from search.policies.base import roll_out
from search.proposer import ProposerKind

__all__ = ["Rollouts"]


@dataclass(frozen=True)
class Rollouts:
    """``N x 1 x depth``: each rollout samples one tactic per step from the root until
    the proof closes, the tactic fails, it revisits a state of its own path or hits the
    depth cap. Rollouts sharing a prefix share graph nodes, and a (state, tactic) pair
    already run is answered from the graph, not the environment."""

    name: ClassVar[str] = "rollouts"
    proposer_kind: ClassVar[ProposerKind] = "tactic"
    n: int = param(16, "number of rollouts (N)", min=1)
    max_depth: int = param(32, "tactics per rollout at most", min=1)
    concurrent: int = param(1, "rollouts advanced together in lockstep, sharing one proposer call per step", min=1)

    def __post_init__(self) -> None:
        check_params(self)

    async def run(self, ctx: SearchContext) -> None:
        started = 0
        while started < self.n and not ctx.done:
            wave = min(self.concurrent, self.n - started)
            started += wave
            await roll_out(ctx, [[ctx.graph.root] for _ in range(wave)], self.max_depth)
