"""The async ``SandboxEnvironment`` contract: start, step, verify, statelessness."""

from __future__ import annotations

import asyncio

import pytest

from lean_env import Environment, StatementError
from lean_env.types import NewState, ProofComplete, ProofState, TacticError, TacticRejected, Theorem
from propsandbox import SandboxEnvironment
from propsandbox.kernel import parse_goal, render

THEOREM = Theorem("and_comm", "theorem and_comm' (p q : Prop) : p ∧ q → q ∧ p := by")


def test_async_protocol_start_step_verify():
    async def main():
        async with SandboxEnvironment() as env:
            assert isinstance(env, Environment) and env.name == "sandbox"
            root = await env.start(THEOREM)
            assert root.goals == ("p q : Prop\n⊢ p ∧ q → q ∧ p",)
            step = await env.step(root, "intro h")
            assert isinstance(step, NewState)
            done = await env.step(step.state, "exact ⟨h.2, h.1⟩")
            verdict = await env.verify(THEOREM, "intro h\nexact ⟨h.2, h.1⟩")
            return done, verdict

    done, verdict = asyncio.run(main())
    assert done == ProofComplete()
    assert verdict.ok and verdict.checker == "sandbox" and verdict.theorem == "and_comm" and not verdict.reason


def test_start_rejects_bad_statements():
    with pytest.raises(StatementError):
        asyncio.run(SandboxEnvironment().start(Theorem("bad", "theorem bad (n : ℕ) : n = n := by")))


def test_verify_reruns_from_scratch_and_needs_every_goal_closed():
    env = SandboxEnvironment()
    open_goals = env.verify_sync(THEOREM, "intro h\nconstructor\nexact h.2")
    assert not open_goals.ok and open_goals.reason.startswith("unsolved goals\ncase right")
    wrong = env.verify_sync(THEOREM, "intro h\nexact h")
    assert not wrong.ok and wrong.reason.startswith("type mismatch")
    bad = env.verify_sync(Theorem("x", "theorem x : p := by"), "trivial")
    assert not bad.ok and bad.reason.startswith("statement:")
    indented = env.verify_sync(THEOREM, "  intro h\n  constructor\n  · exact h.2\n  · exact h.1\n")
    assert indented.ok


def test_concurrent_steps_share_one_stateless_environment():
    env = SandboxEnvironment()

    async def main():
        root = await env.start(THEOREM)
        tactics = ["intro h", "intro x", "constructor", "intro h; exact h"] * 25
        return root, await asyncio.gather(*(env.step(root, t) for t in tactics))

    root, results = asyncio.run(main())
    assert results[0] == results[4] and results[1] == results[5]
    assert isinstance(results[2], TacticError) and isinstance(results[3], TacticError)
    assert env.step_sync(root, "intro h") == results[0]  # the root state is untouched


def test_goal_text_without_a_handle_is_parsed_back():
    env = SandboxEnvironment()
    state = env.step_sync(env.start_sync(THEOREM), "intro h\nconstructor").state
    [goal] = state.handle[:1]
    assert parse_goal(render(goal)) == goal and goal.tag == "left"
    assert env.step_sync(ProofState(goals=state.goals), "exact h.2") == env.step_sync(state, "exact h.2")


@pytest.mark.parametrize(
    "text, message, line",
    [
        ("p q : Prop\nh : p ∧ q", "goal text has no '⊢' line", 1),
        ("case left\np q : Prop\nh p ∧ q\n⊢ q", "hypothesis line without ' : '", 2),
        ("p : Prop\nh : p := x\n⊢ p", "a 'let' value (':=') is outside the fragment", 2),
        ("p : Prop\n⊢ p ∧ r", "unknown identifier 'r'", 2),
        ("x : ℕ\n⊢ x + 0 = x", "unknown identifier 'ℕ'", 1),
    ],
)
def test_goal_text_outside_the_fragment_is_refused(text, message, line):
    with pytest.raises(StatementError) as caught:
        parse_goal(text)
    assert (caught.value.message, caught.value.line) == (message, line)
    rejected = SandboxEnvironment().step_sync(ProofState(goals=(text,)), "trivial")
    assert isinstance(rejected, TacticRejected) and rejected.reason == "foreign-state"


def test_failed_verdicts_position_the_error_as_lean_does():
    """Lines count from the statement's first line (header excluded); a failing tactic is
    pointed at, unsolved goals are reported at the statement's ``by``."""
    env = SandboxEnvironment()
    theorem = Theorem("t", "theorem t (p q : Prop) (hp : p) (hq : q) :\n    p ∧ q := by", header="import Mathlib\n")
    failing = env.verify_sync(theorem, "constructor\n· exact hp\n· exact hp")
    assert failing.messages[0].startswith("error 5:2: type mismatch")
    unsolved = env.verify_sync(theorem, "constructor\nexact hp")
    assert unsolved.messages == (f"error 2:13: {unsolved.reason}",) and unsolved.reason.startswith("unsolved goals")
    assert env.verify_sync(theorem, "exact ⟨hp, hq⟩").messages == ()
    parse_error = env.verify_sync(theorem, "constructor\nintro )")  # the parser's own place, made absolute
    assert parse_error.messages == ("error 4:8: unexpected token ')'",)


def test_a_parse_error_carries_its_position_as_data_not_in_its_text():
    """Lean's convention: line from 1, column from 0, within the tactic text."""
    env = SandboxEnvironment()
    state = env.start_sync(Theorem("t", "theorem t (p : Prop) : p → p := by"))
    result = env.step_sync(state, "intro h\n  exact )")
    assert isinstance(result, TacticError)
    assert (result.message, result.position) == ("unexpected token ')'", (2, 8))


def test_provable_reads_validity_of_every_goal():
    from propsandbox import SandboxEnvironment, provable
    from lean_env import NewState, Theorem

    env = SandboxEnvironment()
    state = env.start_sync(Theorem(name="t", statement="theorem t (p q : Prop) : p ∨ q → q ∨ p := by"))
    assert provable(state)
    after = env.step_sync(env.step_sync(state, "intro h").state, "left")
    assert isinstance(after, NewState) and not provable(after.state)  # from p ∨ q alone, q does not follow
