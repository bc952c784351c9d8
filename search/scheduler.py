"""Many theorem searches on one event loop, their proposer queries merged into shared batches.

Each search is its own asyncio task: its environment steps run concurrently with every
other search's, and it only ever waits for its own work. Proposer queries go to a
``BatchingPropose`` that calls the blocking ``Proposer.propose`` in a worker thread with
up to ``max_batch`` queries, flushing as soon as every running search is waiting on it,
the batch is full, or the oldest query has waited ``max_wait_ms``.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import AsyncIterator, Callable, Iterable, Sequence

from lean_env.aio import within
from lean_env.environment import Environment
from lean_env.types import Theorem
from search.budget import Budget
from search.engine import run_search
from search.errors import SearchConfigError
from search.policies import Policy, make_policy
from search.policies.base import check_positive
from search.proposer import Candidate, Proposer, Query
from search.result import SearchResult

__all__ = ["SchedulerConfig", "BatchStats", "BatchingPropose", "SearchJob", "Scheduler"]


@dataclass(frozen=True)
class SchedulerConfig:
    """How searches share the proposer.

    - ``max_batch``: queries per proposer call at most (a request is never split, so one
      larger request still goes alone).
    - ``max_wait_ms``: longest a query waits for its batch to fill.
    - ``max_concurrent``: searches running at once.
    """

    max_batch: int = 64
    max_wait_ms: float = 5.0
    max_concurrent: int = 32

    def __post_init__(self) -> None:
        check_positive(self, "max_batch", "max_concurrent")
        if self.max_wait_ms < 0:
            raise SearchConfigError(f"SchedulerConfig.max_wait_ms must be >= 0, got {self.max_wait_ms}")


@dataclass(frozen=True)
class BatchStats:
    """Proposer calls made by a scheduler: ``sizes`` holds each call's query count."""

    sizes: tuple[int, ...] = ()

    @property
    def calls(self) -> int:
        return len(self.sizes)

    @property
    def queries(self) -> int:
        return sum(self.sizes)

    @property
    def mean_size(self) -> float:
        return self.queries / self.calls if self.sizes else 0.0


@dataclass
class _Request:
    queries: Sequence[Query]
    k: int
    future: asyncio.Future
    arrival: float


class BatchingPropose:
    """A ``ProposeFn`` shared by many searches that merges their queries into batches.

    Searches register with ``attach``/``detach`` so the batcher knows when all of them are
    waiting and a batch cannot grow any further. Requests with different ``k`` go in
    different calls. Calls run one at a time (one model, one device). When a merged call
    raises, each request is retried alone, so only the failing search sees the error.
    """

    def __init__(self, proposer: Proposer, config: SchedulerConfig = SchedulerConfig()):
        self.proposer = proposer
        self.name = proposer.name
        self.kind = proposer.kind
        self.config = config
        self._pending: list[_Request] = []
        self._clients = 0
        self._sizes: list[int] = []
        self._wake: asyncio.Event | None = None
        self._worker: asyncio.Task | None = None

    def attach(self) -> None:
        """A search starts using this batcher."""
        self._clients += 1

    def detach(self) -> None:
        """A search finished: the others may now be all that a batch waits for."""
        self._clients -= 1
        if self._wake is not None:
            self._wake.set()

    def stats(self) -> BatchStats:
        """Batch sizes so far."""
        return BatchStats(tuple(self._sizes))

    async def __call__(self, queries: Sequence[Query], k: int) -> list[list[Candidate]]:
        loop = asyncio.get_running_loop()
        if self._worker is None:
            self._wake = asyncio.Event()
            self._worker = loop.create_task(self._serve())
        future = loop.create_future()
        self._pending.append(_Request(queries, k, future, time.monotonic()))
        self._wake.set()
        return await future

    async def aclose(self) -> None:
        """Stop the worker task."""
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
            self._worker = None

    def _ready(self) -> bool:
        pending = sum(len(r.queries) for r in self._pending)
        return pending >= self.config.max_batch or len(self._pending) >= self._clients

    async def _serve(self) -> None:
        wait = self.config.max_wait_ms / 1000.0
        while True:
            self._pending = [r for r in self._pending if not r.future.done()]
            if not self._pending:
                self._wake.clear()
                await self._wake.wait()
                continue
            left = self._pending[0].arrival + wait - time.monotonic()
            if not self._ready() and left > 0:
                self._wake.clear()
                try:
                    await within(self._wake.wait(), left)
                except TimeoutError:
                    pass
                continue
            await self._call(self._take())

    def _take(self) -> list[_Request]:
        """The oldest request and those after it with the same ``k``, up to ``max_batch`` queries."""
        k = self._pending[0].k
        batch, rest, size = [], [], 0
        for request in self._pending:
            if request.k == k and (not batch or size + len(request.queries) <= self.config.max_batch):
                batch.append(request)
                size += len(request.queries)
            else:
                rest.append(request)
        self._pending = rest
        return batch

    async def _call(self, batch: list[_Request]) -> None:
        queries = [q for request in batch for q in request.queries]
        self._sizes.append(len(queries))
        try:
            answers = await asyncio.to_thread(self.proposer.propose, queries, batch[0].k)
            if len(answers) != len(queries):
                raise RuntimeError(f"proposer {self.name!r} answered {len(answers)} of {len(queries)} queries")
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0].future, exception=exc)
            else:
                for request in batch:
                    await self._call([request])
            return
        start = 0
        for request in batch:
            _settle(request.future, result=answers[start : start + len(request.queries)])
            start += len(request.queries)


