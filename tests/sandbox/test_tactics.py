"""Tactic semantics: goals, case tags and inaccessible names exactly as Lean 4 prints them."""

from __future__ import annotations

import pytest

from lean_env.types import NewState, ProofComplete, ProofState, TacticError, TacticRejected, Theorem
from propsandbox import SandboxEnvironment

ENV = SandboxEnvironment()


def start(statement: str) -> ProofState:
    return ENV.start_sync(Theorem("t", statement))


def goals(statement: str, *tactics: str) -> tuple[str, ...]:
    """The goals after running ``tactics`` one step each (each must leave goals)."""
    state = start(statement)
    for tactic in tactics:
        result = ENV.step_sync(state, tactic)
        assert isinstance(result, NewState), (tactic, result)
        state = result.state
    return state.goals


def outcome(statement: str, script: str):
    return ENV.step_sync(start(statement), script)


AND_COMM = "theorem t (p q : Prop) : p ∧ q → q ∧ p := by"
OR_COMM = "theorem t (p q : Prop) : p ∨ q → q ∨ p := by"


def test_root_goal_groups_binders_like_lean():
    assert start("theorem t (p q r : Prop) (h₀ : p) (h₁ : p) (h₂ : q ∧ r) : p := by").goals == (
        "p q r : Prop\nh₀ h₁ : p\nh₂ : q ∧ r\n⊢ p",)


def test_intro_named_anonymous_and_several():
    assert goals(AND_COMM, "intro h") == ("p q : Prop\nh : p ∧ q\n⊢ q ∧ p",)
    assert goals(AND_COMM, "intro") == ("p q : Prop\na✝ : p ∧ q\n⊢ q ∧ p",)
    stmt = "theorem t (p q : Prop) : p → q → ¬p → False := by"
    assert goals(stmt, "intro hp hq") == ("p q : Prop\nhp : p\nhq : q\n⊢ ¬p → False",)
    assert goals(stmt, "intro _ _ hn") == ("p q : Prop\na✝¹ : p\na✝ : q\nhn : ¬p\n⊢ False",)
    assert goals("theorem t (p : Prop) : ¬p := by", "intro h") == ("p : Prop\nh : p\n⊢ False",)
    assert goals(stmt, "intro", "intro") == ("p q : Prop\na✝¹ : p\na✝ : q\n⊢ ¬p → False",)


def test_intros_stops_at_negation_and_shadowing_makes_names_inaccessible():
    stmt = "theorem t (p q : Prop) : p → q → ¬p := by"
    assert goals(stmt, "intros") == ("p q : Prop\na✝¹ : p\na✝ : q\n⊢ ¬p",)
    assert goals(stmt, "intro h h") == ("p q : Prop\nh✝ : p\nh : q\n⊢ ¬p",)
    assert goals("theorem t (p : Prop) : p → p := by", "intro p") == ("p✝ : Prop\np : p✝\n⊢ p✝",)
    assert isinstance(outcome(stmt, "intro h1 h2 h3 h4"), TacticError)


def test_intro_on_non_arrow_fails_like_lean():
    result = outcome(AND_COMM, "intro h; intro h'")
    assert result == TacticError("tactic 'introN' failed, insufficient number of binders")


def test_constructor_tags_and_and_iff():
    assert goals(AND_COMM, "intro h", "constructor") == (
        "case left\np q : Prop\nh : p ∧ q\n⊢ q", "case right\np q : Prop\nh : p ∧ q\n⊢ p")
    assert goals("theorem t (p q : Prop) : p ↔ q := by", "constructor") == (
        "case mp\np q : Prop\n⊢ p → q", "case mpr\np q : Prop\n⊢ q → p")
    assert outcome("theorem t : True := by", "constructor") == ProofComplete()
    assert outcome("theorem t : False := by", "constructor") == TacticError(
        "tactic 'constructor' failed, no applicable constructor found")
    assert outcome("theorem t (p : Prop) : ¬p := by", "constructor") == TacticError(
        "tactic 'constructor' failed, target is not an inductive datatype")


