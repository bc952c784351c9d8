"""The async ``SandboxEnvironment`` contract: start, step, verify, statelessness."""

from __future__ import annotations

import asyncio

import pytest

from lean_env import Environment, StatementError
from lean_env.types import NewState, ProofComplete, TacticError, Theorem
from propsandbox import SandboxEnvironment

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
