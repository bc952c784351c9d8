"""The DCO sandbox report's arithmetic: ensembles at matched total compute, search budgets."""

from __future__ import annotations

from math import comb
from pathlib import Path

import pytest

from prover.runs import pass_at_k

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "dco_sandbox"


@pytest.fixture()
def report(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    import report

    return report


def test_ensemble_splits_the_rollouts_and_fails_only_when_every_member_fails(report):
    a, b = {"t1": 4, "t2": 0}, {"t1": 0, "t2": 2}
    n = 8
    expected_t1 = 1 - comb(n - 4, 2) / comb(n, 2)  # member a with 2 of the 4 rollouts; b never succeeds
    expected_t2 = 1 - comb(n - 2, 2) / comb(n, 2)
    assert report.ensemble_pass([a, b], n, 4) == pytest.approx((expected_t1 + expected_t2) / 2)
    assert report.ensemble_pass([a, b], n, 1) is None  # one rollout cannot be shared by two models
    # 3 rollouts over 2 models: 2 + 1 and 1 + 2, averaged
    uneven = [1 - comb(n - 4, 2) / comb(n, 2), 1 - comb(n - 4, 1) / comb(n, 1),
              1 - comb(n - 2, 1) / comb(n, 1), 1 - comb(n - 2, 2) / comb(n, 2)]
    assert report.ensemble_pass([a, b], n, 3) == pytest.approx(sum(uneven) / 4)
    assert report.ensemble_pass([a], n, 4) == pytest.approx(report.rollout_pass(a, n, 4))
    assert report.rollout_pass(a, n, 4) == pytest.approx((pass_at_k(n, 4, 4) + 0.0) / 2)


def test_search_is_solved_at_every_budget_at_least_what_it_spent(report):
    spent = {"t1": 16, "t2": None, "t3": 64}
    assert [report.search_solved(spent, b) for b in (8, 16, 63, 64)] == pytest.approx([0, 1 / 3, 1 / 3, 2 / 3])
    assert report.ensemble_solved([spent, {"t1": None, "t2": 8, "t3": None}], 32) == pytest.approx(2 / 3)


def test_plan_reads_n_and_budgets_up_to_its_maximum(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    from plan import QUICK, Plan

    plan = Plan(rollouts=100, search_samples=512, search_k=8)
    assert plan.ns == (1, 2, 4, 8, 16, 32, 64, 100)
    assert plan.budgets == (8, 16, 32, 64, 128, 256, 512)
    assert {v.name for v in QUICK.variants} == {"ce", "dco-step-4", "dco-proof-16"}


def test_the_regime_is_a_later_epoch_with_higher_pass_at_1_and_lower_pass_at_n(report, monkeypatch):
    from plan import Plan

    plan = Plan(epochs=(1, 2, 4), rollouts=8, seeds=(0,), step_n=(), proof_n=())

    def measured(by_epoch):
        return {"ce": {str(e): {"0": {"rollouts": counts}} for e, counts in by_epoch.items()}}

    # epoch 2 spreads its successes (pass@8 = 1), epoch 4 piles them on one theorem (pass@1 up, pass@8 down)
    memorising = report._Data(plan, measured({1: {"t1": 0, "t2": 0}, 2: {"t1": 1, "t2": 1}, 4: {"t1": 8, "t2": 0}}))
    assert report._regime(memorising, 8) == ("2", "4")
    improving = report._Data(plan, measured({1: {"t1": 0, "t2": 0}, 2: {"t1": 1, "t2": 1}, 4: {"t1": 2, "t2": 2}}))
    assert report._regime(improving, 8) is None
