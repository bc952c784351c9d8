"""What the DCO sandbox experiment runs: the plan (sizes, grids, seeds) and its variants."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Plan", "Variant", "DEFAULT", "QUICK"]


@dataclass(frozen=True)
class Variant:
    """One training recipe: a loss and its N' (``ce`` has none)."""

    loss: str
    n: float = 1.0

    @property
    def name(self) -> str:
        return "ce" if self.loss == "ce" else f"{self.loss}-{self.n:g}"


@dataclass(frozen=True)
class Plan:
    """Sizes of the experiment. Training uses ``train_theorems`` proofs spread over the
    sandbox train split's tiers, for ``max(epochs)`` epochs (CE snapshots at each of
    ``epochs``; DCO models are taken at the last); measurements use ``test_theorems``
    theorems spread over sandbox:test, which no model trains on. The defaults are the plan
    that shows CE's overconfidence regime here: few proofs, many epochs, N up to 1024."""

    train_theorems: int = 32
    test_theorems: int = 20
    epochs: tuple[int, ...] = (8, 32, 64, 128)
    step_n: tuple[float, ...] = (2.0, 4.0, 8.0)
    proof_n: tuple[float, ...] = (16.0, 256.0)
    seeds: tuple[int, ...] = (0, 1, 2)
    rollouts: int = 1024
    max_depth: int = 16
    search_samples: int = 1024
    search_k: int = 8
    oversample: int = 1
    confidence_samples: int = 16
    model_size: str = "small"
    batch_size: int = 32
    learning_rate: float = 2e-3
    base_theorems: int = 50
    base_steps: int = 600
    base_env_calls: tuple[int, ...] = (64, 128)
    base_oversample: tuple[int, ...] = (1, 4)
    variants: tuple[Variant, ...] = field(init=False)

    def __post_init__(self) -> None:
        variants = (Variant("ce"), *(Variant("dco-step", n) for n in self.step_n),
                    *(Variant("dco-proof", n) for n in self.proof_n))
        object.__setattr__(self, "variants", variants)

    @property
    def budgets(self) -> tuple[int, ...]:
        """Sample budgets at which searches are read (powers of 2 from ``search_k`` up to ``search_samples``)."""
        out, b = [], self.search_k
        while b < self.search_samples:
            out.append(b)
            b *= 2
        return (*out, self.search_samples)

    @property
    def ns(self) -> tuple[int, ...]:
        """Rollout counts N at which pass@N is read (powers of 2 up to ``rollouts``)."""
        out, n = [], 1
        while n < self.rollouts:
            out.append(n)
            n *= 2
        return (*out, self.rollouts)


DEFAULT = Plan()
QUICK = Plan(train_theorems=16, test_theorems=4, epochs=(1, 2), step_n=(4.0,), proof_n=(16.0,), seeds=(0,), rollouts=8,
             max_depth=8, search_samples=32, confidence_samples=8, model_size="tiny", base_theorems=4, base_steps=4,
             base_env_calls=(16,), base_oversample=(1,))
