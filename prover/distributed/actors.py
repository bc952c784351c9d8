"""What runs inside Ray actors: a host that builds one piece of work in its process and
runs items through it, the model actor that batches the queries of many workers, and
the proposer and value model a worker uses to reach that model actor.

Actor classes are plain classes (the driver wraps them with ``ray.remote``). A worker's
work (environments included) runs on the prover's own loop in its process
(``prover.runtime``), as everywhere else; the model actor holds no environment, so its
batcher runs on the actor's own loop, one thread hop fewer per model call. Building the
work or the proposer may fail
(no Lean project on that node, no model at that path): the actor then stays up and
``ready`` reports the problem with the node's name, so the driver can say it in one line.
"""

from __future__ import annotations

import dataclasses
import os
import socket
from dataclasses import dataclass
from typing import Any, Callable, Protocol, Sequence

import ray
from ray.exceptions import RayActorError, RayTaskError

from prover import runtime
from lean_env.types import ProofState
from prover.distributed.errors import ClusterError
from search import BatchingEvaluate, BatchingPropose, Candidate, Proposer, Query, SchedulerConfig, ValueModel

__all__ = [
    "ModelInfo",
    "ActorReady",
    "node_name",
    "Work",
    "WorkFactory",
    "WorkerHost",
    "ModelServer",
    "RemoteProposer",
    "RemoteValue",
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
    each item through it on the prover's loop, many items at once."""

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
        return await runtime.arun(self.work(context, item))

    async def aclose(self) -> None:
        """Close the work's resources (environment processes, proposer)."""
        if self.work is not None:
            await runtime.arun(self.work.aclose())


class ModelServer:
    """A model actor: one proposer (one GPU's model), and optionally a value model, serving
    many search workers. Their queries are merged by the scheduler's ``BatchingPropose``
    (states by a ``BatchingEvaluate`` of the same group), on this actor's event loop: each
    calls its model one batch at a time, flushing as soon as every attached worker waits."""

    def __init__(self, proposer: Callable[[], Proposer], batching: SchedulerConfig, value: Callable[[], ValueModel] | None = None):
        self.node = node_name()
        self.batcher: BatchingPropose | None = None
        self.evaluator: BatchingEvaluate | None = None
        self.problem: str | None = None
        self.clients: set[int] = set()
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

    async def propose(self, queries: Sequence[Query], k: int) -> list[list[Candidate]]:
        """Candidates for ``queries``, answered in a batch with other workers' queries."""
        self._check()
        return await self.batcher(queries, k)

    async def evaluate(self, states: Sequence[ProofState]) -> list[float]:
        """Values of ``states``, answered in a batch with other workers' states."""
        self._check()
        return await self.evaluator(states)

    def _check(self) -> None:
        if self.problem is not None:
            raise ClusterError(f"model actor on node {self.node} cannot start: {self.problem}")

    async def attach(self, client: int) -> None:
        """Worker ``client`` has searches running: batches wait for its requests too."""
        self._track(client, True)

    async def detach(self, client: int) -> None:
        """Worker ``client`` has no search running: batches no longer wait for it."""
        self._track(client, False)

    def _track(self, client: int, attached: bool) -> None:
        if self.batcher is None or attached == (client in self.clients):
            return
        if attached:
            self.clients.add(client)
            self.batcher.attach()
        else:
            self.clients.discard(client)
            self.batcher.detach()

    async def aclose(self) -> None:
        """Stop batching and close the models."""
        models: list[object] = []
        if self.batcher is not None:
            await self.batcher.aclose()
            models.append(self.batcher.proposer)
        if self.evaluator is not None:
            await self.evaluator.aclose()
            models.append(self.evaluator.model)
        await runtime.aclose_resources(*models)


class _Link:
    """A blocking call to a model actor, for a worker's batcher to make from a thread. A
    model actor lost for good (dead beyond its restarts, or silent for ``timeout_s``) is
    remembered in ``fault``, so the worker reports a fault instead of recording a search
    error; the model's own errors pass through as they would locally."""

    def __init__(self, server: Any, info: ModelInfo, *, timeout_s: float):
        self.server = server
        self.name = info.name
        self.kind = info.kind
        self.timeout_s = timeout_s
        self.fault: str | None = None

    def _call(self, method: str, *args: Any) -> Any:
        try:
            return getattr(self.server, method).remote(*args).future().result(timeout=self.timeout_s)
        except RayTaskError as exc:
            raise exc.cause if isinstance(exc.cause, Exception) else exc from None
        except (RayActorError, TimeoutError) as exc:
            self.fault = f"model actor lost: {_one_line(exc)}"
            raise


def _bare(state: ProofState) -> ProofState:
    """A state without its backend handle: models read only the goals."""
    return ProofState(state.goals)


class RemoteProposer(_Link):
    """A ``Proposer`` answered by a model actor (states travel without their handles)."""

    def propose(self, queries: Sequence[Query], k: int) -> list[list[Candidate]]:
        return self._call("propose", [dataclasses.replace(q, state=_bare(q.state)) for q in queries], k)


class RemoteValue(_Link):
    """A ``ValueModel`` answered by a model actor (states travel without their handles)."""

    def evaluate(self, states: Sequence[ProofState]) -> list[float]:
        return self._call("evaluate", [_bare(state) for state in states])
