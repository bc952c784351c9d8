"""Tiny randomly initialised models (no download) for the model tests."""

from __future__ import annotations

import pytest
import torch

from lean_env.types import ProofState, Theorem
from prover.models import SCRATCH_SIZES, build_scratch_model, new_tokenizer
from search.proposer import Query

BYTE_OFFSET = 3  # ByT5: ids 3..258 are the bytes 0..255
# Generated text must re-encode to the very tokens generated: ASCII only, no whitespace
# (cleaning strips it), no pad/unk (they decode to nothing).
UNROUNDTRIPPABLE = [0, 2, *(BYTE_OFFSET + b for b in range(128) if chr(b).isspace()), *range(BYTE_OFFSET + 128, 384)]


@pytest.fixture(scope="session")
def tokenizer():
    return new_tokenizer()


@pytest.fixture(scope="session", params=["causal", "seq2seq"])
def arch_model(request, tokenizer):
    """(architecture, model) whose generated text round-trips to the same tokens."""
    torch.manual_seed(0)
    model = build_scratch_model(SCRATCH_SIZES["tiny"], request.param, tokenizer)
    model.generation_config.suppress_tokens = UNROUNDTRIPPABLE
    return request.param, model.eval()


@pytest.fixture(scope="session")
def queries() -> list[Query]:
    goals = ["p q : Prop\nhp : p\nhq : q\n⊢ p ∧ q", "⊢ True", "h : a\n⊢ a ∨ b ∨ c ∨ ¬d", "x : ℕ\n⊢ ∀ y, x ≤ y → y ≥ x"]
    theorem = Theorem(name="t", statement="theorem t (p q : Prop) : p ∧ q := by")
    return [Query(theorem=theorem, state=ProofState(goals=(g,)), seed=7 * i) for i, g in enumerate(goals)]


@pytest.fixture(autouse=True)
def _single_threaded_torch(one_thread):
    """Every model test runs with torch single-threaded (see ``one_thread``)."""
