"""The ``Environment`` protocol every proof checker backend implements.

The interface is asynchronous so that one backend object can serve many theorems and
many concurrent steps: search schedulers run hundreds of searches on one event loop
while the backend spreads their steps over its workers.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from lean_env.types import ProofState, StepResult, Theorem, Verdict

__all__ = ["Environment"]


@runtime_checkable
class Environment(Protocol):
    """A proof checker: start theorems, run tactics on states, verify whole proofs.

    Contract:
    - ``start`` returns the root state of ``theorem``; it raises ``StatementError`` when
      the statement is malformed and ``BackendUnavailable`` when the checker cannot run.
    - ``step`` never raises for a bad tactic, a timeout or a crash: each is a
      ``StepResult`` variant. States are persistent: stepping one never invalidates it,
      so search may branch and backtrack freely.
    - ``verify`` checks a complete proof from scratch, independently of any stepping,
      and is the only judge of whether a proof is reported as found.
    - ``aclose`` releases processes and memory; backends are async context managers.
    """

    name: str

    async def start(self, theorem: Theorem) -> ProofState: ...

    async def step(self, state: ProofState, tactic: str) -> StepResult: ...

    async def verify(self, theorem: Theorem, proof: str) -> Verdict: ...

    async def aclose(self) -> None: ...

    async def __aenter__(self) -> "Environment": ...

    async def __aexit__(self, *exc_info: object) -> None: ...
