"""Cross-entropy and the confidence-limited DCO loss (Chen et al., arXiv 2502.07154).

Under pass@N a target of probability p is covered with probability 1 - (1 - p)^N. DCO
minimises -log(1 - (1 - p̂)^N); its gradient is F(N, p̂) times the cross-entropy
gradient, so examples the model already covers (N·p̂ ≫ 1) stop pulling its confidence up.
Following the authors, F is a stop-gradient weight computed in float64 from the detached
sequence probability, with a rational approximation where N·p̂ is small.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

__all__ = [
    "LossKind",
    "Reduction",
    "LossConfig",
    "UnitLosses",
    "dco_weight",
    "unit_losses",
]

LossKind = Literal["ce", "dco-step", "dco-proof"]
Reduction = Literal["token-mean", "sum"]

_APPROX_BELOW = 0.1  # N·p below which F uses the second-order rational approximation


@dataclass(frozen=True)
class LossConfig:
    """Which loss to train with.

    ``n`` is the training-time pass@N' (separate from the test-time budget); for a
    ``k``-step proof the paper's rule of thumb is N' ≈ N_eff^k. Units whose weight F is
    at or below ``threshold`` are dropped and replaced from the data stream.
    ``reduction="token-mean"`` normalises each unit's CE by its token count (the
    authors' choice); ``"sum"`` gives the exact gradient of the DCO objective.
    """

    kind: LossKind = "ce"
    n: float = 1.0
    threshold: float = 0.1
    reduction: Reduction = "token-mean"

    def __post_init__(self) -> None:
        if self.kind not in ("ce", "dco-step", "dco-proof"):
            raise ValueError(f"loss kind must be ce, dco-step or dco-proof, got {self.kind!r}")
        if self.n < 1:
            raise ValueError(f"N' must be at least 1, got {self.n}")
        if self.reduction not in ("token-mean", "sum"):
            raise ValueError(f"reduction must be token-mean or sum, got {self.reduction!r}")

    @property
    def effective_n(self) -> float:
        """N' actually used: cross-entropy is DCO at N' = 1."""
        return 1.0 if self.kind == "ce" else float(self.n)

    @property
    def drops(self) -> bool:
        """Whether low-weight units are dropped (never for cross-entropy, whose F is 1)."""
        return self.kind != "ce"


def dco_weight(n: float, p: torch.Tensor) -> torch.Tensor:
    """F(N, p) = N p (1-p)^(N-1) / (1 - (1-p)^N), in float64, without gradient.

    F is 1 at N = 1 and falls to 0 once N·p ≫ 1. Where N·p < 0.1 the closed form loses
    precision, so the authors' second-order rational approximation in x = p is used:
    [1 - (N-1)x + (N-1)(N-2)x²/2] / [1 - (N-1)x/2 + (N-1)(N-2)x²/6].
    """
    x = p.detach().to(torch.float64).clamp(0.0, 1.0)
    a = n - 1.0
    b = (n - 1.0) * (n - 2.0)
    approx = (1.0 - a * x + b * x * x / 2.0) / (1.0 - a * x / 2.0 + b * x * x / 6.0)
    log1m = torch.log1p(-x)  # (1-x)^k as exp(k·log1p(-x)): 1 - x rounds to 1 for tiny x
    survive = torch.ones_like(x) if a == 0 else torch.exp(a * log1m)
    exact = n * x * survive / -torch.expm1(n * log1m)
    return torch.where(n * x < _APPROX_BELOW, approx, exact)


@dataclass(frozen=True)
class UnitLosses:
    """Per-unit results of one forward pass.

    A unit is what DCO weights as a whole: one (state, tactic) pair for CE and dco-step,
    one proof trace for dco-proof. ``loss`` carries gradient; ``weight`` (F) and
    ``logprob`` (log p̂, summed over the unit's tokens) are detached.
    """

    loss: torch.Tensor
    weight: torch.Tensor
    logprob: torch.Tensor


def unit_losses(
    token_logprobs: torch.Tensor,
    token_mask: torch.Tensor,
    unit_index: torch.Tensor,
    *,
    num_units: int,
    config: LossConfig,
) -> UnitLosses:
    """Weighted CE of each unit from the target-token log-probs of its rows.

    ``token_logprobs`` and ``token_mask`` are ``[rows, tokens]``; ``unit_index[r]`` names the
    unit row ``r`` belongs to. The unit's loss is F(N', p̂) · CE, with CE token-mean or
    summed per ``config.reduction``.
    """
    mask = token_mask.to(token_logprobs.dtype)
    row_sum = (token_logprobs * mask).sum(dim=1)
    row_tokens = mask.sum(dim=1)
    unit_sum = torch.zeros(num_units, dtype=row_sum.dtype, device=row_sum.device).index_add(0, unit_index, row_sum)
    unit_tokens = torch.zeros_like(unit_sum).index_add(0, unit_index, row_tokens)
    ce = -unit_sum if config.reduction == "sum" else -unit_sum / unit_tokens.clamp(min=1.0)
    logprob = unit_sum.detach()
    weight = dco_weight(config.effective_n, torch.exp(logprob.to(torch.float64)))
    return UnitLosses(loss=weight.to(ce.dtype) * ce, weight=weight, logprob=logprob)