def _settle(future: asyncio.Future, *, result: object = None, exception: BaseException | None = None) -> None:
    if future.done():  # the search stopped waiting (wall-clock budget)
        return
    if exception is not None:
        future.set_exception(exception)
    else:
        future.set_result(result)


@dataclass(frozen=True)
class SearchJob:
    """One search to schedule: a theorem and the seed of this attempt at it."""

    theorem: Theorem
    seed: int


class Scheduler:
    """Runs one policy over many theorems concurrently with batched proposer calls.

    Each theorem's search is exactly what ``run_search`` with the same ``seed`` gives
    (per-query seeds do not depend on batching); a search that raises yields an
    ``error`` result and the others go on.
    """

    def __init__(
        self,
        *,
        env: Environment,
        proposer: Proposer,
        policy: Policy | str,
        budget: Budget = Budget(),
        config: SchedulerConfig = SchedulerConfig(),
        seed: int = 0,
    ):
        self.env = env
        self.policy = make_policy(policy) if isinstance(policy, str) else policy
        if proposer.kind != self.policy.proposer_kind:
            raise SearchConfigError(
                f"policy {self.policy.name!r} needs a {self.policy.proposer_kind!r} proposer, "
                f"got {proposer.name!r} ({proposer.kind!r})"
            )
        self.budget = budget
        self.config = config
        self.seed = seed
        self.batcher = BatchingPropose(proposer, config)

    async def stream(self, theorems: Iterable[Theorem]) -> AsyncIterator[SearchResult]:
        """Yield each theorem's result as soon as its search finishes."""
        async for _, result in self.stream_jobs(self._jobs(theorems)):
            yield result

    async def stream_jobs(self, jobs: Iterable[SearchJob]) -> AsyncIterator[tuple[int, SearchResult]]:
        """Yield ``(index of the job, result)`` as each search finishes; each job has its own
        seed, so repeated attempts at one theorem are independent searches."""
        slots = asyncio.Semaphore(self.config.max_concurrent)
        tasks = {asyncio.create_task(self._one(job, slots)): i for i, job in enumerate(jobs)}
        pending = set(tasks)
        try:
            while pending:
                finished, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in sorted(finished, key=tasks.__getitem__):
                    yield tasks[task], task.result()
        finally:
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            await self.batcher.aclose()

    def _jobs(self, theorems: Iterable[Theorem]) -> list[SearchJob]:
        return [SearchJob(theorem=theorem, seed=self.seed) for theorem in theorems]

    async def run(
        self, theorems: Iterable[Theorem], *, on_result: Callable[[SearchResult], None] | None = None
    ) -> list[SearchResult]:
        """All results in input order; ``on_result`` is called with each as it finishes."""
        theorems = list(theorems)
        results: list[SearchResult | None] = [None] * len(theorems)
        async for index, result in self.stream_jobs(self._jobs(theorems)):
            results[index] = result
            if on_result is not None:
                on_result(result)
        return results

    async def _one(self, job: SearchJob, slots: asyncio.Semaphore) -> SearchResult:
        async with slots:
            self.batcher.attach()
            try:
                return await run_search(
                    job.theorem, env=self.env, proposer=self.batcher, policy=self.policy, budget=self.budget, seed=job.seed
                )
            finally:
                self.batcher.detach()

    def stats(self) -> BatchStats:
        """Batch sizes of the proposer calls made so far."""
        return self.batcher.stats()
