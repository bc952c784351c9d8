"""``ReplEnvironment``: the ``Environment`` protocol on a pool of Lean REPL workers.

A proof state's handle records the theorem, the worker and generation it lives in,
its REPL ``proofState`` id and the tactic path from the root. Within one generation the
id is used directly (REPL states are persistent, so branching is free); after a
restart, recycle or hand-over the path is replayed on the theorem's current worker,
sharing replayed prefixes, and a replay that fails yields ``EnvCrash(state_lost=True)``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from dataclasses import dataclass
from typing import AsyncIterator

from lean_env.base import EnvironmentBase
from lean_env.errors import EnvironmentFault, StatementError
from lean_env.hygiene import check_tactic
from lean_env.repl.config import ReplConfig
from lean_env.repl.pool import Worker, WorkerPool
from lean_env.repl.process import WorkerFault, WorkerTimeout
from lean_env.repl.protocol import (
    CommandRequest,
    CommandResponse,
    ProtocolError,
    Response,
    TacticRequest,
    single_tactic,
    statement_error,
    to_step_result,
)
from lean_env.repl.verify import axiom_problem, compile_problem, declared_name, parse_axioms, print_axioms_command
from lean_env.types import (
    EnvCrash,
    NewState,
    ProofState,
    StepResult,
    StepTimeout,
    TacticRejected,
    Theorem,
    Verdict,
)

__all__ = ["ReplEnvironment", "ReplHandle"]

_CHECKER = "lean-repl"


@dataclass(frozen=True)
class ReplHandle:
    """Backend handle of a ``ProofState``: where it lives and how to rebuild it."""

    theorem: Theorem
    worker: int
    generation: int
    proof_state: int
    path: tuple[str, ...] = ()


class _ReplayFailed(Exception):
    """A state could not be rebuilt on a fresh worker."""


class ReplEnvironment(EnvironmentBase):
    """Lean REPL backend: many concurrent searches over a bounded, self-healing pool."""

    name = "lean-repl"

    def __init__(self, config: ReplConfig):
        self.config = config
        self._pool = WorkerPool(config)

    @property
    def pool(self) -> WorkerPool:
        return self._pool

    @contextlib.asynccontextmanager
    async def session(self, theorem: Theorem) -> AsyncIterator[Worker]:
        """Exclusive use of the worker serving ``theorem`` (header loaded), for callers
        that need raw requests on one generation (step extraction)."""
        async with self._pool.session(self._pool.assign(theorem, theorem.header)) as worker:
            yield worker

    async def start(self, theorem: Theorem) -> ProofState:
        """Elaborate ``statement sorry`` in the header env; the sorry's state is the root."""
        failure: WorkerFault | None = None
        for _ in range(self.config.max_restarts):
            async with self.session(theorem) as worker:
                try:
                    proof_state, goals = await self._root(worker, theorem)
                except WorkerFault as exc:
                    failure = exc
                    continue
                return ProofState(goals, ReplHandle(theorem, worker.id, worker.generation, proof_state))
        raise EnvironmentFault(f"could not start {theorem.name}: {failure}")

    async def step(self, state: ProofState, tactic: str) -> StepResult:
        """Run one tactic; every failure mode is a ``StepResult`` (``EnvironmentFault``
        only when workers cannot be restarted at all)."""
        handle = state.handle
        if not isinstance(handle, ReplHandle):
            raise TypeError(f"not a lean-repl proof state: {handle!r}")
        hygiene = check_tactic(tactic, allow_native_decide=self.config.allow_native_decide)
        if not hygiene.ok:
            return TacticRejected(hygiene.reason, hygiene.detail)
        async with self.session(handle.theorem) as worker:
            try:
                proof_state = await self._resolve(worker, handle, state.goals)
            except _ReplayFailed as exc:
                return EnvCrash(f"could not rebuild the state: {exc}", state_lost=True)
            try:
                request = TacticRequest(single_tactic(hygiene.text), proof_state)
                response = await worker.request(request, self.config.limits.step_timeout_s)
            except WorkerTimeout:
                return StepTimeout(self.config.limits.step_timeout_s)
            except (WorkerFault, ProtocolError) as exc:
                return EnvCrash(f"REPL worker failed: {exc}")
            here = (worker.id, worker.generation)
        path = handle.path + (hygiene.text,)
        return to_step_result(response, handle_for=lambda ps: ReplHandle(handle.theorem, *here, ps, path))

    async def verify(self, theorem: Theorem, proof: str) -> Verdict:
        """Compile statement and proof as one command on the header env, then audit
        ``#print axioms``; hygiene rules apply to the proof text first."""
        began = time.monotonic()
        hygiene = check_tactic(proof, allow_native_decide=self.config.allow_native_decide)
        if not hygiene.ok:
            return self._verdict(theorem, proof, began, reason=f"rejected ({hygiene.reason}): {hygiene.detail}")
        name = declared_name(theorem.statement)
        if name is None:
            return self._verdict(theorem, proof, began, reason="no theorem name to audit axioms of")
        text = dataclasses.replace(theorem, header="").with_proof(hygiene.text)
        async with self.session(theorem) as worker:
            try:
                compiled = await worker.request(CommandRequest(text, env=worker.header_env), self.config.limits.verify_timeout_s)
                problem = compile_problem(compiled)
                messages = _rendered(compiled)
                if problem:
                    return self._verdict(theorem, proof, began, reason=problem, messages=messages)
                assert isinstance(compiled, CommandResponse)
                printed = await worker.request(CommandRequest(print_axioms_command(name), env=compiled.env), self.config.limits.step_timeout_s)
            except WorkerTimeout as exc:
                return self._verdict(theorem, proof, began, reason=f"timeout: {exc}")
            except (WorkerFault, ProtocolError) as exc:
                return self._verdict(theorem, proof, began, reason=f"REPL worker failed: {exc}")
        axioms = parse_axioms(printed)
        problem = axiom_problem(axioms, self.config.allowed_axioms)
        return self._verdict(theorem, proof, began, ok=not problem, reason=problem, messages=messages, axioms=axioms)

    async def aclose(self) -> None:
        await self._pool.aclose()

    async def _root(self, worker: Worker, theorem: Theorem) -> tuple[int, tuple[str, ...]]:
        """Root state of ``theorem`` on ``worker``'s current generation (cached)."""
        key = (theorem, ())
        root = worker.states.get(key)
        if root is None:
            command = CommandRequest(theorem.statement.rstrip() + " sorry", env=worker.header_env)
            root = _statement_root(await worker.request(command, self.config.limits.step_timeout_s))
            worker.states[key] = root
        return root

    async def _resolve(self, worker: Worker, handle: ReplHandle, goals: tuple[str, ...]) -> int:
        """The ``proofState`` id of ``handle`` on ``worker``, replaying its path if the
        id belongs to another worker or generation."""
        if (handle.worker, handle.generation) == (worker.id, worker.generation):
            return handle.proof_state
        try:
            proof_state, got = await self._root(worker, handle.theorem)
            for depth, tactic in enumerate(handle.path, start=1):
                key = (handle.theorem, handle.path[:depth])
                cached = worker.states.get(key)
                if cached is None:
                    request = TacticRequest(single_tactic(tactic), proof_state)
                    response = await worker.request(request, self.config.limits.step_timeout_s)
                    result = to_step_result(response, handle_for=lambda ps: ps)
                    if not isinstance(result, NewState):
                        raise _ReplayFailed(f"tactic {tactic!r} now gives {result}")
                    cached = (result.state.handle, result.state.goals)
                    worker.states[key] = cached
                proof_state, got = cached
        except (WorkerFault, ProtocolError, StatementError) as exc:
            raise _ReplayFailed(str(exc)) from exc
        if got != goals:
            raise _ReplayFailed("the replayed state has different goals")
        return proof_state

    def _verdict(self, theorem: Theorem, proof: str, began: float, *, ok: bool = False, **fields: object) -> Verdict:
        return Verdict(theorem=theorem.name, proof=proof, ok=ok, checker=_CHECKER, seconds=time.monotonic() - began, **fields)


def _rendered(response: Response) -> tuple[str, ...]:
    return tuple(m.render() for m in response.messages) if isinstance(response, CommandResponse) else ()


def _statement_root(response: Response) -> tuple[int, tuple[str, ...]]:
    """The root state from the response to ``statement sorry``, or ``StatementError``."""
    error = statement_error(response)
    if error is not None:
        raise error
    assert isinstance(response, CommandResponse)
    if len(response.sorries) != 1 or response.sorries[0].proof_state is None:
        raise StatementError(f"the statement must end with ':= by' and contain no sorry (got {len(response.sorries)} sorries)")
    sorry = response.sorries[0]
    return sorry.proof_state, (sorry.goal,)
