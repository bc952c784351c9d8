"""``rollouts``: independent tactic-by-tactic attempts, one sampled tactic per step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from search.engine import SearchEngine
from search.policies.base import check_positive, roll_out
from search.proposer import ProposerKind

__all__ = ["Rollouts"]


@dataclass(frozen=True)
class Rollouts:
    """``N x 1 x depth``: each rollout samples one tactic per step from the root until
    the proof closes, the tactic fails, it revisits a state of its own path or hits the
    depth cap. Rollouts sharing a prefix share graph nodes, and a (state, tactic) pair
    already run is answered from the graph, not the environment.

    - ``n``: number of rollouts (N).
    - ``max_depth``: tactics per rollout at most.
    - ``concurrent``: rollouts advanced together in lockstep; their queries at each step
      share one proposer call.
    """

    name: ClassVar[str] = "rollouts"
    proposer_kind: ClassVar[ProposerKind] = "tactic"
    n: int = 16
    max_depth: int = 32
    concurrent: int = 1

    def __post_init__(self) -> None:
        check_positive(self, "n", "max_depth", "concurrent")

    async def run(self, engine: SearchEngine) -> None:
        started = 0
        while started < self.n and not engine.done:
            wave = min(self.concurrent, self.n - started)
            started += wave
            await roll_out(engine, [[engine.graph.root] for _ in range(wave)], self.max_depth)
