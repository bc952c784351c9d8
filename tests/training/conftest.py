"""Small synthetic training sets, a tiny config and a trainer builder for the training tests."""

from __future__ import annotations

import copy

import pytest

from lean_env.types import ProofState, Theorem
from prover.training import DCOConfig, DCOTrainer, ProofTrace, StepExample, build_model, tactic_trainer
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


@pytest.fixture(scope="session")
def short_and_long() -> list[ProofTrace]:
    """Ten one-step traces with a 1-character target (an untrained tiny model gives it
    p ≈ e^-12) and ten with a long one (p ≈ e^-190): at N' = e^60 the short ones have F ≈ 0 and are dropped, the long ones F ≈ 1 and kept."""
    data = [make_trace(f"s{i}", [(f"⊢ s{i}", "x")]) for i in range(10)]
    return data + [make_trace(f"l{i}", [(f"⊢ l{i}", "exact (And.intro hp hq) -- a long tactic")]) for i in range(10)]


@pytest.fixture
def tiny_config(tmp_path) -> DCOConfig:
    """A 20k-parameter model, 6 steps of 4 units, logging every step, no checkpoints."""
    return DCOConfig(
        model_size="tiny", prompt_format="sandbox", train_data="unused", output_dir=str(tmp_path / "out"),
        per_device_train_batch_size=4, max_steps=6, seed=3, learning_rate=1e-2, warmup_steps=2,
        lr_scheduler_type="constant_with_warmup", logging_steps=1, save_strategy="no", device_type="cpu",
        report_to="none", disable_tqdm=True,
    )


@pytest.fixture
def make_trainer():
    """``make_trainer(config, traces, eval_traces=None, callbacks=())``: a ``DCOTrainer`` with a
    freshly built model, for tests that look inside the trainer."""

    def make(config: DCOConfig, data, eval_traces=None, callbacks=()) -> DCOTrainer:
        model, tokenizer = build_model(config)
        return tactic_trainer(config, model=model, tokenizer=tokenizer, traces=data, eval_traces=eval_traces,
                              callbacks=list(callbacks))

    return make
