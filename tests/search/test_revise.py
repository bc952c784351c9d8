"""``revise``: chains of whole-proof revisions driven by the checker's positioned errors."""

from __future__ import annotations

import asyncio

import pytest

from lean_env.types import Theorem
from prover.baseline import WholeProofBaseline
from propsandbox import SandboxEnvironment
from search import Attempt, Budget, Candidate, Query, Revise, resolve_policy, run_search

THEOREM = Theorem("t", "theorem t (p q : Prop) (hp : p) (hq : q) :\n    p ∧ q := by")
WRONG = "constructor\nexact hq\nexact hq"
RIGHT = "constructor\nexact hp\nexact hq"


class Reviser:
    """Proposes ``WRONG`` as a first attempt and ``RIGHT`` once shown a failed attempt
    (or ``WRONG`` forever with ``stubborn``); records every query."""

    name = "reviser"
    kind = "proof"

    def __init__(self, *, stubborn: bool = False):
        self.stubborn = stubborn
        self.calls: list[list[Query]] = []

    def propose(self, queries, k):
        self.calls.append(list(queries))
        return [[Candidate(RIGHT if q.revising and not self.stubborn else WRONG, -1.0, 6)] for q in queries]


def _search(policy, proposer, budget=Budget()):
    return asyncio.run(run_search(THEOREM, env=SandboxEnvironment(), proposer=proposer, policy=policy, budget=budget))


def test_a_revision_sees_the_failed_attempt_and_its_positioned_error():
    proposer = Reviser()
    result = _search(Revise(n=4, depth=2), proposer)
    assert result.status == "proved" and result.proof == RIGHT
    first, second = proposer.calls
    assert [q.revising for q in first] == [(), ()]
    [attempt] = second[0].revising
    assert attempt.text == WRONG
    assert attempt.messages[0].startswith("error 4:2: type mismatch")
    assert attempt.error_lines(THEOREM) == [1]


def test_depth_splits_n_into_parallel_chains_advanced_in_lockstep():
    proposer = Reviser(stubborn=True)
    result = _search(Revise(n=8, depth=4, window=2), proposer)
    assert result.status == "failed" and result.spent.samples == 8
    assert [len(call) for call in proposer.calls] == [2, 2, 2, 2]
    assert [len(call[0].revising) for call in proposer.calls] == [0, 1, 2, 2]
    assert result.spent.env_calls == 1  # one distinct text, checked once


def test_depth_one_samples_n_first_attempts_like_pass_n():
    proposer = Reviser()
    _search(resolve_policy("revise", {"n": 3, "depth": 1}), proposer)
    assert [[q.revising for q in call] for call in proposer.calls] == [[(), (), ()]]


def test_the_budget_ends_a_revision_chain():
    result = _search(Revise(n=8, depth=8), Reviser(stubborn=True), Budget(max_samples=3))
    assert result.status == "budget" and result.spent.samples == 3


def test_the_baseline_revises_by_keeping_a_prefix_before_the_first_error():
    wrong = "constructor\nexact hp\nexact hp"
    verdict = SandboxEnvironment().verify_sync(THEOREM, wrong)
    root = SandboxEnvironment().start_sync(THEOREM)
    revised = []
    for seed in range(20):
        query = Query(THEOREM, root, seed=seed, revising=(Attempt(wrong, verdict.messages),))
        revised += [c.text for c in WholeProofBaseline().propose([query], 2)[0]]
    kept = {text.split("\n")[0] for text in revised}
    assert revised and all(not text.startswith(wrong) for text in revised)
    assert "constructor" in kept  # prefixes before the error at line 2 are reused
    assert any(text.startswith("constructor\nexact hp\n") for text in revised)


@pytest.mark.parametrize("depth", [1, 2])
def test_revise_with_the_model_free_baseline_proves_sandbox_theorems(depth):
    from propsandbox import Difficulty, generate_theorems

    theorems = [g.theorem for g in generate_theorems(4, seed=3, difficulty=Difficulty(3, 2, 2))]
    env = SandboxEnvironment()
    results = [asyncio.run(run_search(t, env=env, proposer=WholeProofBaseline(), policy=Revise(n=16, depth=depth)))
               for t in theorems]
    assert {r.status for r in results} <= {"proved", "failed"}
    proved = [(t, r) for t, r in zip(theorems, results) if r.status == "proved"]
    assert len(proved) >= 2 and all(env.verify_sync(t, r.proof).ok for t, r in proved)


def test_chains_beyond_concurrent_start_in_waves_of_full_depth():
    proposer = Reviser(stubborn=True)
    _search(Revise(n=12, depth=3, concurrent=2), proposer)
    assert [len(call) for call in proposer.calls] == [2, 2, 2] * 2
    assert [len(call[0].revising) for call in proposer.calls] == [0, 1, 1] * 2
