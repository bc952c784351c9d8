"""Many theorem searches on one event loop, their model calls merged into shared batches.

Each search is its own asyncio task: its environment steps run concurrently with every
other search's, and it only ever waits for its own work. Proposer queries go to a
``BatchingPropose`` (and value-model states to a ``BatchingEvaluate``) that calls the
blocking model in a worker thread with up to ``max_batch`` items, flushing as soon as
every running search is waiting on it, the batch is full, or the oldest request has
waited ``max_wait_ms``.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any, AsyncIterator, Hashable, Iterable, Sequence

from lean_env.aio import within
from lean_env.environment import Environment
from lean_env.types import ProofState, Theorem
from search.budget import Budget
from search.engine import check_proposer_kind, run_search
from search.params import check_params, param
from search.policies import Policy, resolve_policy
from search.proposer import Candidate, Proposer, Query
from search.result import SearchResult
from search.seeds import attempt_seed
from search.value import ValueModel

__all__ = ["SchedulerConfig", "BatchStats", "BatchingPropose", "BatchingEvaluate", "SearchJob", "plan_jobs", "Scheduler"]


@dataclass(frozen=True)
class SchedulerConfig:
    """How concurrent searches share the proposer."""

    max_batch: int = param(64, "queries per proposer call at most (one larger request still goes alone)", min=1)
    max_wait_ms: float = param(5.0, "longest a query waits for its batch to fill, in milliseconds", min=0)
    max_concurrent: int = param(32, "searches running at once", min=1)

    def __post_init__(self) -> None:
        check_params(self)


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
    items: Sequence[Any]
    key: Hashable
    future: asyncio.Future
    arrival: float


class _Searches:
    """The searches sharing a set of batchers: how many run, and how many wait on any
    batcher. When all of them wait, no batch can grow any further."""

    def __init__(self) -> None:
        self.running = 0
        self.waiting = 0
        self.batchers: list[_Batcher] = []

    def wake_all(self) -> None:
        for batcher in self.batchers:
            if batcher._wake is not None:
                batcher._wake.set()


class _Batcher:
    """Merges the requests of many searches into calls of one blocking, batched function.

    Searches register with ``attach``/``detach`` so the batcher knows when all of them are
    waiting (on this batcher or another of the same ``searches``) and a batch cannot grow
    any further. Requests with different keys go in different calls. Calls run one at a
    time (one model, one device). When a merged call raises, each request is retried
    alone, so only the failing search sees the error.
    """

    name: str

    def __init__(self, config: SchedulerConfig, searches: _Searches | None = None):
        self.config = config
        self.searches = searches or _Searches()
        self.searches.batchers.append(self)
        self._pending: list[_Request] = []
        self._sizes: list[int] = []
        self._wake: asyncio.Event | None = None
        self._worker: asyncio.Task | None = None

    def _invoke(self, items: list[Any], key: Hashable) -> list[Any]:
        """The blocking batched call (run in a worker thread)."""
        raise NotImplementedError

    def attach(self) -> None:
        """A search starts using the batchers of its group."""
        self.searches.running += 1

    def detach(self) -> None:
        """A search finished: the others may now be all that a batch waits for."""
        self.searches.running -= 1
        self.searches.wake_all()

    def stats(self) -> BatchStats:
        """Batch sizes so far."""
        return BatchStats(tuple(self._sizes))

    async def _submit(self, items: Sequence[Any], key: Hashable) -> list[Any]:
        loop = asyncio.get_running_loop()
        if self._worker is None:
            self._wake = asyncio.Event()
            self._worker = loop.create_task(self._serve())
        future = loop.create_future()
        self._pending.append(_Request(items, key, future, time.monotonic()))
        self.searches.waiting += 1
        self.searches.wake_all()
        try:
            return await future
        finally:
            self.searches.waiting -= 1

    async def aclose(self) -> None:
        """Stop the worker task."""
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
            self._worker = None

    def _ready(self) -> bool:
        pending = sum(len(r.items) for r in self._pending)
        return pending >= self.config.max_batch or self.searches.waiting >= self.searches.running

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
        """The oldest request and those after it with the same key, up to ``max_batch`` items."""
        key = self._pending[0].key
        batch, rest, size = [], [], 0
        for request in self._pending:
            if request.key == key and (not batch or size + len(request.items) <= self.config.max_batch):
                batch.append(request)
                size += len(request.items)
            else:
                rest.append(request)
        self._pending = rest
        return batch

    async def _call(self, batch: list[_Request]) -> None:
        items = [item for request in batch for item in request.items]
        self._sizes.append(len(items))
        try:
            answers = await asyncio.to_thread(self._invoke, items, batch[0].key)
            if len(answers) != len(items):
                raise RuntimeError(f"{self.name!r} answered {len(answers)} of {len(items)} requests")
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0].future, exception=exc)
            else:
                for request in batch:
                    await self._call([request])
            return
        start = 0
        for request in batch:
            _settle(request.future, result=answers[start : start + len(request.items)])
            start += len(request.items)


class BatchingPropose(_Batcher):
    """A ``ProposeFn`` shared by many searches that merges their queries into batches
    (requests with different ``k`` go in different calls)."""

    def __init__(self, proposer: Proposer, config: SchedulerConfig = SchedulerConfig(), searches: _Searches | None = None):
        super().__init__(config, searches)
        self.proposer = proposer
        self.name = proposer.name
        self.kind = proposer.kind

    async def __call__(self, queries: Sequence[Query], k: int) -> list[list[Candidate]]:
        return await self._submit(queries, k)

    def _invoke(self, items: list[Any], key: Hashable) -> list[Any]:
        return self.proposer.propose(items, key)


class BatchingEvaluate(_Batcher):
    """An ``EvaluateFn`` shared by many searches that merges their states into batches."""

    def __init__(self, model: ValueModel, config: SchedulerConfig = SchedulerConfig(), searches: _Searches | None = None):
        super().__init__(config, searches)
        self.model = model
        self.name = model.name

    async def __call__(self, states: Sequence[ProofState]) -> list[float]:
        return await self._submit(states, None)

    def _invoke(self, items: list[Any], key: Hashable) -> list[Any]:
        return self.model.evaluate(items)


def _settle(future: asyncio.Future, *, result: object = None, exception: BaseException | None = None) -> None:
    if future.done():  # the search stopped waiting (wall-clock budget)
        return
    if exception is not None:
        future.set_exception(exception)
    else:
        future.set_result(result)


@dataclass(frozen=True)
class SearchJob:
    """One search to run: a theorem, which repeated attempt at it, and that attempt's seed."""

    theorem: Theorem
    attempt: int = 0
    seed: int = 0