def test_left_right_tags_nest_under_the_parent_tag():
    assert goals(OR_COMM, "intro h", "right") == ("case h\np q : Prop\nh : p ∨ q\n⊢ p",)
    assert goals(OR_COMM, "intro h", "cases h", "right") == (
        "case inl.h\np q : Prop\nh✝ : p\n⊢ p", "case inr\np q : Prop\nh✝ : q\n⊢ q ∨ p")
    assert isinstance(outcome(AND_COMM, "intro h; left"), TacticError)


def test_cases_gives_inaccessible_fields_and_constructor_tags():
    assert goals(AND_COMM, "intro h", "cases h") == ("case intro\np q : Prop\nleft✝ : p\nright✝ : q\n⊢ q ∧ p",)
    assert goals("theorem t (p q : Prop) (h : p ↔ q) (r : Prop) : r := by", "cases h") == (
        "case intro\np q r : Prop\nmp✝ : p → q\nmpr✝ : q → p\n⊢ r",)  # h gone: p q r regroup
    assert outcome("theorem t (p : Prop) (h : False) : p := by", "cases h") == ProofComplete()
    assert isinstance(outcome("theorem t (p : Prop) (h : ¬p) : p := by", "cases h"), TacticError)


def test_rcases_and_obtain_patterns():
    stmt = "theorem t (p q r : Prop) (h : p ∧ q ∨ r) : r ∨ q := by"
    assert goals(stmt, "rcases h with ⟨a, b⟩ | c") == (
        "case inl.intro\np q r : Prop\na : p\nb : q\n⊢ r ∨ q", "case inr\np q r : Prop\nc : r\n⊢ r ∨ q")
    nested = "theorem t (p q r : Prop) (h : (p ∧ q) ∧ r) : r := by"
    # Lean destructures left to right: the inner pair's fields come after `c`.
    assert goals(nested, "obtain ⟨⟨a, b⟩, c⟩ := h") == ("case intro.intro\np q r : Prop\nc : r\na : p\nb : q\n⊢ r",)
    assert goals(nested, "obtain ⟨a, b⟩ := h.1") == ("case intro\np q r : Prop\nh : (p ∧ q) ∧ r\na : p\nb : q\n⊢ r",)
    assert goals(nested, "obtain ⟨_, c⟩ := h") == ("case intro\np q r : Prop\nleft✝ : p ∧ q\nc : r\n⊢ r",)
    three = "theorem t (p q r : Prop) (h : p ∨ q ∨ r) : True := by"
    assert [g.split("\n")[0] for g in goals(three, "rcases h with a | b | c")] == [
        "case inl", "case inr.inl", "case inr.inr"]
    assert outcome("theorem t (p : Prop) (h : False) : p := by", "obtain ⟨⟩ := h") == ProofComplete()


def test_obtain_from_a_term_keeps_the_hypothesis():
    stmt = "theorem t (p q : Prop) (f : p → q ∧ p) (hp : p) : q := by"
    assert goals(stmt, "obtain ⟨a, b⟩ := f hp") == (
        "case intro\np q : Prop\nf : p → q ∧ p\nhp : p\na : q\nb : p\n⊢ q",)
    assert goals(stmt, "have h := f hp") == ("p q : Prop\nf : p → q ∧ p\nhp : p\nh : q ∧ p\n⊢ q",)
    assert goals(stmt, "have : q ∧ p := f hp") == ("p q : Prop\nf : p → q ∧ p\nhp : p\nthis : q ∧ p\n⊢ q",)


def test_by_cases_is_classical_and_tags_pos_neg():
    assert goals("theorem t (p : Prop) : p ∨ ¬p := by", "by_cases hp : p") == (
        "case pos\np : Prop\nhp : p\n⊢ p ∨ ¬p", "case neg\np : Prop\nhp : ¬p\n⊢ p ∨ ¬p")
    assert goals("theorem t (p : Prop) : p ∨ ¬p := by", "by_cases p") == (
        "case pos\np : Prop\nh✝ : p\n⊢ p ∨ ¬p", "case neg\np : Prop\nh✝ : ¬p\n⊢ p ∨ ¬p")
    assert outcome("theorem t (p : Prop) : p ∨ ¬p := by",
                   "by_cases hp : p\n· left; exact hp\n· right; exact hp") == ProofComplete()


