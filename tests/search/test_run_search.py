"""run_search end to end on a scripted environment: every policy, verification, failure modes."""

from __future__ import annotations

import asyncio

import pytest

from search import Budget, SearchConfigError, resolve_policy, run_search
from search.testing import CRASH, DONE, RandomProposer, ScriptedEnv, TableProposer, VOCAB, WORLD, scripted_theorem, structure

K = len(VOCAB)  # tree policies see every move of the scripted world, in a random order
TACTIC_POLICIES = {
    "rollouts": {"n": 64, "max_depth": 8, "concurrent": 4},
    "best-first": {"k": K},
    "beam": {"width": 2, "k": K, "max_depth": 6},
    "mcts": {"k": K},
    "lookahead": {"width": 1, "k": K, "lookahead": 2, "max_depth": 6},
}


def search(policy, *, env=None, proposer=None, budget=Budget(), seed=0, **params):
    env = env or ScriptedEnv(WORLD)
    proposer = proposer or RandomProposer(VOCAB)
    policy = resolve_policy(policy, params) if isinstance(policy, str) else policy
    return asyncio.run(run_search(scripted_theorem(), env=env, proposer=proposer, policy=policy, budget=budget, seed=seed))


@pytest.mark.parametrize("name", sorted(TACTIC_POLICIES))
def test_each_tactic_policy_proves_and_the_proof_verifies(name):
    env = ScriptedEnv(WORLD)
    focused = RandomProposer(("bad", "simp"), focus={g: [t for t in m if m[t] != CRASH] for g, m in WORLD.items()})
    proposer = focused if name == "rollouts" else RandomProposer(VOCAB)
    result = search(name, env=env, proposer=proposer, budget=Budget(max_expansions=400), **TACTIC_POLICIES[name])
    assert result.status == "proved", result
    assert result.verdict.ok and result.verdict.proof == result.proof
    assert asyncio.run(env.verify(scripted_theorem(), result.proof)).ok
    assert result.proof.splitlines()[-2:] == ["split", "done"]
    assert result.spent.env_calls == env.steps  # every env step was charged, final verify not


@pytest.mark.parametrize("name", sorted(TACTIC_POLICIES))
def test_each_policy_is_deterministic_per_seed(name):
    first = search(name, **TACTIC_POLICIES[name])
    second = search(name, **TACTIC_POLICIES[name])
    assert structure(first.graph) == structure(second.graph)
    assert (first.status, first.proof, first.spent.env_calls) == (second.status, second.proof, second.spent.env_calls)


def test_pass_n_verifies_whole_proofs_and_stops_at_the_first_accepted():
    proofs = ["intro a\nsplit\ndone", "intro a\nintro b\nsplit\ndone", "intro b\nintro a\nsplit\ndone"]
    proposer = TableProposer({"root": [(p, -float(i)) for i, p in enumerate(proofs)]}, kind="proof")
    env = ScriptedEnv(WORLD)
    result = search("pass-n", env=env, proposer=proposer, n=8, per_call=2)
    assert result.status == "proved" and result.proof == proofs[1]
    assert env.verifies == 2 and result.spent.env_calls == 2 and result.spent.samples == 2
    assert result.graph.edge_count == 2  # one rejected attempt, one accepted


def test_pass_n_without_proof_reports_failed_after_n_samples():
    proposer = TableProposer({"root": [("sorry", -1.0)]}, kind="proof")
    env = ScriptedEnv(WORLD)
    result = search("pass-n", env=env, proposer=proposer, n=6, per_call=4)
    assert result.status == "failed" and result.proof is None
    assert result.spent.samples == 6 and env.verifies == 1  # a repeated text is verified once


def test_verify_disagreement_is_a_finding_not_a_proof():
    result = search("best-first", env=ScriptedEnv(WORLD, verify_ok=False), k=K)
    assert result.status == "error" and result.proof is None and result.verdict is None
    assert result.graph.root_status == "proved"
    assert result.findings and "verify (scripted) rejected" in result.findings[0]


def test_rollouts_share_prefixes_and_never_repeat_an_env_call():
    env = ScriptedEnv(WORLD)
    table = {"root": [("intro a", -0.1)], "A": [("back", -0.1)]}
    result = search("rollouts", env=env, proposer=TableProposer(table), n=5, max_depth=10)
    assert result.status == "failed"
    assert env.steps == 2  # root->A and A->root, cached for every later rollout
    assert result.spent.expansions == 10  # each rollout asks twice, then meets its own cycle


def test_exhausted_search_space_is_failed_not_budget():
    table = {"root": [("intro a", -0.1), ("skip", -0.2), ("bad", -0.3)], "A": [("back", -0.1)]}
    for name in ("best-first", "beam", "mcts", "lookahead"):
        result = search(name, proposer=TableProposer(table))
        assert result.status == "failed", (name, result.status)
        assert result.graph.root_status == "failed"


def test_budget_stop_reports_budget():
    result = search("best-first", k=K, budget=Budget(max_expansions=1))
    assert result.status == "budget" and result.spent.expansions == 1


def test_lost_root_is_an_error():
    result = search("best-first", proposer=TableProposer({"root": [("crash", -0.1)]}))
    assert result.status == "error" and "lost" in result.error


def test_exceptions_become_error_results():
    result = search("beam", env=ScriptedEnv(WORLD, fail_start=frozenset({"t"})))
    assert result.status == "error" and "cannot start t" in result.error


def test_kind_mismatch_and_bad_configs_raise_clear_errors():
    with pytest.raises(SearchConfigError, match="needs a 'proof' proposer"):
        search("pass-n")
    with pytest.raises(SearchConfigError, match="unknown search policy"):
        resolve_policy("dfs")
    with pytest.raises(SearchConfigError, match=r"unknown parameter\(s\) 'widht' for policy 'beam'; valid: width, k, max_depth"):
        resolve_policy("beam", dict(widht=3))
    with pytest.raises(SearchConfigError, match="MCTS.k must be an integer >= 1, got 0"):
        resolve_policy("mcts", dict(k=0))
    with pytest.raises(SearchConfigError, match="BestFirst.alpha must be a finite number >= 0, got 'nan'"):
        resolve_policy("best-first", dict(alpha="nan"))
    with pytest.raises(SearchConfigError, match="BestFirst.k must be an integer >= 1, got True"):
        resolve_policy("best-first", dict(k=True))
    with pytest.raises(SearchConfigError, match="takes a policy object"):
        asyncio.run(run_search(scripted_theorem(), env=ScriptedEnv(WORLD), proposer=RandomProposer(VOCAB), policy="beam"))


def test_proposer_returning_more_than_k_is_truncated():
    table = {"root": [("intro a", -1.0), ("intro b", -1.0), ("skip", -1.0)]}
    env = ScriptedEnv({"root": {"intro a": DONE}})
    result = search("best-first", env=env, proposer=TableProposer(table), k=1)
    assert result.status == "proved" and env.steps == 1


def test_a_crash_that_loses_a_child_state_only_closes_that_branch():
    world = {"root": {"intro a": "A", "intro b": "B"}, "A": {"boom": CRASH}, "B": {"done": DONE}}
    table = {"root": [("intro a", -0.1), ("intro b", -0.5)], "A": [("boom", -0.1)], "B": [("done", -0.1)]}
    result = search("best-first", env=ScriptedEnv(world), proposer=TableProposer(table))
    assert result.status == "proved" and result.proof == "intro b\ndone"
    lost = result.graph.node_for_key("A")
    assert result.graph.status(lost) == "lost"
    assert any(e.outcome == "crash" for e in result.graph.edges_from(lost))
