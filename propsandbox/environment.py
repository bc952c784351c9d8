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
from propsandbox.syntax import parse_statement
from propsandbox.tactics import Forbidden

__all__ = ["SandboxEnvironment", "in_fragment", "state_of"]

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


def _top_level_blocks(proof: str) -> list[tuple[int, int, str]]:
    """The proof cut before each line indented no deeper than its first tactic:
    ``(0-based line, column, text)`` per top-level tactic with its continuation lines."""
    lines = proof.split("\n")
    body = [i for i, text in enumerate(lines) if text.strip()]
    if not body:
        return []
    indent = min(len(lines[i]) - len(lines[i].lstrip()) for i in body)
    starts = [i for i in body if len(lines[i]) - len(lines[i].lstrip()) <= indent]
    ends = starts[1:] + [len(lines)]
    return [(start, indent, "\n".join(text[indent:] for text in lines[start:end])) for start, end in zip(starts, ends)]


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
        ok, reason, messages = False, "", ()
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
            if not ok:
                messages = (self._locate(theorem, root, proof, reason),)
        return Verdict(theorem=theorem.name, proof=proof, ok=ok, checker=CHECKER, reason=reason, messages=messages,
                       seconds=time.perf_counter() - started)

    def _locate(self, theorem: Theorem, root: ProofState, proof: str, reason: str) -> str:
        """The failure as Lean positions it (``error line:column: text``, lines of
        ``with_proof`` without the header): at the first top-level tactic that fails, or at
        the statement's ``by`` when every tactic ran and goals remain."""
        offset = theorem.statement.count("\n") + 2
        state = root
        for line, column, block in _top_level_blocks(proof):
            result = self.step_sync(state, block)
            if isinstance(result, ProofComplete):
                break
            if not isinstance(result, NewState):
                text = result.message if isinstance(result, TacticError) else f"{result.reason}: {result.message}"
                return f"error {offset + line}:{column + 2}: {text}"
            state = result.state
        by_line = theorem.statement.rstrip().rsplit("\n", 1)[-1]
        return f"error {offset - 1}:{max(by_line.rfind('by'), 0)}: {reason}"

    async def start(self, theorem: Theorem) -> ProofState:
        """See ``start_sync``."""
        return self.start_sync(theorem)

    async def step(self, state: ProofState, tactic: str) -> StepResult:
        """See ``step_sync``."""
        return self.step_sync(state, tactic)

    async def verify(self, theorem: Theorem, proof: str) -> Verdict:
        """See ``verify_sync``."""
        return self.verify_sync(theorem, proof)
