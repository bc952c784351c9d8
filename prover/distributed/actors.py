"""What runs inside Ray actors: a host that builds one piece of work in its process and
runs items through it, the model actor that batches the queries of many workers, and
the links through which a worker's searches reach that model actor.

Actor classes are plain classes (the driver wraps them with ``ray.remote``). An actor
process is its own world: its asynchronous work (environments, batchers) runs on the
one event loop Ray gives an async actor, where ``prover.runtime``'s loop plays that part
in a local process; a thread hop per call fewer, measurably faster on a loaded machine
(``benchmarks/bench_ray.py``). Building the work or the proposer may fail
(no Lean project on that node, no model at that path): the actor then stays up and
``ready`` reports the problem with the node's name, so the driver can say it in one line.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import socket
from collections import Counter
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable, Protocol, Sequence

import ray
from ray.exceptions import RayActorError, RayTaskError

from lean_env.aio import within
from lean_env.types import ProofState
from prover import runtime
from prover.distributed.errors import ClusterError
from search import BatchingEvaluate, BatchingPropose, BatchStats, Candidate, Proposer, Query, SchedulerConfig, ValueModel

__all__ = [
    "ModelInfo",
    "ActorReady",
    "node_name",
    "Work",
    "WorkFactory",
    "WorkerHost",
    "ModelServer",
    "close_batchers",
    "Outbox",
    "RemotePropose",
    "RemoteEvaluate",
]


@dataclass(frozen=True)
class ModelInfo:
    """A model's ``name`` and ``kind`` (a proposer's ``tactic``/``proof``, or ``value``),
    known on the driver without the model itself."""

    name: str
    kind: str


@dataclass(frozen=True)
class ActorReady:
    """What a started actor reports: where it runs, why it cannot work (``None``: it can),
    and the models it serves or uses."""

    node: str
    pid: int
    problem: str | None = None
    proposer: ModelInfo | None = None
    value: ModelInfo | None = None


def node_name() -> str:
    """This node as an operator finds it: IP address and host name."""
    return f"{ray.util.get_node_ip_address()} ({socket.gethostname()})"


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class Work(Protocol):
    """One worker's means of processing items (an environment, a link to a model actor),
    built in the worker's process. ``context`` is what every item of a run shares. A work
    that uses models names them in ``proposer`` and ``value`` attributes (``ModelInfo``)."""

    async def __call__(self, context: Any, item: Any) -> Any: ...

    async def aclose(self) -> None: ...


WorkFactory = Callable[[int], Work]
"""Builds a worker's ``Work`` in the worker's process from the worker's index (picklable)."""


class WorkerHost:
    """A worker actor: builds its ``Work`` when it starts (again after a restart) and runs
    each item through it on the actor's event loop, many items at once."""

    def __init__(self, factory: WorkFactory, index: int):
        self.node = node_name()
        self.work: Work | None = None
        self.problem: str | None = None
        try:
            self.work = factory(index)
        except Exception as exc:  # reported by ready(): one line naming the node
            self.problem = _one_line(exc)

    def ready(self) -> ActorReady:
        """Where this worker runs and whether it can work."""
        models = (getattr(self.work, "proposer", None), getattr(self.work, "value", None))
        return ActorReady(self.node, os.getpid(), self.problem, *models)

    async def run(self, context: Any, item: Any) -> Any:
        """Process one item."""
        if self.work is None:
            raise ClusterError(f"worker on node {self.node} cannot start: {self.problem}")
        return await self.work(context, item)

    async def aclose(self) -> None:
        """Close the work's resources (environment processes, proposer)."""
        if self.work is not None:
            await self.work.aclose()


class ModelServer:
    """A model actor: one proposer (one GPU's model), and optionally a value model, serving
    the searches of many workers. Their requests are merged by the scheduler's
    ``BatchingPropose`` (states by a ``BatchingEvaluate`` of the same group) on this
    actor's event loop, exactly as a local run merges its searches' requests: one batch on
    the device at a time, flushed as soon as every running search waits on it."""

    def __init__(self, proposer: Callable[[], Proposer], batching: SchedulerConfig, value: Callable[[], ValueModel] | None = None):
        self.node = node_name()
        self.batcher: BatchingPropose | None = None
        self.evaluator: BatchingEvaluate | None = None
        self.problem: str | None = None
        self.running: Counter[int] = Counter()
        try:
            self.batcher = BatchingPropose(proposer(), batching)
            if value is not None:
                self.evaluator = BatchingEvaluate(value(), batching, self.batcher.searches)
        except Exception as exc:  # reported by ready(): one line naming the node
            self.problem = _one_line(exc)

    def ready(self) -> ActorReady:
        """Where this model runs, whether it loaded, and its models' names and kinds."""
        proposer = ModelInfo(self.batcher.name, self.batcher.kind) if self.batcher else None
        value = ModelInfo(self.evaluator.name, "value") if self.evaluator else None
        return ActorReady(self.node, os.getpid(), self.problem, proposer, value)

    def stats(self) -> BatchStats:
        """Sizes of the proposer calls made so far (how full the device's batches are)."""
        return self.batcher.stats() if self.batcher is not None else BatchStats()

    async def propose(self, queries: Sequence[Query], k: int) -> list[list[Candidate]]:
        """Candidates for ``queries``, answered in a batch with other searches' queries."""
        self._check()
        return await self.batcher(queries, k)

    async def evaluate(self, states: Sequence[ProofState]) -> list[float]:
        """Values of ``states``, answered in a batch with other searches' states."""
        self._check()
        return await self.evaluator(states)

    async def serve(self, requests: Sequence[tuple[str, tuple]]) -> list[Any]:
        """Several ``propose``/``evaluate`` requests of one worker at once (``Outbox``), each
        batched on its own; an error is returned in its place, for its search alone."""
        if any(method not in ("propose", "evaluate") for method, _ in requests):
            raise ValueError("serve takes propose and evaluate requests only")
        return await asyncio.gather(*(getattr(self, method)(*args) for method, args in requests), return_exceptions=True)

    def _check(self) -> None:
        if self.problem is not None:
            raise ClusterError(f"model actor on node {self.node} cannot start: {self.problem}")

    async def attach(self, client: int) -> None:
        """A search of worker ``client`` starts: batches wait for its requests too."""
        if self.batcher is not None:
            self.running[client] += 1
            self.batcher.attach()

    async def detach(self, client: int) -> None:
        """A search of worker ``client`` finished: batches no longer wait for it."""
        if self.batcher is not None and self.running[client] > 0:
            self.running[client] -= 1
            self.batcher.detach()

    async def forget(self, client: int) -> None:
        """Worker ``client`` (re)started: searches it had running before are gone."""
        for _ in range(self.running.pop(client, 0)):
            self.batcher.detach()

    async def aclose(self) -> None:
        """Stop batching and close the models."""
        await close_batchers(self.batcher, self.evaluator)


