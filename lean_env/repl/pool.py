"""Pool policy: which REPL worker serves a request, and when a worker is restarted.

Kept apart from process I/O (``process.py``). Workers are keyed by header (the
environment backend passes a theorem's ``import`` lines, ``source.split_imports``): a
worker imports its header once and every theorem with that header builds on the
resulting ``env``. A theorem sticks to one worker (its proof state ids live there); a new theorem
goes to a fresh worker while the pool has room, else to the least-loaded worker with
its header, else it takes over the least busy worker of another header. A worker is
restarted lazily, at the start of its next session: when its process died, when it
served ``recycle_after_steps`` requests, or when it was handed to another header.
Each restart bumps the worker's ``generation``, which invalidates old proof state ids.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import AsyncIterator, Hashable

from lean_env.errors import BackendUnavailable, EnvironmentFault
from lean_env.repl.config import ReplConfig
from lean_env.repl.process import ReplProcess, WorkerFault
from lean_env.repl.protocol import CommandRequest, CommandResponse, Request, Response, statement_error

__all__ = ["Worker", "WorkerPool"]


class Worker:
    """One REPL slot serving one header; ``states`` caches proof states rebuilt in the
    current generation, keyed by the caller (``(theorem, tactic path)``)."""

    def __init__(self, worker_id: int, header: str):
        self.id = worker_id
        self.header = header
        self.generation = 0
        self.process: ReplProcess | None = None
        self.header_env: int | None = None
        self.steps = 0
        self.theorems = 0
        self.pending = 0
        self.retarget = False
        self.lock = asyncio.Lock()
        self.states: dict[Hashable, tuple[int, tuple[str, ...]]] = {}

    async def request(self, request: Request, timeout: float) -> Response:
        """Send one request; call only inside ``WorkerPool.session``."""
        if self.process is None:
            raise WorkerFault("worker is not running")
        self.steps += 1
        return await self.process.request(request, timeout)

    async def request_sealed(self, request: Request, timeout: float, *, sync_timeout: float) -> Response:
        """``request`` with its reply proven in step (``ReplProcess.request_sealed``)."""
        if self.process is None or self.header_env is None:
            raise WorkerFault("worker is not running")
        self.steps += 2
        return await self.process.request_sealed(request, timeout, sync_env=self.header_env, sync_timeout=sync_timeout)


class WorkerPool:
    """A bounded set of workers with theorem affinity and bounded restart attempts."""

    def __init__(self, config: ReplConfig):
        self.config = config
        self.workers: list[Worker] = []
        self._affinity: dict[Hashable, Worker] = {}
        self._closed = False

    def assign(self, key: Hashable, header: str) -> Worker:
        """The worker that serves ``key`` (a theorem), choosing one on first use."""
        worker = self._affinity.get(key)
        if worker is not None and worker.header == header:
            return worker
        if len(self.workers) < self.config.limits.workers:
            worker = Worker(len(self.workers), header)
            self.workers.append(worker)
        else:
            same = [w for w in self.workers if w.header == header]
            worker = min(same, key=_load) if same else self._take_over(header)
        self._affinity[key] = worker
        worker.theorems += 1
        return worker

    def _take_over(self, header: str) -> Worker:
        """Hand the least busy worker (preferring headers served twice) to ``header``."""
        shared = {w.header for w in self.workers if sum(v.header == w.header for v in self.workers) > 1}
        victim = min(self.workers, key=lambda w: (w.header not in shared, *_load(w)))
        self._affinity = {k: w for k, w in self._affinity.items() if w is not victim}
        victim.header, victim.theorems, victim.retarget = header, 0, True
        return victim

    @contextlib.asynccontextmanager
    async def session(self, worker: Worker) -> AsyncIterator[Worker]:
        """Exclusive use of ``worker``, running and with its header loaded."""
        worker.pending += 1
        try:
            async with worker.lock:
                if self._closed:
                    raise EnvironmentFault("the REPL environment is closed")
                await self._make_ready(worker)
                yield worker
        finally:
            worker.pending -= 1

    async def _make_ready(self, worker: Worker) -> None:
        process = worker.process
        if process is not None and process.alive and process.owes_responses:
            await process.settle(self.config.limits.step_timeout_s)
        due = worker.steps >= self.config.limits.recycle_after_steps
        if process is None or not process.alive or due or worker.retarget:
            await self._restart(worker)

    async def _restart(self, worker: Worker) -> None:
        """Replace the worker's process; bounded attempts, then ``EnvironmentFault``."""
        await self._stop(worker)
        worker.generation += 1
        worker.states.clear()
        worker.steps = 0
        worker.retarget = False
        failure: WorkerFault | None = None
        for attempt in range(1, self.config.max_restarts + 1):
            if attempt > 1:
                await asyncio.sleep(self.config.restart_backoff_s * (attempt - 1))
            try:
                process = await ReplProcess.spawn(self.config.process_spec)
            except OSError as exc:
                raise BackendUnavailable(f"cannot run {self.config.command[0]!r}: {exc}") from exc
            try:
                response = await process.request(CommandRequest(worker.header), self.config.limits.start_timeout_s)
            except WorkerFault as exc:
                failure = exc
                continue
            except BaseException:
                await process.kill()
                raise
            error = statement_error(response, prefix="header: ")
            if error is not None:
                await process.kill()
                raise error
            assert isinstance(response, CommandResponse)
            worker.process, worker.header_env = process, response.env
            return
        raise EnvironmentFault(f"REPL worker {worker.id} failed to start {self.config.max_restarts} times in a row: {failure}")

    async def _stop(self, worker: Worker) -> None:
        if worker.process is not None:
            await worker.process.kill()
        worker.process, worker.header_env = None, None

    async def aclose(self) -> None:
        """Kill every worker; later sessions raise ``EnvironmentFault``."""
        self._closed = True
        for worker in self.workers:
            await self._stop(worker)


def _load(worker: Worker) -> tuple[int, int]:
    return (worker.theorems, worker.pending)