def test_by_contra_exfalso_contradiction_assumption():
    stmt = "theorem t (p q : Prop) (hp : p) (hnp : ¬p) : q := by"
    assert goals(stmt, "exfalso") == ("p q : Prop\nhp : p\nhnp : ¬p\n⊢ False",)
    assert outcome(stmt, "contradiction") == ProofComplete()
    assert outcome(stmt, "exact absurd hp hnp") == ProofComplete()
    assert outcome(stmt, "exfalso; exact hnp hp") == ProofComplete()
    assert isinstance(outcome("theorem t (p q : Prop) (hp : p) : q := by", "contradiction"), TacticError)
    assert isinstance(outcome("theorem t (p q : Prop) (hp : p) : q := by", "assumption"), TacticError)
    assert outcome("theorem t (p q : Prop) (hp : p) : p := by", "assumption") == ProofComplete()
    assert goals("theorem t (p : Prop) : ¬¬p → p := by", "intro h", "by_contra hn") == (
        "p : Prop\nh : ¬¬p\nhn : ¬p\n⊢ False",)
    assert goals("theorem t (p : Prop) : ¬p := by", "by_contra h") == ("p : Prop\nh : p\n⊢ False",)


def test_apply_creates_premises_in_order_with_lean_tags():
    stmt = "theorem t (p q r : Prop) (h : p → q → r) (hp : p) (hq : q) : r := by"
    assert goals(stmt, "apply h") == (
        "case a\np q r : Prop\nh : p → q → r\nhp : p\nhq : q\n⊢ p",
        "case a\np q r : Prop\nh : p → q → r\nhp : p\nhq : q\n⊢ q")
    assert goals(stmt, "apply h hp") == ("p q r : Prop\nh : p → q → r\nhp : p\nhq : q\n⊢ q",)
    partial = "theorem t (p q r : Prop) (h : p → q → r) : q → r := by"
    assert goals(partial, "apply h") == ("p q r : Prop\nh : p → q → r\n⊢ p",)
    neg = "theorem t (p : Prop) (h : ¬p) : False := by"
    assert goals(neg, "apply h") == ("p : Prop\nh : ¬p\n⊢ p",)
    assert goals("theorem t (p q : Prop) (hp : p) : p ∨ q := by", "apply Or.inl") == (
        "case h\np q : Prop\nhp : p\n⊢ p",)
    assert goals("theorem t (p q : Prop) : p ∧ q := by", "apply And.intro") == (
        "case left\np q : Prop\n⊢ p", "case right\np q : Prop\n⊢ q")
    assert goals("theorem t (p : Prop) : p := by", "apply False.elim") == ("case h\np : Prop\n⊢ False",)
    assert isinstance(outcome(stmt, "apply hp"), TacticError)
    assert outcome(stmt, "apply absurd").reason == "outside-sandbox"


def test_exact_term_language():
    stmt = "theorem t (p q r : Prop) (h : p ∧ q) (f : q → r) (g : p ↔ r) : r ∧ p := by"
    for term in ("⟨f h.2, h.1⟩", "⟨f h.right, g.mpr (f h.2)⟩", "And.intro (f h.2) h.left",
                 "⟨g.1 h.1, (g.2 (f h.2))⟩", "⟨g.mp h.1, id h.1⟩"):
        assert outcome(stmt, f"exact {term}") == ProofComplete(), term
    assert outcome("theorem t (p q : Prop) : p → q → p := by", "exact fun hp _ => hp") == ProofComplete()
    assert outcome("theorem t (p q : Prop) : p → p ∨ q := by", "exact Or.inl") == ProofComplete()
    assert outcome("theorem t (p q : Prop) : p ∨ q → q ∨ p := by",
                   "exact fun h => Or.elim h Or.inr Or.inl") == ProofComplete()
    assert outcome("theorem t (p : Prop) (h : False) : p := by", "exact False.elim h") == ProofComplete()
    assert outcome("theorem t : True := by", "exact trivial") == ProofComplete()
    assert outcome("theorem t (p : Prop) : p → ¬¬p := by", "exact fun hp hn ↦ hn hp") == ProofComplete()
    # ¬p unfolds to p → False, as Lean's defeq check does
    assert outcome("theorem t (p : Prop) (h : p → False) : ¬p := by", "exact h") == ProofComplete()


