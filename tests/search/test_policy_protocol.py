"""Policies against a small fake ``SearchContext``: no engine, no environment, no proposer.

This is how a policy author tests a policy: the context below is the whole protocol.
"""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from lean_env.types import NewState, ProofComplete, ProofState, TacticError
from search import MCTS, POLICIES, Beam, BestFirst, Budget, Lookahead, Rollouts, Spent, Step, policy_parameters
from search.graph import EdgeRecord, ProofGraph
from search.testing import scripted_theorem

TABLE = {
    "root": [("a", -0.1, "A"), ("b", -2.0, "B"), ("junk", -0.5, None)],
    "A": [("a2", -0.1, "A2")],
    "A2": [("stuck", -0.1, None)],
    "B": [("finish", -0.1, "qed")],
}
"""goal -> [(tactic, logprob, next goal | "qed" | None for an error)], best first."""

CRITIC = {"root": 0.5, "A": 0.01, "A2": 0.01, "B": 0.9}
"""goal -> value: a critic that knows ``A`` leads nowhere."""


class TinyContext:
    """A ``SearchContext`` answering from ``TABLE``; records which goals were expanded."""

    def __init__(self, budget: Budget = Budget(), critic: dict[str, float] | None = None):
        self.critic = critic
        self.theorem = scripted_theorem()
        self.budget = budget
        self.graph = ProofGraph(("root",))
        self.graph.bind(self.graph.root, ProofState(("root",)))
        self.expanded: list[str] = []

    @property
    def done(self) -> bool:
        return self.graph.root_status != "open"

    def spent(self) -> Spent:
        return Spent(expansions=len(self.expanded))

    @property
    def has_value_model(self) -> bool:
        return self.critic is not None

    async def values(self, nodes):
        return [(self.critic or {}).get(self.graph.node(n).goals[0], 0.0) if n != "qed" else 1.0 for n in nodes]

    async def sample(self, nodes, k):
        raise NotImplementedError  # tactic policies only expand

    async def expand(self, nodes, k, *, full=True):
        out = []
        for node in nodes:
            goal = self.graph.node(node).goals[0]
            self.expanded.append(goal)
            steps = []
            for tactic, logprob, after in TABLE.get(goal, [])[:k]:
                result = (ProofComplete() if after == "qed" else TacticError("no") if after is None
                          else NewState(ProofState((after,))))
                record = EdgeRecord(tactic, logprob, 1, "new_state" if after not in ("qed", None) else
                                    "proof_complete" if after else "error", "", 0.0)
                steps.append(Step(tactic, logprob, self.graph.add_attempt(node, record, result)))
            if full:
                self.graph.mark_expanded(node)
            out.append(steps)
        return out

    async def verify_attempts(self, node, candidates):
        raise NotImplementedError


def test_best_first_expands_by_cumulative_logprob_until_the_proof():
    ctx = TinyContext()
    asyncio.run(BestFirst(k=3).run(ctx))
    assert ctx.expanded == ["root", "A", "A2", "B"]
    assert ctx.graph.root_status == "proved" and ctx.graph.proof_text() == "b\nfinish"


def test_a_critic_steers_best_first_and_beam_away_from_the_dead_end():
    for policy in (BestFirst(k=3), Beam(width=1, k=3)):
        ctx = TinyContext(critic=CRITIC)
        asyncio.run(policy.run(ctx))
        assert ctx.expanded == ["root", "B"] and ctx.graph.root_status == "proved", policy
    ignoring = TinyContext(critic=CRITIC)
    asyncio.run(BestFirst(k=3, value_weight=0).run(ignoring))
    assert ignoring.expanded == ["root", "A", "A2", "B"]


@pytest.mark.parametrize("policy", [Beam(width=1, k=3), Beam(width=2, k=3), MCTS(k=3), MCTS(k=3, reward="value"),
                                    Rollouts(n=4), Lookahead(width=2, k=3)])
def test_every_tactic_policy_runs_against_the_protocol_alone(policy):
    ctx = TinyContext()
    asyncio.run(policy.run(ctx))
    assert ctx.graph.root_status in ("proved", "failed", "open")
    assert ctx.expanded[0] == "root"


def test_beam_of_width_one_follows_the_likeliest_state_into_the_dead_end():
    ctx = TinyContext()
    asyncio.run(Beam(width=1, k=3).run(ctx))
    assert ctx.expanded == ["root", "A", "A2"] and ctx.graph.root_status == "open"


def test_every_policy_parameter_is_declared_with_a_meaning():
    for name, cls in POLICIES.items():
        params = policy_parameters(name)
        assert params and all(p.help and p.type for p in params), name
        assert {p.name for p in params} == {f.name for f in dataclasses.fields(cls)}, name
