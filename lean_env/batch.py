"""Verifying many proofs through one environment: the batch behind ``prover check``.

A plain async function over any ``Environment``, so that a distribution layer can call
it once per shard with its own backend. Every proof goes through ``Environment.verify``,
the same judge that decides whether a search found a proof.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import AsyncIterator, Hashable, Iterable

from lean_env.environment import Environment
from lean_env.errors import StatementError
from lean_env.source import split_imports
from lean_env.types import Theorem, Verdict

__all__ = ["ProofJob", "verify_batch"]


@dataclass(frozen=True)
class ProofJob:
    """One proof to check; ``key`` is the caller's, returned with the verdict."""

    key: Hashable
    theorem: Theorem
    proof: str


async def _verify(env: Environment, job: ProofJob) -> tuple[ProofJob, Verdict]:
    try:
        return job, await env.verify(job.theorem, job.proof)
    except StatementError as exc:  # the header or statement does not elaborate: this proof's failure alone
        return job, Verdict(theorem=job.theorem.name, proof=job.proof, ok=False, checker=getattr(env, "name", "?"),
                            reason=str(exc), failure="statement")


async def verify_batch(env: Environment, jobs: Iterable[ProofJob], *, concurrency: int = 8) -> AsyncIterator[tuple[ProofJob, Verdict]]:
    """Verify every job, at most ``concurrency`` at once, yielding ``(job, verdict)`` as
    each finishes. Jobs are taken in order of their header's imports and then header, so
    a pooled backend imports a header once and reuses it for every proof that shares it.
    A statement or header that does not elaborate is that job's failed verdict; faults
    of the environment itself (``EnvironmentFault``, ``BackendUnavailable``) propagate,
    and closing the iterator cancels the checks in flight."""
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    ordered = iter(sorted(jobs, key=lambda job: (split_imports(job.theorem.header)[0], job.theorem.header)))
    running: set[asyncio.Task[tuple[ProofJob, Verdict]]] = set()
    try:
        while True:
            for job in ordered:
                running.add(asyncio.ensure_future(_verify(env, job)))
                if len(running) >= concurrency:
                    break
            if not running:
                return
            done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                yield task.result()
    finally:
        for task in running:
            task.cancel()
        if running:
            await asyncio.gather(*running, return_exceptions=True)