async def close_batchers(*batchers: BatchingPropose | BatchingEvaluate | None) -> None:
    """Stop each batcher and close the model behind it."""
    for batcher in batchers:
        if batcher is not None:
            await batcher.aclose()
            await runtime.aclose_resources(batcher.proposer if isinstance(batcher, BatchingPropose) else batcher.model)


class Outbox:
    """A worker's line to its model actor: the requests its searches make in the same turn
    of the event loop travel as one remote call (``ModelServer.serve``), and each search
    gets its own answer, so remote calls follow the search rounds rather than the searches.
    It never waits and never merges: batching is the model actor's.

    A model actor lost for good (dead beyond its restarts, or silent for ``timeout_s``) is
    remembered in ``fault``, so the worker reports a fault instead of recording a search
    error; the model's own errors reach the search that asked, as they would locally."""

    def __init__(self, server: Any, *, timeout_s: float):
        self.server = server
        self.timeout_s = timeout_s
        self.fault: str | None = None
        self._pending: list[tuple[str, tuple, asyncio.Future]] = []

    async def call(self, method: str, *args: Any) -> Any:
        """``ModelServer.<method>(*args)``, sent with the other requests of this turn."""
        loop = asyncio.get_running_loop()
        if not self._pending:
            loop.call_soon(self._send)
        answer = loop.create_future()
        self._pending.append((method, args, answer))
        try:
            return await within(answer, self.timeout_s)
        except RayActorError as exc:
            self.fault = f"model actor lost: {_one_line(exc)}"
            raise
        except TimeoutError:
            self.fault = f"model actor lost: no answer within {self.timeout_s:g}s (ray.call_timeout_s)"
            raise

    def _send(self) -> None:
        requests, self._pending = self._pending, []
        reply = asyncio.wrap_future(self.server.serve.remote([(method, args) for method, args, _ in requests]).future())
        reply.add_done_callback(partial(_deliver, [answer for _, _, answer in requests]))


def _deliver(answers: list[asyncio.Future], reply: asyncio.Future) -> None:
    """Hand each waiting search its outcome from one ``serve`` reply (or the call's failure)."""
    waiting = [answer for answer in answers if not answer.done()]  # done: the search stopped waiting (its budget)
    if reply.cancelled():
        for answer in waiting:
            answer.cancel()
        return
    failure = reply.exception()
    if isinstance(failure, RayTaskError) and isinstance(failure.cause, Exception):
        failure = failure.cause
    outcomes = [failure] * len(answers) if failure is not None else reply.result()
    for answer, outcome in zip(answers, outcomes):
        if answer.done():
            continue
        if isinstance(outcome, BaseException):
            answer.set_exception(outcome)
        else:
            answer.set_result(outcome)


class _Link:
    """A search-facing model function answered through a worker's ``Outbox``."""

    def __init__(self, outbox: Outbox, info: ModelInfo):
        self.outbox = outbox
        self.name = info.name
        self.kind = info.kind

    @property
    def fault(self) -> str | None:
        return self.outbox.fault


def _bare(state: ProofState) -> ProofState:
    """A state without its backend handle: models read only the goals."""
    return ProofState(state.goals)


class RemotePropose(_Link):
    """A ``ProposeFn`` answered by a model actor (states travel without their handles)."""

    async def __call__(self, queries: Sequence[Query], k: int) -> list[list[Candidate]]:
        return await self.outbox.call("propose", [dataclasses.replace(q, state=_bare(q.state)) for q in queries], k)


class RemoteEvaluate(_Link):
    """An ``EvaluateFn`` answered by a model actor (states travel without their handles)."""

    async def __call__(self, states: Sequence[ProofState]) -> list[float]:
        return await self.outbox.call("evaluate", [_bare(state) for state in states])
