"""The model-free BaselineProposer driving every tactic policy on the sandbox test split."""

from __future__ import annotations

import asyncio

import pytest

from propsandbox import SandboxEnvironment, load_split
from prover.baseline import BaselineProposer
from search import Budget, Scheduler, plan_jobs, resolve_policy

THEOREMS = [g.theorem for g in load_split("test")[:12]]


@pytest.mark.parametrize(
    "name, params",
    [("best-first", {"k": 8}), ("beam", {"width": 4, "k": 8}), ("mcts", {"k": 8}), ("lookahead", {"width": 3, "k": 6})],
)
def test_baseline_proposer_proves_most_of_the_test_split(name, params):
    scheduler = Scheduler(
        env=SandboxEnvironment(),
        proposer=BaselineProposer(),
        policy=resolve_policy(name, params),
        budget=Budget(max_expansions=100),
    )
    results = asyncio.run(scheduler.run(plan_jobs(THEOREMS)))
    proved = [(t, r) for t, r in zip(THEOREMS, results) if r.status == "proved"]
    assert len(proved) >= 10, [(r.theorem, r.status) for r in results]
    assert {r.status for r in results} <= {"proved", "failed", "budget"}
    checker = SandboxEnvironment()
    assert all(checker.verify_sync(t, r.proof).ok for t, r in proved)
    assert scheduler.stats().mean_size > 1  # queries of different theorems were batched together
