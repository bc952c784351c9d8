"""Prompt formats render, character for character, the layouts released provers were
trained on (each format's docstring cites its source), and carry their authors' decoding."""

from __future__ import annotations

import dataclasses

import pytest

from lean_env.types import ProofState, Theorem
from prover.models import FORMAT_ALIASES, PROMPT_FORMATS, GenerationDefaults, UnknownFormat, get_format
from search.proposer import Query

HEADER = "import Mathlib\nimport Aesop\n\nset_option maxHeartbeats 0\n\nopen BigOperators Real Nat Topology Rat\n\n"
STATEMENT = "theorem mathd_algebra_10 : abs ((120 : ℝ) / 100 * 30 - 130 / 100 * 20) = 10 := by"
INFORMAL = "What is the positive difference between $120\\%$ of 30 and $130\\%$ of 20? Show that it is 10."
QUERY = Query(
    theorem=Theorem(name="foo", statement="theorem foo (p : Prop) (hp : p) : p := by", header="import Mathlib\n"),
    state=ProofState(goals=("p : Prop\nhp : p\n⊢ p",)),
    history=("intro x", "simp"),
)
MINIF2F = Query(
    theorem=Theorem(name="mathd_algebra_10", statement=STATEMENT, header=HEADER, informal=INFORMAL),
    state=ProofState(goals=("⊢ |120 / 100 * 30 - 130 / 100 * 20| = 10",)),
)
PLAN = (
    "Before producing the Lean 4 code to formally prove the given theorem, provide a detailed proof plan outlining "
    "the main proof steps and strategies.\nThe plan should highlight key ideas, intermediate lemmas, and proof "
    "structures that will guide the construction of the final formal proof."
)


def test_registered_names_kinds_and_architectures():
    assert set(PROMPT_FORMATS) == {
        "reprover", "bfs-prover", "internlm-stepprover", "deepseek-prover-v1.5", "deepseek-prover-v2",
        "goedel-prover-v2", "kimina-prover", "sandbox",
    }
    assert get_format("reprover").architecture == "seq2seq"
    assert {n for n, f in PROMPT_FORMATS.items() if f.kind == "proof"} == {
        "deepseek-prover-v1.5", "deepseek-prover-v2", "goedel-prover-v2", "kimina-prover",
    }
    assert {n for n, f in PROMPT_FORMATS.items() if f.chat} == {"deepseek-prover-v2", "goedel-prover-v2", "kimina-prover"}
    assert get_format("deepseek-whole-proof") is get_format("deepseek-prover-v1.5")
    assert set(FORMAT_ALIASES.values()) <= set(PROMPT_FORMATS)


def test_step_prover_layouts():
    assert get_format("reprover").render(QUERY) == "p : Prop\nhp : p\n⊢ p"
    assert get_format("bfs-prover").render(QUERY) == "p : Prop\nhp : p\n⊢ p:::"
    assert get_format("sandbox").render(QUERY) == "p : Prop\nhp : p\n⊢ p\n>>>"


def test_internlm_stepprover_is_wrapped_in_its_chat_turn_and_stops_at_im_end():
    """InternLM's script (chat_template_to_prompt over _prompt_function) builds exactly this."""
    fmt = get_format("internlm-stepprover")
    assert fmt.render(QUERY) == (
        "<|im_start|>user\n---\nNAME: foo\n\n---\nPROOF_BEFORE: intro x\nsimp\n\n---\nSTATE_BEFORE: p : Prop\nhp : p\n⊢ p"
        "\n\n---\nTACTIC: <|im_end|>\n<|im_start|>assistant\n"
    )
    assert fmt.stop == ("<|im_end|>",) and not fmt.chat
    assert fmt.generation == GenerationDefaults(max_new_tokens=256, beam_search=True)


def test_deepseek_v15_prompt_has_header_and_informal_docstring():
    """prover/utils.py:non_cot_prompt with the record's header and informal_prefix."""
    fmt = get_format("deepseek-prover-v1.5")
    assert fmt.render(MINIF2F) == (
        f"Complete the following Lean 4 code:\n\n```lean4\n{HEADER}/-- {INFORMAL}-/\n{STATEMENT}\n"
    )
    assert fmt.render(QUERY) == (
        "Complete the following Lean 4 code:\n\n```lean4\nimport Mathlib\ntheorem foo (p : Prop) (hp : p) : p := by\n"
    )
    assert fmt.generation == GenerationDefaults(max_new_tokens=2048, top_p=0.95)


