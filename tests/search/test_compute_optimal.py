"""Strategy tables and the ``compute-optimal`` policy: a strategy per theorem from a
predicted difficulty, the pilot paid from the same budget."""

from __future__ import annotations

import asyncio

import pytest

from lean_env.types import ProofState, Theorem
from prover.baseline import BaselineProposer, WholeProofBaseline
from propsandbox import SandboxEnvironment
from search import Budget, Candidate, SearchConfigError, goal_heuristic, resolve_policy, run_search
from search.policies import ComputeOptimal
from search.policies.compute_optimal import predict_difficulty
from search.strategy import Choice, Strategy, StrategyTable, read_strategy_table

CHEAP = Strategy("rollouts", {"n": 1, "max_depth": 1})
STRONG = Strategy("best-first", {"k": 4})
THEOREM = Theorem("t", "theorem t (p q r : Prop) : (p → q) → (q → r) → p → r := by")


def table(*, signal="root-value", edges=(0.5,), budgets=(10, 100), choose=lambda b, budget: CHEAP, kind="tactic"):
    choices = tuple(Choice(b, budget, choose(b, budget), 0, 0) for b in range(len(edges) + 1) for budget in budgets)
    return StrategyTable(kind=kind, signal=signal, pilot=2, edges=edges, budgets=budgets, choices=choices)


def test_a_table_round_trips_through_its_toml_and_picks_by_bin_and_budget():
    original = table(choose=lambda b, budget: STRONG if (b, budget) == (1, 100) else CHEAP)
    text = original.to_toml(comment="two lines\nof comment")
    assert text.startswith("# two lines\n# of comment\n") and 'params = { k = 4 }' in text
    parsed = StrategyTable.from_toml(text)
    assert parsed == original
    assert parsed.bin_of(0.5) == 0 and parsed.bin_of(0.51) == 1
    assert parsed.pick(0.9, 100) == STRONG and parsed.pick(0.9, 5000) == STRONG and parsed.pick(0.9, None) == STRONG
    assert parsed.pick(0.9, 99) == CHEAP and parsed.pick(0.9, 1) == CHEAP and parsed.pick(0.1, 100) == CHEAP


@pytest.mark.parametrize("text, needle", [
    ("kind = 'tactic'", "not a strategy table"),
    ("kind = [", "not a strategy table"),
])
def test_malformed_tables_are_config_errors(text, needle, tmp_path):
    path = tmp_path / "t.toml"
    path.write_text(text)
    with pytest.raises(SearchConfigError, match=needle):
        read_strategy_table(path)
    with pytest.raises(SearchConfigError, match="cannot read strategy table"):
        read_strategy_table(tmp_path / "missing.toml")
    with pytest.raises(SearchConfigError, match="every .bin, budget. cell"):
        StrategyTable(kind="tactic", signal="pilot", pilot=1, edges=(0.5,), budgets=(1,), choices=())


def test_compute_optimal_needs_a_table_of_one_proposer_kind(tmp_path):
    with pytest.raises(SearchConfigError, match="--strategy TABLE"):
        resolve_policy("compute-optimal")
    with pytest.raises(SearchConfigError, match="a 'proof' policy"):
        ComputeOptimal(table=table(choose=lambda b, budget: Strategy("pass-n", {"n": 2})))
    path = tmp_path / "table.toml"
    path.write_text(table(kind="proof", choose=lambda b, budget: Strategy("revise", {"depth": 2})).to_toml())
    assert resolve_policy("compute-optimal", {"strategy": str(path)}).proposer_kind == "proof"


def _search(policy, proposer, budget):
    return asyncio.run(run_search(THEOREM, env=SandboxEnvironment(), proposer=proposer, policy=policy, budget=budget))


@pytest.mark.parametrize("hard_choice, status", [(CHEAP, "failed"), (STRONG, "proved")])
def test_the_strategy_of_the_theorems_bin_is_run(hard_choice, status):
    """The root of THEOREM has three hypotheses' worth of goal: its heuristic difficulty is
    above 0.5, so the hard bin's choice decides the outcome."""
    policy = ComputeOptimal(table=table(choose=lambda b, budget: hard_choice if b == 1 else CHEAP))
    assert _search(policy, BaselineProposer(), Budget(max_tokens=100)).status == status
    easy = ComputeOptimal(table=table(edges=(0.99,), choose=lambda b, budget: hard_choice if b == 1 else CHEAP))
    assert _search(easy, BaselineProposer(), Budget(max_tokens=100)).status == "failed"


def test_the_pilot_is_paid_from_the_search_budget():
    pilot = table(signal="pilot", choose=lambda b, budget: STRONG)
    result = _search(ComputeOptimal(table=pilot, pilot_depth=1), BaselineProposer(temperature=1.0), Budget(max_tokens=2))
    assert result.status == "budget" and result.spent.tokens <= 2 and result.spent.expansions >= 1
    solved = _search(ComputeOptimal(table=pilot, pilot_depth=1), BaselineProposer(), Budget(max_tokens=100))
    assert solved.status == "proved" and solved.spent.samples > 2  # two pilot samples, then best-first


class Probe:
    name = "probe"
    proposer_kind = "proof"

    def __init__(self):
        self.found = []

    async def run(self, ctx):
        self.found.append(await predict_difficulty(ctx, kind="proof", signal="pilot", pilot=2, depth=1))


class Scripts:
    name = "scripts"
    kind = "proof"

    def propose(self, queries, k):
        texts = ["constructor\nexact hq\nexact hq", "constructor\nexact hp"][:k]
        return [[Candidate(t, -1.0, 3) for t in texts] for _ in queries]


def test_a_whole_proof_pilot_predicts_difficulty_from_where_attempts_fail():
    """One attempt fails at its second of three lines (progress 1/3), the other runs
    every line and leaves the goal ``q`` (progress: that goal's heuristic value)."""
    theorem = Theorem("c", "theorem c (p q : Prop) (hp : p) (hq : q) : p ∧ q := by")
    probe = Probe()
    result = asyncio.run(run_search(theorem, env=SandboxEnvironment(), proposer=Scripts(), policy=probe))
    left = goal_heuristic(ProofState(goals=("case right\np q : Prop\nhp : p\nhq : q\n⊢ q",)))
    assert probe.found == [pytest.approx(1 - (1 / 3 + left) / 2)] and result.spent.env_calls == 2
    proof_table = table(kind="proof", signal="pilot", choose=lambda b, budget: Strategy("revise", {"n": 8, "depth": 2}))
    result = _search(ComputeOptimal(table=proof_table), WholeProofBaseline(), Budget(max_tokens=200))
    assert result.status in ("proved", "failed") and result.spent.samples >= 2
