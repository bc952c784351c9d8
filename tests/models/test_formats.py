"""Prompt formats render the layouts released provers were trained on."""

from __future__ import annotations

import pytest

from lean_env.types import ProofState, Theorem
from prover.models import PROMPT_FORMATS, UnknownFormat, get_format
from search.proposer import Query

QUERY = Query(
    theorem=Theorem(name="foo", statement="theorem foo (p : Prop) (hp : p) : p := by", header="import Mathlib\n"),
    state=ProofState(goals=("p : Prop\nhp : p\n⊢ p",)),
    history=("intro x", "simp"),
)


def test_registered_names_and_kinds():
    assert set(PROMPT_FORMATS) == {"reprover", "bfs-prover", "internlm-stepprover", "deepseek-whole-proof", "sandbox"}
    assert get_format("reprover").architecture == "seq2seq"
    assert get_format("deepseek-whole-proof").kind == "proof"
    assert all(get_format(n).kind == "tactic" for n in ("reprover", "bfs-prover", "internlm-stepprover", "sandbox"))


def test_step_prover_layouts():
    assert get_format("reprover").render(QUERY) == "p : Prop\nhp : p\n⊢ p"
    assert get_format("bfs-prover").render(QUERY) == "p : Prop\nhp : p\n⊢ p:::"
    assert get_format("internlm-stepprover").render(QUERY) == (
        "---\nNAME: foo\n\n---\nPROOF_BEFORE: intro x\nsimp\n\n---\nSTATE_BEFORE: p : Prop\nhp : p\n⊢ p\n\n---\nTACTIC: "
    )


def test_whole_proof_layout_and_cleanup():
    fmt = get_format("deepseek-whole-proof")
    assert fmt.render(QUERY) == (
        "Complete the following Lean 4 code:\n\n```lean4\nimport Mathlib\ntheorem foo (p : Prop) (hp : p) : p := by\n"
    )
    assert fmt.clean("  intro h\n  exact hp\n```\nmore text") == "intro h\nexact hp"


def test_unknown_format_is_a_clear_error():
    with pytest.raises(UnknownFormat, match="choose from"):
        get_format("gpt-f")