def test_lean_like_errors():
    stmt = "theorem t (p q : Prop) (hp : p) : q := by"
    assert outcome(stmt, "exact hp") == TacticError(
        "type mismatch\n  hp\nhas type\n  p : Prop\nbut is expected to have type\n  q : Prop")
    assert outcome(stmt, "exact x") == TacticError("unknown identifier 'x'")
    assert outcome(stmt, "exact ⟨hp, hp⟩") == TacticError(
        "invalid constructor ⟨...⟩, expected type must be an inductive type with only one constructor \n  q")
    assert outcome(stmt, "exact hp.1").message.startswith("invalid projection")
    assert outcome("theorem t (p : Prop) (hp : p) : p := by", "exact hp; exact hp") == TacticError(
        "no goals to be proved")


def test_tactic_sequences_bullets_and_combinators():
    proof = "intro h\nconstructor\n· exact h.2\n· exact h.1"
    assert outcome(AND_COMM, proof) == ProofComplete()
    assert outcome(AND_COMM, "intro h; constructor <;> simp").reason == "outside-sandbox"
    assert outcome(AND_COMM, "intro h\nobtain ⟨a, b⟩ := h\nconstructor <;> assumption") == ProofComplete()
    assert outcome(AND_COMM, "intro h\nconstructor\ncase right => exact h.1\nexact h.2") == ProofComplete()
    assert outcome(AND_COMM, "intro h\nconstructor\nnext => exact h.2\nexact h.1") == ProofComplete()
    assert outcome(AND_COMM, "intro h\nconstructor\nall_goals first | exact h.1 | exact h.2") == ProofComplete()
    assert outcome(AND_COMM, "intro h\nconstructor\nany_goals exact h.1\nexact h.2") == ProofComplete()
    assert outcome(AND_COMM, "intro h\ntry exact h\nrepeat constructor\n(exact h.2); exact h.1") == ProofComplete()
    unfinished = outcome(AND_COMM, "intro h\nconstructor\n· exact h.1")
    assert isinstance(unfinished, TacticError) and unfinished.message.startswith("type mismatch")
    left_open = outcome(AND_COMM, "intro h\nconstructor\n· skip")
    assert isinstance(left_open, TacticError) and left_open.message.startswith("unsolved goals\ncase left")
    nested = "intro h\nconstructor\n· obtain ⟨a, b⟩ := h\n  exact b\n· exact h.1"
    assert outcome(AND_COMM, nested) == ProofComplete()


def test_escape_hatches_are_refused_everywhere():
    for script in ("sorry", "admit", "exact sorry", "intro h; try sorry", "native_decide",
                   "intro h\nconstructor <;> sorry"):
        result = outcome(AND_COMM, script)
        assert isinstance(result, TacticRejected) and result.reason == "forbidden", script
        assert not ENV.verify_sync(Theorem("t", AND_COMM), script).ok


@pytest.mark.parametrize("script", ["simp", "tauto", "exact?", "intro ⟨a, b⟩", "rintro ⟨a, b⟩", "decide",
                                    "intro h; exact h.symm", "intro h; exact and_comm.mp h",
                                    "intro h; cases h with | intro a b => exact ⟨b, a⟩"])
def test_unsupported_syntax_is_rejected_as_outside_the_fragment(script):
    result = outcome(AND_COMM, script)
    assert isinstance(result, TacticRejected) and result.reason == "outside-sandbox"
    assert "outside the sandbox" in result.message


def test_states_are_persistent_and_hashable():
    root = start(AND_COMM)
    first = ENV.step_sync(root, "intro h")
    again = ENV.step_sync(root, "intro h")
    assert first == again and hash(first.state.handle) == hash(again.state.handle)
    assert ENV.step_sync(root, "intro x").state.goals != first.state.goals
    # a state rebuilt from its text alone (no handle) behaves the same
    bare = ProofState(goals=first.state.goals)
    assert ENV.step_sync(bare, "exact ⟨h.2, h.1⟩") == ProofComplete()


def test_hygienic_apply_tags_are_reachable_by_next_but_not_by_name():
    stmt = "theorem t (p q r : Prop) (h : p → q → r) (hp : p) (hq : q) : r := by"
    assert outcome(stmt, "apply h\nnext => exact hp\nnext => exact hq") == ProofComplete()
    assert outcome(stmt, "apply h\ncase a => exact hp\nexact hq").reason == "outside-sandbox"
