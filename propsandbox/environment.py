"""``SandboxEnvironment``: the built-in, offline propositional proof checker.

It needs no Lean toolchain. States are tuples of frozen goals carried in
``ProofState.handle``, so the environment itself holds nothing and is safe to share
between concurrent searches.

Every call is bounded. The kernel charges its work to a ``Meter`` (``WorkLimits``), and a
tactic past a bound (``repeat all_goals by_cases h : p``) is answered
``TacticRejected(reason="resource-limit")`` within milliseconds instead of eating all
memory. The async methods first run a call on the event loop with a small work allowance,
which ordinary steps never reach, so they cost no thread hop; a call that needs more runs
again in a worker thread, where it cannot block the loop: a search's deadline cancels it,
and the thread stops at its next work charge. ``EnvLimits.step_timeout_s`` and
``verify_timeout_s`` bound a call's time the same way (``StepTimeout``, or a failed verdict).
"""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, TypeVar

from lean_env import (
    EnvironmentBase,
    EnvLimits,
    NewState,
    ProofComplete,
    ProofState,
    StatementError,
    StepResult,
    StepTimeout,
    TacticError,
    TacticRejected,
    Theorem,
    Verdict,
)
from propsandbox.kernel import (
    Goal,
    Interrupted,
    Meter,
    OutsideFragment,
    ResourceLimit,
    TacticFailure,
    WorkLimits,
    initial_goal,
    parse_goal,
    render,
    run_script,
)
from propsandbox.syntax import Imp, is_tautology, parse_statement
from propsandbox.tactics import Forbidden

__all__ = ["SandboxEnvironment", "RESOURCE_LIMIT", "in_fragment", "provable", "state_of"]

CHECKER = "sandbox"
RESOURCE_LIMIT = "resource-limit"
"""``TacticRejected.reason`` of a tactic that needs more than ``WorkLimits`` allow."""

_INLINE_WORK = 2_000
"""Work units a call may spend on the event loop (about a millisecond) before it moves to a thread."""
_INLINE_CHARS = 4_096
"""Longer texts are parsed in a thread straight away (parsing is not metered)."""
_THREADS = 2

_R = TypeVar("_R")


def in_fragment(statement: str) -> bool:
    """Whether the sandbox can check ``statement`` (used to pick a backend automatically)."""
    try:
        parse_statement(statement)
    except StatementError:
        return False
    return True