def plan_jobs(theorems: Iterable[Theorem], *, attempts: int = 1, seed: int = 0) -> list[SearchJob]:
    """Every (theorem, attempt) pair with its seed by the one seed rule
    (``search.seeds.attempt_seed``), the attempts of a theorem adjacent."""
    return [SearchJob(theorem, attempt, attempt_seed(seed, attempt)) for theorem in theorems for attempt in range(attempts)]


class Scheduler:
    """Runs one policy over many searches concurrently with batched proposer calls.

    Each job's search is exactly what ``run_search`` with the job's seed gives (per-query
    seeds do not depend on batching); a search that raises yields an ``error`` result
    and the others go on.
    """

    def __init__(
        self,
        *,
        env: Environment,
        proposer: Proposer,
        policy: Policy | str,
        budget: Budget = Budget(),
        config: SchedulerConfig = SchedulerConfig(),
        value: ValueModel | None = None,
    ):
        self.env = env
        self.policy = resolve_policy(policy)
        check_proposer_kind(self.policy, proposer)
        self.budget = budget
        self.config = config
        self.batcher = BatchingPropose(proposer, config)
        self.evaluator = BatchingEvaluate(value, config, self.batcher.searches) if value is not None else None

    async def stream(self, jobs: Iterable[SearchJob]) -> AsyncIterator[tuple[SearchJob, SearchResult]]:
        """Yield ``(job, result)`` as each search finishes. Closing the iterator early
        cancels the searches still running."""
        slots = asyncio.Semaphore(self.config.max_concurrent)
        tasks = {asyncio.create_task(self._one(job, slots)): job for job in jobs}
        order = {task: i for i, task in enumerate(tasks)}
        pending = set(tasks)
        try:
            while pending:
                finished, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in sorted(finished, key=order.__getitem__):
                    yield tasks[task], task.result()
        finally:
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            for batcher in self._batchers():
                await batcher.aclose()

    async def run(self, jobs: Iterable[SearchJob]) -> list[SearchResult]:
        """All results, in job order."""
        jobs = list(jobs)
        index = {id(job): i for i, job in enumerate(jobs)}
        results: list[SearchResult | None] = [None] * len(jobs)
        async for job, result in self.stream(jobs):
            results[index[id(job)]] = result
        return results

    def _batchers(self) -> list[_Batcher]:
        return [self.batcher] + ([self.evaluator] if self.evaluator is not None else [])

    async def _one(self, job: SearchJob, slots: asyncio.Semaphore) -> SearchResult:
        async with slots:
            self.batcher.attach()
            try:
                return await run_search(
                    job.theorem, env=self.env, proposer=self.batcher, policy=self.policy, budget=self.budget,
                    seed=job.seed, value=self.evaluator,
                )
            finally:
                self.batcher.detach()

    def stats(self) -> BatchStats:
        """Batch sizes of the proposer calls made so far."""
        return self.batcher.stats()
