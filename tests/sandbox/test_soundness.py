"""Soundness: whatever random tactics do, the sandbox never closes a goal that is not valid."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lean_env.types import NewState, ProofComplete, Theorem
from propsandbox import SandboxEnvironment, is_tautology
from propsandbox.kernel import Goal
from propsandbox.syntax import TRUE, And, Formula, Imp, pp
from tests.sandbox.strategies import ATOMS, formulas

ENV = SandboxEnvironment()
FRESH = ("a", "b", "h", "x", "p")


def _valid(goal: Goal) -> bool:
    """The goal's sequent (hypotheses ⇒ target) is a classical tautology."""
    premises: Formula = TRUE
    for h in goal.hyps:
        if h.type is not None:
            premises = And(h.type, premises)
    return is_tautology(Imp(premises, goal.target))


@st.composite
def terms(draw, names: list[str]) -> str:
    n = draw(st.sampled_from(names)) if names else "trivial"
    m = draw(st.sampled_from(names)) if names else "trivial"
    return draw(st.sampled_from([
        n, f"{n}.1", f"{n}.2", f"{n}.mp", f"{n}.mpr", f"{n} {m}", f"⟨{n}, {m}⟩", f"Or.inl {n}", f"Or.inr {n}",
        f"absurd {n} {m}", f"False.elim {n}", f"fun _ => {n}", f"fun x => x", "trivial", f"id {n}",
        f"Or.elim {n} {m} {m}", f"{n} ({m}.1)", f"And.intro {n} {m}", f"Iff.intro {n} {m}", f"⟨{n}⟩",
    ]))


@st.composite
def tactics(draw, goal: Goal) -> str:
    names = [h.name for h in goal.hyps if h.accessible and h.type is not None]
    term = draw(terms(names))
    n = draw(st.sampled_from(names)) if names else "h"
    a, b = draw(st.sampled_from(FRESH)), draw(st.sampled_from(FRESH))
    atom = draw(st.sampled_from(ATOMS))
    return draw(st.sampled_from([
        f"intro {a}", "intro", "intros", f"intro {a} {b}", "constructor", "left", "right", "exfalso",
        "assumption", "contradiction", "trivial", "rfl", f"exact {term}", f"apply {term}", f"cases {n}",
        f"rcases {n} with {a} | {b}", f"obtain ⟨{a}, {b}⟩ := {n}", f"rcases {n} with ⟨{a}, {b} | {a}⟩",
        f"by_cases {a} : {atom}", f"have {a} := {term}", f"by_contra {a}", f"· exact {term}",
        "constructor <;> assumption", f"try exact {term}", f"first | exact {term} | assumption",
        "repeat constructor", "all_goals assumption", f"any_goals exact {term}", "case left => assumption",
        f"next => exact {term}", f"obtain {a} := {term}", f"exact ⟨{term}, {term}⟩", "intro h; contradiction",
    ]))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_every_step_and_every_accepted_proof_is_sound(data):
    hyps = data.draw(st.lists(formulas(max_leaves=5), max_size=2))
    target = data.draw(formulas(max_leaves=7))
    binders = "".join(f" (h{i} : {pp(h)})" for i, h in enumerate(hyps))
    theorem = Theorem("t", f"theorem t (p q r : Prop){binders} : {pp(target)} := by")
    state = ENV.start_sync(theorem)
    script: list[str] = []
    for _ in range(data.draw(st.integers(1, 8))):
        goals: tuple[Goal, ...] = state.handle
        tactic = data.draw(tactics(goals[0]))
        result = ENV.step_sync(state, tactic)
        if isinstance(result, ProofComplete):
            # closing every goal is only possible when every goal was valid
            assert all(_valid(g) for g in goals), (theorem.statement, script, tactic)
            script.append(tactic)
            break
        if isinstance(result, NewState):
            # local soundness: valid new goals imply the old ones were valid
            if all(_valid(g) for g in result.state.handle):
                assert all(_valid(g) for g in goals), (theorem.statement, script, tactic, result.state.goals)
            state = result.state
            script.append(tactic)
    verdict = ENV.verify_sync(theorem, "\n".join(script))
    if verdict.ok:
        assert _valid(ENV.start_sync(theorem).handle[0]), (theorem.statement, script)
