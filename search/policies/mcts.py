"""``mcts``: Monte-Carlo tree search (UCT) over the proof graph."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Literal

from search.context import SearchContext, Step
from search.graph import OPEN, PROVED, ProofGraph
from search.params import check_params, param
from search.proposer import ProposerKind

__all__ = ["MCTS"]


@dataclass(frozen=True)
class MCTS:
    """MCTS: descend from the root by PUCT (AlphaZero: mean reward + ``exploration * P *
    sqrt(N) / (1 + n)``, ``P`` the tactic's probability among the open children) or UCB1
    (unvisited children first, most probable tactic first; then mean reward +
    ``exploration * sqrt(ln N / n)``), expand the leaf reached with ``k`` tactics, and back
    the reward up the path. Children on the current path are skipped, so cycles cannot
    trap a descent. PUCT is the default: with the policy's probabilities steering the
    descent, MCTS went from the weakest tactic policy to the strongest on sandbox:valid at
    equal token budgets (docs/test-time-compute.md).

    Reward: 1 when the proof closes; otherwise, with ``reward="value"``, the best value of
    the new children (the search's value model, or the goal heuristic without one), or with
    ``"intrinsic"`` the RMaxTS intrinsic reward (DeepSeek-Prover-V1.5): 1 when the
    expansion discovered a state never seen before, else 0. ``"auto"`` uses the value when
    the search has a value model, else the intrinsic reward.
    """

    name: ClassVar[str] = "mcts"
    proposer_kind: ClassVar[ProposerKind] = "tactic"
    k: int = param(8, "tactics sampled per expansion", min=1)
    exploration: float = param(1.0, "the UCB1 constant c", min=0)
    selection: Literal["uct", "puct"] = param("puct", "descent rule: UCB1, or PUCT weighting exploration by the "
                                                     "tactics' probabilities (AlphaZero)")
    reward: Literal["auto", "value", "intrinsic"] = param("auto", "leaf reward: the value of new states, the RMaxTS "
                                                                   "intrinsic reward, or auto (value with a value model)")
    max_depth: int = param(64, "descents stop at this depth", min=1)
    stall_limit: int = param(100, "consecutive descents that expand nothing before the search gives up", min=1)

    def __post_init__(self) -> None:
        check_params(self)

    def _select(self, graph: ProofGraph, path: list[str], visits: dict[str, int], totals: dict[str, float]) -> str | None:
        """The UCB1 (or PUCT) choice among the open children of ``path[-1]`` not already on ``path``."""
        choices = [(e.target, e.logprob) for e in graph.children(path[-1]) if graph.status(e.target) == OPEN and e.target not in path]
        if not choices:
            return None
        if self.selection == "puct":
            return self._puct(choices, visits.get(path[-1], 1), visits, totals)
        unvisited = [(logprob, -i, c) for i, (c, logprob) in enumerate(choices) if not visits.get(c)]
        if unvisited:
            return max(unvisited)[2]
        log_n = math.log(max(visits.get(path[-1], 1), 1))

        def ucb(child: str) -> float:
            n = visits[child]
            return totals[child] / n + self.exploration * math.sqrt(log_n / n)

        return max((c for c, _ in choices), key=ucb)

    def _puct(self, choices: list[tuple[str, float]], parent_visits: int, visits: dict[str, int],
              totals: dict[str, float]) -> str:
        """AlphaZero's rule: mean reward (0 unvisited) + ``exploration * P * sqrt(N) / (1 + n)``,
        ``P`` the tactics' probabilities renormalised over the open children."""
        top = max(logprob for _, logprob in choices)
        weights = [math.exp(logprob - top) for _, logprob in choices]
        scale = self.exploration * math.sqrt(parent_visits) / sum(weights)

        def score(index: int) -> float:
            child, n = choices[index][0], visits.get(choices[index][0], 0)
            return (totals[child] / n if n else 0.0) + scale * weights[index] / (1 + n)

        return choices[max(range(len(choices)), key=score)][0]

    async def _reward(self, ctx: SearchContext, steps: list[Step], states_before: int) -> float:
        graph = ctx.graph
        if graph.root_status != OPEN:
            return 1.0 if graph.root_status == PROVED else 0.0
        if self.reward == "intrinsic" or (self.reward == "auto" and not ctx.has_value_model):
            return 1.0 if graph.state_count > states_before else 0.0
        return max(await ctx.values([s.child for s in steps if graph.is_expandable(s.child)]), default=0.0)

    async def run(self, ctx: SearchContext) -> None:
        graph = ctx.graph
        visits: dict[str, int] = {}
        totals: dict[str, float] = {}
        stalls = 0
        while not ctx.done and stalls < self.stall_limit:
            path = [graph.root]
            while not graph.is_expandable(path[-1]) and len(path) <= self.max_depth:
                child = self._select(graph, path, visits, totals)
                if child is None:
                    break
                path.append(child)
            if graph.is_expandable(path[-1]):
                before = graph.state_count
                [steps] = await ctx.expand([path[-1]], self.k)
                reward = await self._reward(ctx, steps, before)
                stalls = 0
            else:
                reward = 0.0
                stalls += 1
            for node in path:
                visits[node] = visits.get(node, 0) + 1
                totals[node] = totals.get(node, 0.0) + reward