def test_deepseek_v2_user_turn_is_the_readme_prompt():
    """The README's prompt.format(formal_statement) with its mathd_algebra_10 example."""
    fmt = get_format("deepseek-prover-v2")
    formal = f"{HEADER}/-- {INFORMAL}-/\n{STATEMENT}\n  sorry"
    assert fmt.conversation(MINIF2F) == (("user", f"Complete the following Lean 4 code:\n\n```lean4\n{formal}\n```\n\n{PLAN}"),)
    assert fmt.generation.max_new_tokens == 8192 and fmt.revise is None


def test_goedel_v2_user_turn_and_self_correction():
    """src/utils.py: statement split at ':= by' closed by ':= by sorry', fence right after."""
    fmt = get_format("goedel-prover-v2")
    formal = f"{HEADER}/-- {INFORMAL}-/\n{STATEMENT} sorry"
    first = f"Complete the following Lean 4 code:\n\n```lean4\n{formal}```\n\n{PLAN}"
    assert fmt.conversation(MINIF2F) == (("user", first),)
    revision = fmt.revise(MINIF2F, [("plan 0 ```lean4 ...```", "Error 1: ..."), ("plan 1", "Error 2: ...")])
    assert [role for role, _ in revision] == ["user", "assistant", "user", "assistant", "user"]
    assert revision[0] == ("user", first) and revision[1] == ("assistant", "plan 0 ```lean4 ...```")
    assert revision[2][1] == (
        "The proof (Round 0) is not correct. Following is the compilation error message, where we use <error></error> "
        "to signal the position of the error.\n\nError 1: ...\n\nBefore producing the Lean 4 code to formally prove "
        "the given theorem, provide a detailed analysis of the error message."
    )
    assert revision[4][1].startswith("The proof (Round 1) is not correct.")
    assert fmt.generation == GenerationDefaults(max_new_tokens=32768, top_p=0.95)


def test_kimina_turns_and_error_fixing():
    """kimina_prover_demo/error_fix.py: system turn, the request, then feedback as a user turn."""
    fmt = get_format("kimina-prover")
    system = "You are an expert programmer and mathematician who helps formalizing mathematical problems in Lean 4."
    user = (
        "Think about and solve the following problems step by step in Lean 4.\n\n"
        "import Mathlib\ntheorem foo (p : Prop) (hp : p) : p := by sorry"
    )
    assert fmt.conversation(QUERY) == (("system", system), ("user", user))
    assert fmt.revise(QUERY, [("attempt", "# Error 1:\n...")]) == (
        ("system", system), ("user", user), ("assistant", "attempt"), ("user", "# Error 1:\n..."),
    )
    assert fmt.generation == GenerationDefaults(max_new_tokens=16000, temperature=0.8)


def test_reprover_decodes_with_beam_search_like_its_card():
    assert get_format("reprover").generation == GenerationDefaults(max_new_tokens=1024, beam_search=True)


def test_tactic_candidates_are_trimmed_and_proofs_extracted():
    assert get_format("bfs-prover").candidate("  simp [h]  \n", QUERY) == "simp [h]"
    fmt = get_format("deepseek-prover-v1.5")
    assert fmt.candidate("  intro h\n  exact hp\n", QUERY) == "intro h\nexact hp"


def test_unknown_format_is_a_clear_error():
    with pytest.raises(UnknownFormat, match="choose from"):
        get_format("gpt-f")


def test_revision_rounds_mark_the_error_lines_of_the_failed_declaration():
    from prover.models import revision_rounds
    from search.proposer import Attempt

    query = dataclasses.replace(QUERY, revising=(Attempt("intro x\nexact hp", ("error 3:2: unknown tactic",)),))
    [(completion, feedback)] = revision_rounds(query)
    assert completion == "```lean4\nimport Mathlib\ntheorem foo (p : Prop) (hp : p) : p := by\n  intro x\n  exact hp\n```"
    assert feedback == (
        "```lean4\nimport Mathlib\ntheorem foo (p : Prop) (hp : p) : p := by\n  intro x\n<error>  exact hp</error>\n```"
        "\n\nerror 3:2: unknown tactic"
    )
    conversation = get_format("goedel-prover-v2").revise(query, [(completion, feedback)])
    assert [role for role, _ in conversation] == ["user", "assistant", "user"]
    assert feedback in conversation[2][1] and "Round 0" in conversation[2][1]
