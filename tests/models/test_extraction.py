"""Whole proofs out of the completion shapes whole-proof provers emit."""

from __future__ import annotations

import pytest

from lean_env.types import Theorem
from prover.models import extract_proof
from prover.models.extraction import code_blocks

THEOREM = Theorem(name="amc", statement="theorem amc (x : ℝ) (h : x = 2) : x + x = 4 := by", header="import Mathlib\n")
RESTATED = "theorem amc (x : ℝ) (h : x = 2) : x + x = 4 := by"

SHAPES = {
    # DeepSeek-Prover-V1.5: a continuation of the prompt's code block, closed by a fence
    "continuation, fence, prose": ("  subst h\n  norm_num\n```\n\nThe proof is complete.", "subst h\nnorm_num"),
    "continuation, prose, no fence": ("  subst h\n  norm_num\n\nThis completes the proof.\n", "subst h\nnorm_num"),
    "continuation keeps nesting": (
        "  have h2 : x = 2 := by\n    exact h\n  subst h2\n  norm_num\n```", "have h2 : x = 2 := by\n  exact h\nsubst h2\nnorm_num",
    ),
    "continuation restating the header": (
        f"import Mathlib\n\n{RESTATED}\n  linarith\n```", "linarith",
    ),
    # DeepSeek-Prover-V2 / Goedel-Prover-V2: a plan, the whole file in a lean4 block, prose
    "plan, block, prose": (
        f"### Proof plan\n1. substitute.\n\n```lean4\nimport Mathlib\nimport Aesop\n\nset_option maxHeartbeats 400000\n\n"
        f"open Real\n\n{RESTATED}\n  have h2 : x = 2 := h\n  subst h2\n  norm_num\n```\n\nThis proof works because...",
        "have h2 : x = 2 := h\nsubst h2\nnorm_num",
    ),
    # Kimina: snippets while thinking, then the final block; the last block declaring the theorem wins
    "several blocks, last wins": (
        f"<think>try\n```lean4\n{RESTATED}\n  sorry\n```\n</think>\nFinal:\n```lean4\n{RESTATED}\n  rw [h]\n  norm_num\n```",
        "rw [h]\nnorm_num",
    ),
    "helper lemma before the theorem": (
        f"```lean4\nlemma two_add (y : ℝ) : y + y = 2 * y := by ring\n\n{RESTATED}\n  rw [two_add, h]\n  norm_num\n```",
        "rw [two_add, h]\nnorm_num",
    ),
    "a block about something else comes later": (
        f"```lean4\n{RESTATED}\n  linarith\n```\nFor comparison:\n```lean4\nexample : 1 + 1 = 2 := rfl\n```", "linarith",
    ),
    "unclosed block, split statement": (
        "```lean4\ntheorem amc (x : ℝ) (h : x = 2) :\n    x + x = 4 := by\n  nlinarith [sq_nonneg (x - 2),\n    h]\n",
        "nlinarith [sq_nonneg (x - 2),\n  h]",
    ),
    "one-line proof after by": (f"```lean\n{RESTATED} subst h; norm_num\n```", "subst h; norm_num"),
    "term-mode proof": (
        "```lean4\ntheorem amc (x : ℝ) (h : x = 2) : x + x = 4 :=\n  by_contra fun hc =>\n    absurd h hc\n```",
        "exact\n  by_contra fun hc =>\n    absurd h hc",
    ),
    "renamed theorem": ("```lean4\ntheorem my_amc (x : ℝ) (h : x = 2) : x + x = 4 := by\n  linarith\n```", "linarith"),
    "untagged fence": (f"```\n{RESTATED}\n  linarith\n```", "linarith"),
    "nothing but prose": ("I cannot prove this.", "I cannot prove this."),
    "empty": ("", ""),
}


@pytest.mark.parametrize("completion,proof", SHAPES.values(), ids=SHAPES.keys())
def test_extracts_the_tactic_proof(completion, proof):
    assert extract_proof(completion, THEOREM) == proof


def test_extracted_proof_rebuilds_the_verified_source():
    completion = SHAPES["plan, block, prose"][0]
    assert THEOREM.with_proof(extract_proof(completion, THEOREM)) == (
        f"import Mathlib\n{RESTATED}\n  have h2 : x = 2 := h\n  subst h2\n  norm_num\n"
    )


def test_code_blocks_take_lean_and_untagged_fences_only():
    text = "```python\nprint(1)\n```\n```lean4\nA\n```\n```\nB\n```\n```lean\nC"
    assert code_blocks(text) == ["A\n", "B\n", "C"]


def test_example_statements_have_no_name_to_match():
    example = Theorem(name="anonymous", statement="example (p : Prop) (hp : p) : p := by")
    assert extract_proof("```lean4\nexample (p : Prop) (hp : p) : p := by\n  exact hp\n```", example) == "exact hp"
