"""Budgets: the tracker refuses before spending, and no policy ever exceeds any limit."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from search import BestFirst, Budget, BudgetExhausted, resolve_policy, run_search
from search.budget import BudgetTracker
from search.testing import RandomProposer, ScriptedEnv, TableProposer, VOCAB, WORLD, scripted_theorem


def test_tracker_refuses_before_spending():
    tracker = BudgetTracker(Budget(max_expansions=3, max_samples=10, max_env_calls=5, max_tokens=7))
    assert tracker.grant_queries(2, 4) == 2  # 8 samples
    with pytest.raises(BudgetExhausted):
        tracker.grant_queries(1, 4)  # 12 samples would exceed 10
    assert tracker.grant_queries(5, 2) == 1  # only one more expansion fits
    assert tracker.grant_env_calls(4) == 4 and tracker.grant_env_calls(3) == 1
    with pytest.raises(BudgetExhausted):
        tracker.grant_env_calls(1)
    assert tracker.accept_tokens(5) and not tracker.accept_tokens(3)
    assert not tracker.accept_tokens(1)  # the token budget is closed once a candidate overflowed it
    spent = tracker.spent()
    assert (spent.expansions, spent.samples, spent.env_calls, spent.tokens) == (3, 10, 5, 5)
    assert spent.within(tracker.budget)


def test_negative_limits_are_rejected():
    with pytest.raises(ValueError, match="max_env_calls"):
        Budget(max_env_calls=-1)


def test_wall_clock_limit_stops_a_slow_search():
    env = ScriptedEnv(WORLD, delay=0.05)
    result = asyncio.run(
        run_search(scripted_theorem(), env=env, proposer=RandomProposer(VOCAB), policy=BestFirst(), budget=Budget(max_seconds=0.12))
    )
    assert result.status == "budget" and result.spent.within(Budget())
    assert env.steps < 9 * 4  # stopped long before the four expansions a proof needs


BIG_WORLD = {f"g{i}": {t: f"g{(i * 7 + j * 3 + 1) % 40}" for j, t in enumerate(VOCAB[:6])} for i in range(40)}
BIG_WORLD["g39"]["done"] = "<done>"
limits = st.one_of(st.none(), st.integers(min_value=0, max_value=30))
policies = st.sampled_from(
    [
        ("pass-n", {"n": 12, "per_call": 4}),
        ("rollouts", {"n": 6, "max_depth": 6, "concurrent": 2}),
        ("best-first", {"k": 4}),
        ("beam", {"width": 3, "k": 3, "max_depth": 5}),
        ("mcts", {"k": 3, "max_depth": 10}),
        ("lookahead", {"width": 2, "k": 3, "lookahead": 2, "max_depth": 5}),
    ]
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy=policies, expansions=limits, env_calls=limits, samples=limits, tokens=limits, seed=st.integers(0, 3))
def test_no_policy_ever_exceeds_any_limit(policy, expansions, env_calls, samples, tokens, seed):
    name, params = policy
    budget = Budget(max_expansions=expansions, max_env_calls=env_calls, max_samples=samples, max_tokens=tokens)
    if name == "pass-n":
        proofs = [("intro a\nsplit", -1.0), ("skip\nskip", -2.0), ("done", -3.0), ("intro b", -0.5)]
        env, proposer = ScriptedEnv(WORLD), TableProposer({"root": proofs}, kind="proof")
    else:
        env, proposer = ScriptedEnv(BIG_WORLD, start="g0"), RandomProposer(VOCAB)
    policy_obj = resolve_policy(name, params)
    result = asyncio.run(run_search(scripted_theorem(), env=env, proposer=proposer, policy=policy_obj, budget=budget, seed=seed))
    assert result.status in ("proved", "failed", "budget"), result.error
    assert result.spent.within(budget), (result.spent, budget)
    assert result.spent.env_calls == env.steps + (env.verifies if name == "pass-n" else 0)
    if result.status == "proved":
        assert result.verdict.ok
