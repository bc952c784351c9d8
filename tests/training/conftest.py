"""Small synthetic training sets and tiny configs for the training tests."""

from __future__ import annotations

import dataclasses

import pytest

from lean_env.types import ProofState, Theorem
from prover.training import DataSpec, LossConfig, ModelSpec, OptimConfig, ProofTrace, StepExample, TrainConfig
from search.proposer import Query
from tests.models.conftest import one_thread  # noqa: F401  (autouse: single-threaded torch here too)


def make_trace(name: str, pairs: list[tuple[str, str]]) -> ProofTrace:
    """A trace whose steps are (goal text, tactic) pairs."""
    theorem = Theorem(name=name, statement=f"theorem {name} : p := by")
    steps = tuple(
        StepExample(Query(theorem=theorem, state=ProofState(goals=(goal,)), history=tuple(t for _, t in pairs[:i])), tactic)
        for i, (goal, tactic) in enumerate(pairs)
    )
    return ProofTrace(name=name, steps=steps)


@pytest.fixture(scope="session")
def traces() -> list[ProofTrace]:
    return [
        make_trace(f"t{i}", [(f"h : p{i}\n⊢ p{i} ∧ q", "constructor"), (f"h : p{i}\n⊢ p{i}", "exact h")])
        for i in range(6)
    ]


@pytest.fixture
def tiny_config(tmp_path) -> TrainConfig:
    return TrainConfig(
        model=ModelSpec(format="sandbox", size="tiny"),
        data=DataSpec(source="unused"),
        loss=LossConfig(kind="ce"),
        optim=OptimConfig(lr=1e-2, warmup_steps=2),
        output_dir=str(tmp_path / "out"),
        batch_size=4,
        max_steps=6,
        seed=3,
    )


def with_loss(config: TrainConfig, **loss) -> TrainConfig:
    return dataclasses.replace(config, loss=LossConfig(**loss))
