"""Small synthetic training sets and tiny configs for the training tests."""

from __future__ import annotations

import copy
import dataclasses

import pytest

from lean_env.types import ProofState, Theorem
from prover.training import DataSpec, LossConfig, ModelSpec, OptimConfig, ProofTrace, StepExample, TrainConfig
from search.proposer import Query


def make_trace(name: str, pairs: list[tuple[str, str]]) -> ProofTrace:
    """A trace whose steps are (goal text, tactic) pairs."""
    theorem = Theorem(name=name, statement=f"theorem {name} : p := by")
    steps = tuple(
        StepExample(Query(theorem=theorem, state=ProofState(goals=(goal,)), history=tuple(t for _, t in pairs[:i])), tactic)
        for i, (goal, tactic) in enumerate(pairs)
    )
    return ProofTrace(name=name, steps=steps)


LEANDOJO_RECORDS = [
    {
        "url": "https://github.com/leanprover-community/mathlib4",
        "commit": "29dcec074de168ac2bf835a77ef68bbe069194c5",
        "file_path": "Mathlib/Logic/Basic.lean",
        "full_name": "and_swap'",
        "start": [10, 1],
        "end": [12, 20],
        "traced_tactics": [
            {"tactic": "intro h", "annotated_tactic": ["intro h", []], "state_before": "p q : Prop\n⊢ p ∧ q → q ∧ p",
             "state_after": "p q : Prop\nh : p ∧ q\n⊢ q ∧ p"},
            {"tactic": "exact ⟨h.2, h.1⟩", "annotated_tactic": ["exact ⟨h.2, h.1⟩", []],
             "state_before": "p q : Prop\nh : p ∧ q\n⊢ q ∧ p", "state_after": "no goals"},
        ],
    },
    {"full_name": "untraced", "traced_tactics": []},
]
"""A LeanDojo Benchmark 4 style file: one traced theorem and one untraced."""


@pytest.fixture
def leandojo_records() -> list[dict]:
    """A fresh copy of ``LEANDOJO_RECORDS`` for a test to write or alter."""
    return copy.deepcopy(LEANDOJO_RECORDS)


@pytest.fixture(autouse=True)
def _single_threaded_torch(one_thread):
    """Every training test runs with torch single-threaded (see ``one_thread``)."""


@pytest.fixture(name="make_trace")
def make_trace_fixture():
    """``make_trace`` for tests that build their own traces."""
    return make_trace


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