def state_of(goals: tuple[Goal, ...], meter: Meter | None = None) -> ProofState:
    """The ``ProofState`` of a goal tuple: Lean's rendering plus the goals as handle (the
    rendered size charged to ``meter`` when given)."""
    texts = tuple(render(g) for g in goals)
    if meter is not None:
        meter.rendered(sum(map(len, texts)))
    return ProofState(goals=texts, handle=goals)


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
    """Checks Lean 4 tactic proofs of propositional theorems without Lean, each call
    bounded by ``work`` and by the time limits of ``limits``."""

    name = "sandbox"

    def __init__(self, limits: EnvLimits | None = None, *, work: WorkLimits = WorkLimits(),
                 inline_work: int = _INLINE_WORK):
        self.limits = limits or EnvLimits()
        self.work = work
        self.inline_work = inline_work
        self._pool: ThreadPoolExecutor | None = None
        self._stops: set[threading.Event] = set()

    # ------------------------------------------------------------------ synchronous core
    def start_sync(self, theorem: Theorem) -> ProofState:
        """Root state of ``theorem``; raises ``StatementError`` for bad or out-of-fragment input."""
        return state_of((initial_goal(parse_statement(theorem.statement)),))

    def step_sync(self, state: ProofState, tactic: str, meter: Meter | None = None) -> StepResult:
        """Run ``tactic`` (one or more tactics) on ``state``, its work charged to ``meter``
        (default: this environment's limits); never raises, except ``ResourceLimit`` when a
        meter with a reduced allowance runs out."""
        if meter is None:
            meter = Meter(self.work, timeout=self.limits.step_timeout_s)
        try:
            goals = _goals_of(state)
        except StatementError as e:
            return TacticRejected(reason="foreign-state", message=f"not a sandbox goal: {e}")
        try:
            after = run_script(goals, tactic, meter)
            return NewState(state_of(after, meter)) if after else ProofComplete()
        except Forbidden as e:
            return TacticRejected(reason="forbidden", message=str(e))
        except ResourceLimit as e:
            if e.allowance:
                raise
            return TacticRejected(reason=RESOURCE_LIMIT, message=e.message)
        except OutsideFragment as e:
            return TacticRejected(reason="outside-sandbox", message=e.message, position=e.position)
        except TacticFailure as e:
            return TacticError(e.message, e.position)
        except RecursionError:
            return TacticRejected(reason="outside-sandbox", message="tactic nested too deeply for the sandbox")
        except Interrupted:
            return StepTimeout(seconds=self.limits.step_timeout_s)

    def verify_sync(self, theorem: Theorem, proof: str, meter: Meter | None = None) -> Verdict:
        """Re-parse the statement and run the whole proof from scratch under ``meter`` (as in
        ``step_sync``); ok iff every goal closes."""
        if meter is None:
            meter = Meter(self.work, timeout=self.limits.verify_timeout_s)
        started = time.perf_counter()
        ok, reason, messages = False, "", ()
        try:
            root = self.start_sync(theorem)
            result = self.step_sync(root, proof, meter)
        except StatementError as e:
            reason = f"statement: {e}"
        else:
            if isinstance(result, ProofComplete):
                ok = True
            elif isinstance(result, NewState):
                reason = "unsolved goals\n" + result.state.pp
            elif isinstance(result, TacticError):
                reason = result.message
            elif isinstance(result, StepTimeout):
                reason = f"timeout: the check ran past {self.limits.verify_timeout_s:g}s"
            else:
                reason = f"{result.reason}: {result.message}"
            if not ok and not isinstance(result, StepTimeout):
                messages = (self._locate(theorem, root, proof, reason, meter),)
        return Verdict(theorem=theorem.name, proof=proof, ok=ok, checker=CHECKER, reason=reason, messages=messages,
                       seconds=time.perf_counter() - started)

    def _locate(self, theorem: Theorem, root: ProofState, proof: str, reason: str, meter: Meter) -> str:
        """The failure as Lean positions it (``error line:column: text``, lines of
        ``with_proof`` without the header): at the first top-level tactic that fails, or at
        the statement's ``by`` when every tactic ran and goals remain. Runs under the
        check's own ``meter``."""
        offset = theorem.statement.count("\n") + 2
        state = root
        for line, column, block in _top_level_blocks(proof):
            result = self.step_sync(state, block, meter)
            if isinstance(result, ProofComplete):
                break
            if isinstance(result, (TacticError, TacticRejected)):
                text = result.message if isinstance(result, TacticError) else f"{result.reason}: {result.message}"
                if result.position is None:
                    return f"error {offset + line}:{column + 2}: {text}"
                row, col = result.position  # the error's own place in the block
                return f"error {offset + line + row - 1}:{(column if row == 1 else 0) + 2 + col}: {text}"
            if not isinstance(result, NewState):
                break
            state = result.state
        by_line = theorem.statement.rstrip().rsplit("\n", 1)[-1]
        return f"error {offset - 1}:{max(by_line.rfind('by'), 0)}: {reason}"

    # ------------------------------------------------------------------ asynchronous API
    async def start(self, theorem: Theorem) -> ProofState:
        """See ``start_sync`` (a long statement is parsed in a worker thread)."""
        if len(theorem.statement) <= _INLINE_CHARS:
            return self.start_sync(theorem)
        return await asyncio.get_running_loop().run_in_executor(self._executor(), self.start_sync, theorem)

    async def step(self, state: ProofState, tactic: str) -> StepResult:
        """See ``step_sync``: on the event loop within a small work allowance, else in a worker thread."""
        if len(tactic) <= _INLINE_CHARS:
            try:
                return self.step_sync(state, tactic, Meter(self.work, allowance=self.inline_work))
            except ResourceLimit:  # only the reduced allowance escapes step_sync
                pass
        return await self._in_thread(self.step_sync, state, tactic, timeout=self.limits.step_timeout_s)

    async def verify(self, theorem: Theorem, proof: str) -> Verdict:
        """See ``verify_sync``: on the event loop within a small work allowance, else in a worker thread."""
        if len(proof) + len(theorem.statement) <= _INLINE_CHARS:
            try:
                return self.verify_sync(theorem, proof, Meter(self.work, allowance=self.inline_work))
            except ResourceLimit:
                pass
        return await self._in_thread(self.verify_sync, theorem, proof, timeout=self.limits.verify_timeout_s)

    async def _in_thread(self, call: Callable[..., _R], *args: object, timeout: float) -> _R:
        """``call(*args, meter)`` in a worker thread, told to stop once the caller stops waiting for it."""
        stop = threading.Event()
        self._stops.add(stop)
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self._executor(), lambda: call(*args, Meter(self.work, timeout=timeout, stop=stop)))
        finally:
            stop.set()
            self._stops.discard(stop)

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=_THREADS, thread_name_prefix="sandbox")
        return self._pool

    async def aclose(self) -> None:
        """Stop the worker threads' calls and release the threads."""
        for stop in list(self._stops):
            stop.set()
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
