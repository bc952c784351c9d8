"""MCTS's PUCT descent: the policy's probabilities steer it, so a short proof is found in
a handful of expansions where UCB1's breadth-first sweep needed hundreds."""

from __future__ import annotations

import asyncio

from lean_env.types import Theorem
from prover.baseline import BaselineProposer
from propsandbox import SandboxEnvironment
from search import MCTS, Budget, run_search

CHAIN = Theorem("t", "theorem t (p q r : Prop) : (p → q) → (q → r) → p → r := by")


def _search(policy):
    return asyncio.run(run_search(CHAIN, env=SandboxEnvironment(), proposer=BaselineProposer(), policy=policy,
                                  budget=Budget(max_expansions=200)))


def test_puct_is_the_default_and_proves_the_chain_in_a_handful_of_expansions():
    result = _search(MCTS())
    assert MCTS().selection == "puct"
    assert result.status == "proved" and result.spent.expansions <= 10


def test_ucb1_remains_available():
    result = _search(MCTS(selection="uct"))
    assert result.spent.expansions > 10
