"""Generated theorems: seeded, tautological, named, with reference proofs the sandbox accepts."""

from __future__ import annotations

import re

import pytest

from lean_env.types import NewState, ProofComplete
from propsandbox import (
    SANDBOX_DATA_VERSION,
    Difficulty,
    GeneratedTheorem,
    SandboxEnvironment,
    generate_theorems,
    is_tautology,
    load_split,
    split_names,
)
from propsandbox.generator import signature
from propsandbox.syntax import TRUE, And, Imp, parse_statement

ENV = SandboxEnvironment()
EASY = Difficulty(atoms=2, depth=2, min_proof_length=2)
HARD = Difficulty(atoms=4, depth=3, min_proof_length=6)


def statement_formula(statement: str):
    st = parse_statement(statement)
    premises = TRUE
    for b in st.binders:
        if b.type is not None:
            premises = And(b.type, premises)
    return Imp(premises, st.conclusion)


def test_generation_is_seeded_and_deterministic():
    first = generate_theorems(20, seed=7, difficulty=EASY)
    assert first == generate_theorems(20, seed=7, difficulty=EASY)
    assert first != generate_theorems(20, seed=8, difficulty=EASY)
    assert len(first) == 20 and all(isinstance(g, GeneratedTheorem) for g in first)


@pytest.mark.parametrize("difficulty", [EASY, HARD])
def test_generated_theorems_are_tautologies_with_accepted_proofs(difficulty):
    generated = generate_theorems(30, seed=3, difficulty=difficulty, split="train")
    for i, g in enumerate(generated, 1):
        th = g.theorem
        assert th.name == f"sb_train_{i:04d}" and th.split == "train"
        assert re.fullmatch(rf"theorem {th.name} \([pqrs ]+ : Prop\)( \(h[₀-₉]+ : [^()]*(\(.*\))*[^()]*\))* : .+ := by",
                            th.statement)
        assert is_tautology(statement_formula(th.statement))
        assert len(g.proof) >= difficulty.min_proof_length
        assert all("\n" not in step for step in g.proof)
        assert ENV.verify_sync(th, g.proof_text).ok, (th.statement, g.proof)
    assert len({signature(g.theorem.statement) for g in generated}) == len(generated)


def test_reference_proofs_replay_one_tactic_per_step():
    for g in generate_theorems(15, seed=11, difficulty=HARD):
        state = ENV.start_sync(g.theorem)
        for step in g.proof[:-1]:
            result = ENV.step_sync(state, step)
            assert isinstance(result, NewState), (g.theorem.statement, step, result)
            state = result.state
        assert ENV.step_sync(state, g.proof[-1]) == ProofComplete()


def test_proof_shapes_are_varied():
    first_words = {step.split()[0] for g in generate_theorems(200, seed=5, difficulty=HARD) for step in g.proof}
    assert {"intro", "constructor", "exact", "apply", "left", "right", "exfalso", "by_cases", "obtain",
            "rcases", "assumption"} <= first_words


def test_difficulty_is_validated():
    with pytest.raises(ValueError):
        Difficulty(atoms=0, depth=2, min_proof_length=1)
    with pytest.raises(ValueError):
        Difficulty(atoms=2, depth=0, min_proof_length=1)


def test_splits_are_fixed_sized_disjoint_and_all_verified():
    assert SANDBOX_DATA_VERSION == "1"
    assert set(split_names()) == {"train", "valid", "test"}
    splits = {name: load_split(name) for name in split_names()}
    assert {n: len(s) for n, s in splits.items()} == {"train": 2000, "valid": 100, "test": 100}
    assert load_split("valid") is splits["valid"]  # cached
    signatures = {n: {signature(g.theorem.statement) for g in s} for n, s in splits.items()}
    assert all(len(signatures[n]) == len(splits[n]) for n in splits)
    assert not signatures["train"] & signatures["valid"]
    assert not signatures["train"] & signatures["test"]
    assert not signatures["valid"] & signatures["test"]
    for name, split in splits.items():
        assert [g.theorem.name for g in split] == [f"sb_{name}_{i:04d}" for i in range(1, len(split) + 1)]
        for g in split:
            assert ENV.verify_sync(g.theorem, g.proof_text).ok, g.theorem.name
    with pytest.raises(ValueError):
        load_split("dev")
