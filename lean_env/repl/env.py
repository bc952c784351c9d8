"""``ReplEnvironment``: the ``Environment`` protocol on a pool of Lean REPL workers.

A proof state's handle records the theorem, the worker and generation it lives in,
its REPL ``proofState`` id and the tactic path from the root. Within one generation the
id is used directly (REPL states are persistent, so branching is free); after a
restart, recycle or hand-over the path is replayed on the theorem's current worker,
sharing replayed prefixes, and a replay that fails yields ``EnvCrash(state_lost=True)``.

A theorem's header is split (``source.split_imports``): workers are keyed by its
``import`` lines, imported once per worker, and the rest of the header (``open``,
``set_option``, helper lemmas) is elaborated as one command on top, cached per worker.
So every theorem importing Mathlib shares warm workers, whatever else its header holds.

``verify`` compiles statement, proof and ``#print axioms`` as one command and reads the
reply sealed (``ReplProcess.request_sealed``), so output the proof prints cannot pass
for the REPL's verdict.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from dataclasses import dataclass
from typing import AsyncIterator

from lean_env.axioms import axiom_problem, print_axioms_command
from lean_env.base import EnvironmentBase
from lean_env.errors import EnvironmentFault, StatementError
from lean_env.hygiene import check_tactic, single_tactic
from lean_env.repl.config import ReplConfig
from lean_env.repl.pool import Worker, WorkerPool
from lean_env.repl.process import WorkerFault, WorkerTimeout
from lean_env.repl.protocol import (
    CommandRequest,
    CommandResponse,
    ProtocolError,
    Response,
    TacticRequest,
    statement_error,
    to_step_result,
)
from lean_env.repl.verify import compile_problem, read_audit
from lean_env.source import declared_name, split_imports
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
        """Exclusive use of the worker serving ``theorem`` (its imports loaded), for
        callers that need raw requests on one generation (step extraction)."""
        imports, _ = split_imports(theorem.header)
        async with self._pool.session(self._pool.assign(theorem, imports)) as worker:
            yield worker

    async def context_env(self, worker: Worker, theorem: Theorem) -> int:
        """The ``env`` id of ``theorem``'s whole header on ``worker``: the imports env, with
        the rest of the header elaborated on top once per generation (cached)."""
        imports, rest = split_imports(theorem.header)
        if not rest.strip():
            assert worker.header_env is not None
            return worker.header_env
        key = ("context", rest)
        cached = worker.states.get(key)
        if cached is None:
            response = await worker.request(CommandRequest(rest, env=worker.header_env), self.config.limits.start_timeout_s)
            error = statement_error(response, prefix="header: ", line_offset=imports.count("\n"))
            if error is not None:
                raise error
            assert isinstance(response, CommandResponse)
            cached = worker.states[key] = (response.env, ())
        return cached[0]

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
        """Compile statement, proof and ``#print axioms`` as one command on the theorem's
        header env, read the reply sealed, and accept only no errors, no sorry and
        allowed axioms; the tactic rules apply to the proof text first."""
        began = time.monotonic()
        hygiene = check_tactic(proof, allow_native_decide=self.config.allow_native_decide)
        if not hygiene.ok:
            return self._verdict(theorem, proof, began, failure="rejected", reason=f"rejected ({hygiene.reason}): {hygiene.detail}")
        name = declared_name(theorem.statement)
        if name is None:
            return self._verdict(theorem, proof, began, failure="statement", reason="no theorem name to audit axioms of")
        body = dataclasses.replace(theorem, header="").with_proof(hygiene.text)
        text = f"{body}\n{print_axioms_command(name)}\n"
        limits = self.config.limits
        try:
            async with self.session(theorem) as worker:
                env = await self.context_env(worker, theorem)
                compiled = await worker.request_sealed(CommandRequest(text, env=env), limits.verify_timeout_s, sync_timeout=limits.step_timeout_s)
        except StatementError as exc:
            return self._verdict(theorem, proof, began, failure="statement", reason=str(exc))
        except WorkerTimeout as exc:
            return self._verdict(theorem, proof, began, failure="timeout", reason=f"timeout: {exc}")
        except (WorkerFault, ProtocolError) as exc:
            return self._verdict(theorem, proof, began, failure="crash", reason=f"REPL worker failed: {exc}")
        messages = _rendered(compiled)
        failure, problem = compile_problem(compiled)
        if failure:
            return self._verdict(theorem, proof, began, failure=failure, reason=problem, messages=messages)
        axioms, problem = read_audit(compiled, audit_line=body.count("\n") + 2)
        problem = problem or axiom_problem(axioms, self.config.accepted_axioms)
        return self._verdict(theorem, proof, began, ok=not problem, failure="axioms" if problem else "",
                             reason=problem, messages=messages, axioms=axioms)

    async def aclose(self) -> None:
        await self._pool.aclose()

    async def _root(self, worker: Worker, theorem: Theorem) -> tuple[int, tuple[str, ...]]:
        """Root state of ``theorem`` on ``worker``'s current generation (cached)."""
        key = (theorem, ())
        root = worker.states.get(key)
        if root is None:
            command = CommandRequest(theorem.statement.rstrip() + " sorry", env=await self.context_env(worker, theorem))
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
