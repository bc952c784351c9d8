"""The automation proposer on DeepSeek's real pretty-printed MiniF2F goals (``goal`` field)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from lean_env import Hypothesis, parse_goal
from lean_env.types import ProofState, Theorem
from prover.lean_automation import AutomationConfig, AutomationProposer
from search.proposer import Proposer, Query


@pytest.fixture(scope="module")
def goals(shared_datasets: Path) -> dict[str, str]:
    path = shared_datasets / "minif2f" / "minif2f_lean4_deepseek_kimina.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    found = {row["name"]: row["goal"] for row in rows if row.get("goal")}
    assert len(found) == 473  # 488 minus the 15 replaced statements, whose goal is null
    return found


def texts(goal: str, k: int = 50) -> list[str]:
    return [c.text for c in AutomationProposer().candidates(goal)[:k]]


def test_every_real_goal_parses_into_hypotheses_and_a_target(goals: dict[str, str]) -> None:
    for name, text in goals.items():
        goal = parse_goal(text)
        assert goal.target and "⊢" not in goal.target, name
        assert all(hyp.names and hyp.type for hyp in goal.hypotheses), name
        lines = [line for line in text.splitlines() if not line[:1].isspace() and not line.startswith("⊢")]
        assert len(goal.hypotheses) == len(lines), name


def test_shared_names_and_continuation_lines(goals: dict[str, str]) -> None:
    goal = parse_goal(goals["amc12a_2015_p10"])
    assert goal.hypotheses[0] == Hypothesis(("x", "y"), "ℤ")
    assert dict(goal.facts())["h₂"] == "x + y + x * y = 80" and goal.target == "x = 26"
    wrapped = parse_goal(goals["imo_2006_p3"])  # the target is wrapped onto an indented line
    assert wrapped.target.endswith("≤ 9 * √2 / 32 * (a ^ 2 + b ^ 2 + c ^ 2) ^ 2")


def test_case_tags_and_let_values() -> None:
    goal = parse_goal("case succ\nn : ℕ\nm : ℕ := n + 1\nih : 0 < m\n⊢ 0 < m + 1")
    assert goal.case == "succ"
    assert goal.hypotheses[1] == Hypothesis(("m",), "ℕ", "n + 1") and goal.variable_types() == {"n": "ℕ", "m": "ℕ"}


def test_candidates_are_distinct_sorted_normalised_and_deterministic(goals: dict[str, str]) -> None:
    proposer = AutomationProposer()
    for name, text in goals.items():
        candidates = proposer.candidates(text)
        assert candidates == proposer.candidates(text), name
        assert len({c.text for c in candidates}) == len(candidates), name
        logprobs = [c.logprob for c in candidates]
        assert logprobs == sorted(logprobs, reverse=True) and logprobs[0] < 0, name
        assert math.isclose(sum(math.exp(lp) for lp in logprobs), 1.0), name


def test_propose_is_batched_and_capped_at_k(goals: dict[str, str]) -> None:
    proposer = AutomationProposer()
    assert isinstance(proposer, Proposer) and (proposer.name, proposer.kind) == ("automation", "tactic")
    theorem = Theorem(name="amc12a_2015_p10", statement="theorem amc12a_2015_p10 ... := by")
    queries = [Query(theorem, ProofState((goals["amc12a_2015_p10"],))), Query(theorem, ProofState(()))]
    first, solved = proposer.propose(queries, k=4)
    assert len(first) == 4 and first == proposer.candidates(goals["amc12a_2015_p10"])[:4]
    assert solved == []


def test_integer_linear_goal_puts_omega_first(goals: dict[str, str]) -> None:
    assert texts(goals["amc12a_2015_p10"])[0] == "omega"
    assert "intro" not in " ".join(texts(goals["amc12a_2015_p10"]))


def test_conjunction_and_iff_targets_offer_constructor_first(goals: dict[str, str]) -> None:
    assert texts(goals["mathd_algebra_13"])[0] == "constructor"  # ⊢ a = -6 ∧ b = 10
    assert texts(goals["numbertheory_prmdvsneqnsqmodpeq0"])[0] == "constructor"  # ⊢ ↑p ∣ n ↔ ...


def test_binders_and_negation_are_introduced_with_names(goals: dict[str, str]) -> None:
    assert texts(goals["algebra_amgm_faxinrrp2msqrt2geq2mxm1div2x"])[0] == "intro x h"  # ⊢ ∀ x > 0, ...
    negated = texts(goals["imo_1964_p1_2"])  # ⊢ ¬7 ∣ 2 ^ n + 1
    assert negated[0] == "intro h" and "push_neg" in negated


def test_disjunction_target_offers_both_sides(goals: dict[str, str]) -> None:
    proposed = texts(goals["numbertheory_sqmod4in01d"])
    assert {"left", "right"} <= set(proposed)


def test_hypotheses_are_destructured_and_substituted(goals: dict[str, str]) -> None:
    proposed = texts(goals["mathd_algebra_478"])  # h₀ : 0 < b ∧ 0 < h ∧ 0 < v, h₂ : b = 30, ...
    assert "obtain ⟨h₀_1, h₀_2, h₀_3⟩ := h₀" in proposed
    assert {"subst h₁", "subst h₂", "subst h₃"} <= set(proposed)
    assert "obtain ⟨x, h⟩ := h₁" in texts(goals["mathd_algebra_28"])  # h₁ : ∃ x, f x ≤ 0


def test_sign_goal_boosts_positivity_and_real_inequality_gets_square_hints(goals: dict[str, str]) -> None:
    proposed = texts(goals["imo_1983_p6"])  # ⊢ 0 ≤ a ^ 2 * b * (a - b) + ...
    assert proposed.index("positivity") < proposed.index("simp")
    assert "nlinarith [sq_nonneg (a - b), sq_nonneg (a - c), sq_nonneg (b - c)]" in proposed[:3]


def test_closed_numeric_goal_prefers_evaluation(goals: dict[str, str]) -> None:
    proposed = texts(goals["mathd_numbertheory_3"])  # ⊢ (∑ x ∈ Finset.range 10, (x + 1) ^ 2) % 10 = 5
    assert proposed[0] == "norm_num" and "decide" in proposed[:6]


def test_a_hypothesis_equal_to_the_target_is_used_directly() -> None:
    assert texts("x y : ℝ\nh₀ : 0 < x\nh₁ : x   <\n    y\n⊢ x < y")[0] == "exact h₁"


def test_priors_are_tunable_and_checked(goals: dict[str, str]) -> None:
    tuned = AutomationProposer(AutomationConfig(priors={"omega": 0.0, "aesop": 100.0}))
    proposed = [c.text for c in tuned.candidates(goals["amc12a_2015_p10"])]
    assert proposed[0] == "aesop" and "omega" not in proposed
    with pytest.raises(ValueError, match="unknown automation rules"):
        AutomationConfig(priors={"omgea": 1.0})
    with pytest.raises(TypeError):
        AutomationConfig().priors["omega"] = 5.0  # type: ignore[index]
