"""``mcts``: Monte-Carlo tree search (UCT) over the proof graph."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

from search.engine import SearchEngine, Step
from search.errors import SearchConfigError
from search.graph import OPEN, PROVED, ProofGraph
from search.policies.base import check_positive
from search.proposer import ProposerKind
from search.value import ValueFn

__all__ = ["MCTS"]


@dataclass(frozen=True)
class MCTS:
    """UCT: descend from the root by UCB1 (unvisited children first, most probable tactic
    first; then mean reward + ``exploration * sqrt(ln N / n)``), expand the leaf reached
    with ``k`` tactics, and back the reward up the path. Children on the current path are
    skipped, so cycles cannot trap a descent.

    Reward: 1 when the proof closes; otherwise the best ``value`` of the new children, or,
    without a value function, the RMaxTS intrinsic reward (DeepSeek-Prover-V1.5): 1 when
    the expansion discovered a state never seen before, else 0.

    - ``k``: tactics sampled per expansion.
    - ``exploration``: the UCB1 constant c.
    - ``value``: optional ``ValueFn``; ``None`` selects the intrinsic reward.
    - ``max_depth``: descents stop at this depth.
    - ``stall_limit``: consecutive descents that expand nothing (all paths blocked by
      cycles or the depth cap) after which the search gives up.
    """

    name: ClassVar[str] = "mcts"
    proposer_kind: ClassVar[ProposerKind] = "tactic"
    k: int = 8
    exploration: float = 1.0
    value: ValueFn | None = field(default=None, compare=False)
    max_depth: int = 64
    stall_limit: int = 100

    def __post_init__(self) -> None:
        check_positive(self, "k", "max_depth", "stall_limit")
        if self.exploration < 0:
            raise SearchConfigError(f"MCTS.exploration must be >= 0, got {self.exploration}")

    def _select(self, graph: ProofGraph, path: list[str], visits: dict[str, int], totals: dict[str, float]) -> str | None:
        """The UCB1 choice among the open children of ``path[-1]`` not already on ``path``."""
        choices = [(c, d["logprob"]) for c, d in graph.successors(path[-1]) if graph.status(c) == OPEN and c not in path]
        if not choices:
            return None
        unvisited = [(logprob, -i, c) for i, (c, logprob) in enumerate(choices) if not visits.get(c)]
        if unvisited:
            return max(unvisited)[2]
        log_n = math.log(max(visits.get(path[-1], 1), 1))

        def ucb(child: str) -> float:
            n = visits[child]
            return totals[child] / n + self.exploration * math.sqrt(log_n / n)

        return max((c for c, _ in choices), key=ucb)

    def _reward(self, engine: SearchEngine, steps: list[Step], states_before: int) -> float:
        if engine.graph.root_status != OPEN:
            return 1.0 if engine.graph.root_status == PROVED else 0.0
        if self.value is None:
            return 1.0 if engine.graph.state_count > states_before else 0.0
        graph = engine.graph
        values = [self.value(graph.state(s.child)) for s in steps if graph.is_expandable(s.child)]
        return max(values, default=0.0)

    async def run(self, engine: SearchEngine) -> None:
        graph = engine.graph
        visits: dict[str, int] = {}
        totals: dict[str, float] = {}
        stalls = 0
        while not engine.done and stalls < self.stall_limit:
            path = [graph.root]
            while not graph.is_expandable(path[-1]) and len(path) <= self.max_depth:
                child = self._select(graph, path, visits, totals)
                if child is None:
                    break
                path.append(child)
            if graph.is_expandable(path[-1]):
                before = graph.state_count
                [steps] = await engine.expand([path[-1]], self.k)
                reward = self._reward(engine, steps, before)
                stalls = 0
            else:
                reward = 0.0
                stalls += 1
            for node in path:
                visits[node] = visits.get(node, 0) + 1
                totals[node] = totals.get(node, 0.0) + reward
