"""The DCO weight F(N, p) and the per-unit losses built on it."""

from __future__ import annotations

import math

import mpmath
import pytest
import torch

from prover.training import LossConfig, dco_weight, unit_losses

mpmath.mp.dps = 50


def closed_form(n: float, p: float) -> float:
    """F(N, p) = N p (1-p)^(N-1) / (1 - (1-p)^N) in 50-digit arithmetic."""
    n, p = mpmath.mpf(n), mpmath.mpf(p)
    return float(n * p * (1 - p) ** (n - 1) / (1 - (1 - p) ** n))


GRID_N = [1, 2, 3, 8, 32, 100, 1000, 4096, 1e9, 1e20]
GRID_P = [1e-30, 1e-18, 1e-12, 1e-6, 1e-4, 1e-3, 0.01, 0.05, 0.2, 0.5, 0.9, 0.999, 1 - 1e-9]


@pytest.mark.parametrize("n", GRID_N)
def test_weight_matches_closed_form_over_grid(n):
    p = torch.tensor(GRID_P, dtype=torch.float64)
    got = dco_weight(n, p)
    assert got.dtype == torch.float64
    for value, prob in zip(got.tolist(), GRID_P):
        want = closed_form(n, prob)
        # The rational approximation (used where N·p < 0.1) is accurate to O((N·p)^3).
        tolerance = 2e-4 if n * prob < 0.1 else 1e-9
        assert value == pytest.approx(want, rel=tolerance, abs=1e-300), (n, prob)


def test_weight_limits():
    p = torch.tensor([0.0, 1e-9, 0.3, 1.0], dtype=torch.float64)
    assert dco_weight(1, p).tolist() == [1.0, 1.0, 1.0, 1.0]
    large = dco_weight(1000, p)
    assert large[0] == 1.0 and large[1] == pytest.approx(1.0, abs=1e-6)
    assert large[2] < 1e-100 and large[3] == 0.0
    assert torch.all(dco_weight(64, torch.linspace(0, 1, 101, dtype=torch.float64)).diff() <= 1e-12)  # monotone


def test_weight_has_no_gradient():
    p = torch.tensor([0.3], requires_grad=True)
    assert not dco_weight(4, p).requires_grad


def _toy(seed: int = 0):
    """Random 'logits' per row and targets: 3 rows of up to 4 tokens."""
    torch.manual_seed(seed)
    logits = torch.randn(3, 4, 6, dtype=torch.float64, requires_grad=True)
    targets = torch.randint(0, 6, (3, 4))
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0], [1, 1, 1, 0]], dtype=torch.bool)
    return logits, targets, mask


def _token_logprobs(logits, targets):
    return torch.log_softmax(logits, -1).gather(2, targets[..., None])[..., 0]


def _grad(loss, params):
    (g,) = torch.autograd.grad(loss, params, retain_graph=True)
    return g


@pytest.mark.parametrize("n", [1, 4, 50])
def test_step_level_gradient_is_f_times_ce_gradient(n):
    logits, targets, mask = _toy()
    lp = _token_logprobs(logits, targets)
    units = torch.arange(3)
    dco = unit_losses(lp, mask, units, num_units=3, config=LossConfig(kind="dco-step", n=n))
    ce = unit_losses(lp, mask, units, num_units=3, config=LossConfig(kind="ce"))
    for i in range(3):
        f = dco.weight[i].item()
        assert f == pytest.approx(closed_form(n, math.exp(ce.logprob[i].item())), rel=2e-4)
        assert torch.allclose(_grad(dco.loss[i], logits), f * _grad(ce.loss[i], logits))
    # token-mean: CE of a unit is its mean token NLL
    assert ce.loss[1].item() == pytest.approx(-(lp[1, :2].sum() / 2).item())


@pytest.mark.parametrize("n", [2, 16])
def test_summed_step_loss_has_the_exact_dco_gradient(n):
    logits, targets, mask = _toy(1)
    lp = _token_logprobs(logits, targets)
    dco = unit_losses(lp, mask, torch.arange(3), num_units=3, config=LossConfig(kind="dco-step", n=n, reduction="sum"))
    for i in range(3):
        p = torch.exp((lp[i] * mask[i]).sum())
        exact = -torch.log(1 - (1 - p) ** n)
        assert torch.allclose(_grad(dco.loss[i], logits), _grad(exact, logits))


def test_n_one_reproduces_cross_entropy_exactly():
    logits, targets, mask = _toy(2)
    lp = _token_logprobs(logits, targets)
    dco = unit_losses(lp, mask, torch.arange(3), num_units=3, config=LossConfig(kind="dco-step", n=1))
    ce = unit_losses(lp, mask, torch.arange(3), num_units=3, config=LossConfig(kind="ce", n=64))  # N is ignored for CE
    assert torch.equal(dco.loss, ce.loss) and torch.equal(ce.weight, torch.ones(3, dtype=torch.float64))


@pytest.mark.parametrize("n", [3, 40])
def test_proof_level_weighting_is_the_gradient_of_proof_coverage(n):
    """Rows 0 and 2 are two steps of one proof, row 1 another proof."""
    logits, targets, mask = _toy(3)
    lp = _token_logprobs(logits, targets)
    owner = torch.tensor([0, 1, 0])
    dco = unit_losses(lp, mask, owner, num_units=2, config=LossConfig(kind="dco-proof", n=n, reduction="sum"))
    step_sum = (lp * mask).sum(1)
    proof_p = torch.exp(step_sum[0] + step_sum[2])
    exact = -torch.log(1 - (1 - proof_p) ** n)
    assert torch.allclose(_grad(dco.loss[0], logits), _grad(exact, logits))
    assert dco.weight[0].item() == pytest.approx(closed_form(n, proof_p.item()), rel=2e-4)
    # token-mean variant: the same weight times the proof's mean token NLL
    mean = unit_losses(lp, mask, owner, num_units=2, config=LossConfig(kind="dco-proof", n=n))
    assert mean.loss[0].item() == pytest.approx(dco.loss[0].item() / 7)  # 4 + 3 target tokens


def test_loss_config_validates():
    with pytest.raises(ValueError, match="loss kind"):
        LossConfig(kind="focal")
    with pytest.raises(ValueError, match="at least 1"):
        LossConfig(kind="dco-step", n=0.5)
    assert LossConfig(kind="ce", n=8).effective_n == 1.0 and not LossConfig().drops
