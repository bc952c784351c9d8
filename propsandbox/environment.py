"""``SandboxEnvironment``: the built-in, offline propositional proof checker.

It needs no Lean toolchain. States are tuples of frozen goals carried in
``ProofState.handle``, so the environment itself holds nothing and is safe to share
between concurrent searches. The async methods call a fast synchronous core.
"""

from __future__ import annotations

import time

from lean_env import (
    EnvironmentBase,
    NewState,
    ProofComplete,
    ProofState,
    StatementError,
    StepResult,
    TacticError,
    TacticRejected,
    Theorem,
    Verdict,
)
from propsandbox.kernel import Goal, OutsideFragment, TacticFailure, initial_goal, parse_goal, render, run_script
from propsandbox.syntax import Imp, is_tautology, parse_statement
from propsandbox.tactics import Forbidden

__all__ = ["SandboxEnvironment", "in_fragment", "provable", "state_of"]

CHECKER = "sandbox"


def in_fragment(statement: str) -> bool:
    """Whether the sandbox can check ``statement`` (used to pick a backend automatically)."""
    try:
        parse_statement(statement)
    except StatementError:
        return False
    return True


def state_of(goals: tuple[Goal, ...]) -> ProofState:
    """The ``ProofState`` of a goal tuple: Lean's rendering plus the goals as handle."""
    return ProofState(goals=tuple(render(g) for g in goals), handle=goals)


def _goals_of(state: ProofState) -> tuple[Goal, ...]:
    handle = state.handle
    if isinstance(handle, tuple) and all(type(g) is Goal for g in handle):
        return handle
    return tuple(parse_goal(text) for text in state.goals)


def provable(state: ProofState) -> bool:
    """Whether every goal of ``state`` is classically valid (its hypotheses entail its target
    by truth table): a step into a state that is not can never be part of a proof."""
    for goal in _goals_of(state):
        formula = goal.target
        for hyp in reversed(goal.hyps):
            if hyp.type is not None:
                formula = Imp(hyp.type, formula)
        if not is_tautology(formula):
            return False
    return True


class SandboxEnvironment(EnvironmentBase):
    """Checks Lean 4 tactic proofs of propositional theorems without Lean."""

    name = "sandbox"

    def start_sync(self, theorem: Theorem) -> ProofState:
        """Root state of ``theorem``; raises ``StatementError`` for bad or out-of-fragment input."""
        return state_of((initial_goal(parse_statement(theorem.statement)),))

    def step_sync(self, state: ProofState, tactic: str) -> StepResult:
        """Run ``tactic`` (one or more tactics) on ``state``; never raises."""
        try:
            goals = _goals_of(state)
        except StatementError as e:
            return TacticRejected(reason="foreign-state", message=f"not a sandbox goal: {e}")
        try:
            after = run_script(goals, tactic)
            return NewState(state_of(after)) if after else ProofComplete()
        except Forbidden as e:
            return TacticRejected(reason="forbidden", message=str(e))
        except OutsideFragment as e:
            return TacticRejected(reason="outside-sandbox", message=e.message)
        except TacticFailure as e:
            return TacticError(e.message)
        except RecursionError:
            return TacticRejected(reason="outside-sandbox", message="tactic nested too deeply for the sandbox")

    def verify_sync(self, theorem: Theorem, proof: str) -> Verdict:
        """Re-parse the statement and run the whole proof from scratch; ok iff every goal closes."""
        started = time.perf_counter()
        ok, reason = False, ""
        try:
            root = self.start_sync(theorem)
            result = self.step_sync(root, proof)
        except StatementError as e:
            reason = f"statement: {e}"
        else:
            if isinstance(result, ProofComplete):
                ok = True
            elif isinstance(result, NewState):
                reason = "unsolved goals\n" + result.state.pp
            elif isinstance(result, TacticError):
                reason = result.message
            else:
                reason = f"{result.reason}: {result.message}"
        return Verdict(theorem=theorem.name, proof=proof, ok=ok, checker=CHECKER, reason=reason,
                       seconds=time.perf_counter() - started)

    async def start(self, theorem: Theorem) -> ProofState:
        """See ``start_sync``."""
        return self.start_sync(theorem)

    async def step(self, state: ProofState, tactic: str) -> StepResult:
        """See ``step_sync``."""
        return self.step_sync(state, tactic)

    async def verify(self, theorem: Theorem, proof: str) -> Verdict:
        """See ``verify_sync``."""
        return self.verify_sync(theorem, proof)
